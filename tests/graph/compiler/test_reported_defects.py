"""Defects found from outside in the compiled path, each answered over HTTP as the app serves it.

Every request goes to the app with the compiled path on (production settings) and to the same
app with it off; both must answer 200 with the same bytes.
"""

import pytest

from graph.core.global_id import encode_global_id
from models.settings import Settings
from tests.factories import make_media, make_user, make_venue
from tests.graph.serving import serving
from tests.graph.viewers import viewer_of

COUNTS = [
    "{ venues { totalCount } }",
    "{ venues(first: 5) { totalCount } }",
    "{ venues { __typename } }",
    "query($id: ID!) { venue(id: $id) { media { totalCount } } }",
    "query($id: ID!) { venue(id: $id) { bookings(first: 0) { totalCount } } }",
]


@pytest.mark.parametrize("query", COUNTS)
async def test_a_connection_without_edges_answers_its_count(session, test_database, query):
    # Once "more than one row returned by a subquery used as an expression" on the compiled
    # path: a connection selecting no aggregate of its page gave one row per item.
    venue = await make_venue(session)
    for _ in range(3):
        await make_media(session, venue=venue)
    await make_venue(session)
    body = {"query": query, "variables": {"id": encode_global_id("Venue", venue.id)}}

    answers = {}
    for fast_path in (True, False):
        settings = Settings(database_url=test_database.url, fast_path=fast_path)
        async with serving(session, **settings.model_dump()) as http:
            answers[fast_path] = await http.post("/graphql", json=body)
    compiled, loaders = answers[True], answers[False]

    assert compiled.status_code == 200
    assert "errors" not in compiled.json()
    assert compiled.content == loaders.content
    if "media" in query:
        assert compiled.json()["data"]["venue"]["media"]["totalCount"] == 3


@pytest.mark.parametrize("query", ["{ venue { id } }", "query($id: ID!) { venue(id: $id) { id } }"])
async def test_a_missing_argument_is_a_validation_error_not_a_500(client, query):
    # Once reached the plan's argument binding and answered HTTP 500 text/plain.
    response = await client.post("/graphql", json={"query": query})

    assert response.headers["content-type"].startswith("application/")
    payload = response.json()
    assert "data" not in payload  # a request error: nothing ran
    assert [error["extensions"]["code"] for error in payload["errors"]] in (
        ["GRAPHQL_VALIDATION_FAILED"],
        ["BAD_USER_INPUT"],
    )


TWO_SEARCHES = {
    "two venue searches": (
        '{ a: venues(search: "loft", first: 2) { totalCount edges { node { name } } }'
        ' b: venues(search: "garden", first: 2) { totalCount edges { node { name } } } }'
    ),
    "venues and media": (
        '{ v: venues(search: "loft", first: 2) { totalCount }'
        ' m: media(search: "loft", first: 2) { totalCount } }'
    ),
    "two media searches": (
        '{ a: media(search: "loft", first: 2) { totalCount }'
        ' b: media(search: "garden", first: 2) { totalCount } }'
    ),
}


@pytest.mark.parametrize("query", TWO_SEARCHES.values(), ids=TWO_SEARCHES.keys())
async def test_two_searched_lists_in_one_query_compile(session, both_paths, query):
    """Found from outside: each searched list's CTE had the same name, so the statement
    did not compile ("Multiple, unrelated CTEs found with the same name") and answered
    INTERNAL_SERVER_ERROR."""
    owner = await make_user(session, role="host")
    for name in ("Sunny Loft", "Garden Room", "Loft Garden"):
        venue = await make_venue(session, owner=owner, name=name)
        await make_media(session, venue=venue, owner=owner, title=f"{name} photo")

    compared = await both_paths(query, viewer=viewer_of(owner))

    assert compared.compiled
    assert compared.fast == compared.general
    assert b"errors" not in compared.general
    assert b'"totalCount":0' not in compared.general
