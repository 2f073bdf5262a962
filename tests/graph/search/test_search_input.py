"""What a search takes, over HTTP as served, on the compiled path and on the loaders alike:
repeated words searched once, a bound on the words, excluded words kept out of the typo
fallback, and unmarked highlights for its guesses."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from models.search import MAX_SEARCH_WORDS
from models.settings import Settings
from tests.factories import make_media, make_user, make_venue
from tests.graph.serving import serving

VENUES = """
query($q: String, $first: Int = 20) {
  venues(search: $q, first: $first) { edges { rank matchedBy highlight node { name } } }
}
"""
MEDIA = """
query($q: String) { media(search: $q) { edges { rank matchedBy highlight node { title } } } }
"""
SEARCH = """
query($q: String!) {
  search(query: $q) {
    edges { rank matchedBy highlight node { ... on Venue { name } ... on Media { title } } }
  }
}
"""


@contextmanager
def bound_values(connection: Any) -> Iterator[list[Any]]:
    """Every value bound to a statement run on the test's connection meanwhile."""
    values: list[Any] = []

    def capture(*args: Any) -> None:
        parameters = args[3]
        values.extend(parameters.values() if isinstance(parameters, dict) else parameters)

    engine = connection.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield values
    finally:
        event.remove(engine, "before_cursor_execute", capture)


async def answer(session, test_database, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The served answer, the same bytes on the compiled path and on the loaders."""
    bodies = {}
    for fast_path in (True, False):
        settings = Settings(database_url=test_database.url, fast_path=fast_path)
        async with serving(session, **settings.model_dump()) as http:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200
        bodies[fast_path] = response.content
    assert bodies[True] == bodies[False]
    return json.loads(bodies[True])


@pytest.fixture
async def kitchens(session):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Harbour Kitchen", description="A room.")
    await make_venue(session, owner=host, name="Kitchen Loft", description="Open kitchen.")
    await make_venue(session, owner=host, name="Kitchin Studio", description="Bright studio.")
    await make_venue(session, owner=host, name="Meeting Room", description="A room.")
    await make_media(session, owner=host, venue=venue, title="Kitchen at dawn")
    await make_media(session, owner=host, venue=venue, title="Kitchin view", caption="Studio.")


@pytest.mark.usefixtures("kitchens")
async def test_a_repeated_word_is_searched_once(session, connection, test_database):
    # `ts_headline` slows with the square of a word's repeats: 100 `room`s took 3.5 s for 20
    # highlights at scale 100. `room room` means `room`, so only `room` reaches the SQL.
    repeated = ("room " * 100)[:500]
    with bound_values(connection) as values:
        many = await answer(session, test_database, VENUES, {"q": repeated})
    once = await answer(session, test_database, VENUES, {"q": "room"})
    assert many == once
    assert [edge["highlight"] for edge in many["data"]["venues"]["edges"]] == [
        "Meeting <mark>Room</mark> · Paris · A <mark>room</mark>",
        "Harbour Kitchen · Paris · A <mark>room</mark>",
    ]
    assert not any(isinstance(value, str) and "room room" in value for value in values)


@pytest.mark.usefixtures("kitchens")
async def test_a_search_takes_at_most_so_many_words(session, test_database):
    words = " ".join(f"word{index}" for index in range(MAX_SEARCH_WORDS))
    result = await answer(session, test_database, VENUES, {"q": words})
    assert "errors" not in result
    too_many = f"{words} kitchen"
    for query, field in ((VENUES, "search"), (MEDIA, "search"), (SEARCH, "query")):
        result = await answer(session, test_database, query, {"q": too_many})
        (error,) = result["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
        assert f"more than {MAX_SEARCH_WORDS} words" in error["message"]


async def test_the_cost_limit_prices_the_words_highlight_works_on(client):
    # Words that stem alike are not dropped as repeats, and `ts_headline`'s work grows faster
    # than their number: 32 of them took 400 ms for 100 media highlights at scale 100.
    alike = " ".join(
        f"room{mark}" for mark in [*".,;:!?/|+=*&^%$#@~<>[]{}()-_", "s", "s.", "s,", "s!"]
    )
    largest = {"query": VENUES, "variables": {"q": alike, "first": 100}}
    refused = (await client.post("/graphql", json=largest)).json()
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    default = {"query": VENUES, "variables": {"q": alike}}
    assert "errors" not in (await client.post("/graphql", json=default)).json()


def names(result: dict[str, Any], field: str) -> list[tuple[str, str, str]]:
    return [
        (
            edge["node"].get("name") or edge["node"]["title"],
            edge["matchedBy"],
            edge["highlight"],
        )
        for edge in result["data"][field]["edges"]
    ]


@pytest.mark.usefixtures("kitchens")
@pytest.mark.parametrize(
    ("query", "field"), [(VENUES, "venues"), (MEDIA, "media"), (SEARCH, "search")]
)
async def test_an_excluded_word_keeps_its_rows_out_of_the_typo_fallback(
    session, test_database, query, field
):
    # Nothing holds `kitchen` and not `kitchen`: of the names like "kitchen", only those
    # without it are guesses.
    result = await answer(session, test_database, query, {"q": "kitchen -kitchen"})
    found = names(result, field)
    assert found
    assert all(name.startswith("Kitchin") for name, _, _ in found)
    assert all("<mark>" not in highlight for _, _, highlight in found)
    # `kitchn` is spelt like "Kitchen" and "Kitchin": those holding `studio` are left out.
    result = await answer(session, test_database, query, {"q": "kitchn -studio"})
    found = names(result, field)
    assert found
    assert not any("Kitchin" in name for name, _, _ in found)
    assert {matched for _, matched, _ in found} == {"SIMILAR_NAME"}
    # A negated phrase too.
    result = await answer(session, test_database, query, {"q": 'kitchn -"open kitchen"'})
    assert "Kitchen Loft" not in [name for name, _, _ in names(result, field)]


@pytest.mark.usefixtures("kitchens")
@pytest.mark.parametrize(
    ("query", "field"), [(VENUES, "venues"), (MEDIA, "media"), (SEARCH, "search")]
)
@pytest.mark.parametrize("text", ["kitchn", "kitchn -studio", "kitchen zzqxv"])
async def test_similar_name_highlights_are_unmarked(session, test_database, query, field, text):
    # "kitchen zzqxv": no row holds both, so names like it come back; `kitchen` is in them
    # but is no match of the search, and the schema promises their highlight is unmarked.
    result = await answer(session, test_database, query, {"q": text})
    found = names(result, field)
    assert found
    for name, matched, highlight in found:
        assert matched == "SIMILAR_NAME"
        assert highlight.startswith(name)
        assert not re.search("</?mark>", highlight)
