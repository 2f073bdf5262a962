"""The root `search` on the compiled path: the loader path's bytes, for every viewer.

The ranked union of venues and media is planned by the resolver's own `plan_results` on both
paths; the compiled path joins it to both tables and renders each hit as the member type its
row is. Arguments the loader path refuses (empty text, a bad cursor or page size, a bad
point) leave the request to it at bind time.
"""

import json
from typing import Any

import pytest

from models import soft_delete
from models.venue import geography_point
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

VIEWERS = ["anonymous", "member", "host", "admin"]
PARIS = {"latitude": 48.8566, "longitude": 2.3522}

SEARCH = """
query Search($query: String!, $first: Int = 20, $after: String, $near: NearInput) {
  search(query: $query, first: $first, after: $after, near: $near) {
    __typename
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      __typename cursor rank matchedBy highlight distanceMeters
      node {
        __typename
        ... on Venue {
          id name city hourlyRate
          owner { displayName email }
          bookings(first: 2) { totalCount edges { node { id user { email } } } }
          media(first: 1) { edges { node { title } } }
        }
        ... on Media { id title tags caption width createdAt deletedAt }
        ...Both
      }
    }
  }
}
fragment Both on SearchResult { ... on Node { id } }
"""

# No highlight, one member type selected (the other's hits are `{}`), aliases.
TERSE = """
query Terse($query: String!, $first: Int = 20, $after: String) {
  found: search(query: $query, first: $first, after: $after) {
    info: pageInfo { endCursor hasNextPage }
    edges { c: cursor node { ... on Venue { n: name } } }
  }
}
"""


@pytest.fixture
async def search_world(session) -> dict[str, Any]:
    """Venues and media matching "loft", deleted ones, media only some viewers may see."""
    host = await make_user(session, role="host")
    member = await make_user(session, display_name="Zoë")
    other = await make_user(session)
    admin = await make_user(session, role="admin")
    descriptions = {
        "Sunny Loft": "A bright loft & <b>studio</b> for photography.",
        "Café Lumière ☕": "A loft above the café, ünïcode and emoji 😀.",
        "Garden House": "A barn with a loft among quiet trees.",
        "Harbour Room": "Meeting room by the water.",
    }
    venues = {
        name: await make_venue(session, owner=host, name=name, description=description)
        for name, description in descriptions.items()
    }
    far = await make_venue(
        session, owner=host, name="Berlin Loft", latitude=52.52, longitude=13.405
    )
    gone = await make_venue(session, owner=host, name="Deleted Loft")
    await soft_delete(session, gone)
    loft = venues["Sunny Loft"]
    booking = await make_booking(session, venue=loft, user=member)
    await make_booking(session, venue=loft, user=other)
    paris = geography_point(**PARIS)
    await make_media(session, venue=loft, owner=host, title="Loft <front>", tags=["loft", "&"])
    await make_media(session, venue=loft, owner=host, title="Loft at night", location=paris)
    await make_media(session, venue=loft, owner=member, booking=booking, title="Loft receipt")
    await make_media(session, venue=far, owner=host, title="Terrace", caption="A loft & more")
    deleted_media = await make_media(session, venue=loft, owner=host, title="Deleted loft photo")
    await soft_delete(session, deleted_media)
    await make_media(session, venue=gone, owner=host, title="Loft of a deleted venue")
    return {
        "viewers": {
            "anonymous": None,
            "member": viewer_of(member),
            "host": viewer_of(host),
            "admin": viewer_of(admin),
        },
        "venues": venues,
    }


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (SEARCH, {"query": "loft"}),
        (SEARCH, {"query": "loft", "near": {**PARIS, "radiusMeters": 5_000}}),
        (SEARCH, {"query": '"sunny loft" or terrace'}),
        (SEARCH, {"query": "lof"}),  # the last word as a prefix
        (SEARCH, {"query": "lofft"}),  # no full-text match: similar names
        (SEARCH, {"query": "nowhere-to-be-found"}),  # nothing at all
        (SEARCH, {"query": "loft", "first": 0}),
        (SEARCH, {"query": "loft", "first": 100}),
        (TERSE, {"query": "loft"}),
        (TERSE, {"query": "loft", "first": 1}),
    ],
)
async def test_search_is_compiled_to_the_loader_paths_bytes(
    both_paths, search_world, who, query, variables
):
    viewer = search_world["viewers"][who]

    fast, general, compiled = await both_paths(query, variables, viewer=viewer)

    assert b'"errors"' not in general
    assert fast == general
    assert compiled


async def test_what_the_compiled_page_holds(both_paths, search_world):
    del search_world
    fast, general, compiled = await both_paths(SEARCH, {"query": "loft"})

    assert compiled
    assert fast == general
    edges = json.loads(general)["data"]["search"]["edges"]
    found = {edge["node"].get("name") or edge["node"]["title"] for edge in edges}
    # Deleted rows, media of a deleted venue and private media are no hits for anonymous.
    assert "Deleted Loft" not in found
    assert "Deleted loft photo" not in found
    assert "Loft of a deleted venue" not in found
    assert "Loft receipt" not in found
    assert {"Sunny Loft", "Loft <front>", "Terrace"} <= found
    assert {edge["node"]["__typename"] for edge in edges} == {"Venue", "Media"}
    ranks = [edge["rank"] for edge in edges]
    assert ranks == sorted(ranks, reverse=True)


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize("query", [SEARCH, TERSE])
async def test_search_pages_continue_on_either_path(both_paths, search_world, who, query):
    viewer = search_world["viewers"][who]
    after = None
    seen: list[str] = []
    everything = json.loads(
        (await both_paths(SEARCH, {"query": "loft", "first": 100}, viewer=viewer)).general
    )["data"]["search"]["edges"]
    for _ in range(20):
        variables = {"query": "loft", "first": 2, "after": after}
        fast, general, compiled = await both_paths(query, variables, viewer=viewer)
        assert compiled
        assert fast == general
        page = json.loads(general)["data"][("search" if query == SEARCH else "found")]
        seen += [edge["cursor" if query == SEARCH else "c"] for edge in page["edges"]]
        info = page["pageInfo" if query == SEARCH else "info"]
        if query == SEARCH:
            assert info["hasPreviousPage"] is False  # the field pages forward only
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == [edge["cursor"] for edge in everything]


@pytest.mark.parametrize(
    "variables",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "!!!"},
        {"query": "x" * 501},
        {"query": "loft", "first": 101},
        {"query": "loft", "first": -1},
        {"query": "loft", "after": "garbage"},
        {"query": "loft", "near": {"latitude": 91, "longitude": 0, "radiusMeters": 10}},
        {"query": "loft", "near": {**PARIS, "radiusMeters": -1}},
    ],
)
async def test_arguments_the_loader_path_refuses_are_left_to_it(
    both_paths, search_world, variables
):
    fast, general, compiled = await both_paths(SEARCH, variables)

    assert fast is None
    assert not compiled
    assert b'"BAD_USER_INPUT"' in general
    del search_world


async def test_a_cursor_of_another_list_is_refused_as_on_the_loader_path(both_paths, search_world):
    venues = json.loads(
        (await both_paths('{ venues(search: "loft", first: 1) { edges { cursor } } }')).general
    )
    cursor = venues["data"]["venues"]["edges"][0]["cursor"]

    fast, general, compiled = await both_paths(SEARCH, {"query": "loft", "after": cursor})

    assert (fast, compiled) == (None, False)
    assert b'"BAD_USER_INPUT"' in general
    del search_world
