"""`viewer { nearbyVenues }` on the compiled path: the loader path's bytes, for every viewer.

The home is read from the viewer's preferences inside the statement. Where the loader path
refuses the request (a bad radius, page size or cursor: at bind time; a home unset or
malformed: decided by the row, written as the fall-back mark) or reads a home the statement
cannot read as Python does (a number too small for a double), the loader path answers.
"""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.compiler import CompiledReads, PlanCache
from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.compiler.test_fast_path import fast_response
from tests.graph.generated.strategies import bounded
from tests.graph.viewers import viewer_of

NOTRE_DAME = {"latitude": 48.853, "longitude": 2.3499}
PLACES = {
    "Notre-Dame ☕": (48.8530, 2.3499),
    "Louvre & <Tuileries>": (48.8606, 2.3376),
    "Eiffel Tower": (48.8584, 2.2945),
    "Lyon": (45.7640, 4.8357),
}

NEARBY = """
query Nearby($radius: Float!, $first: Int, $after: String) {
  viewer {
    id
    nearbyVenues(radiusMeters: $radius, first: $first, after: $after) {
      __typename
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        cursor
        node {
          id name city hourlyRate
          owner { displayName email }
          bookings(first: 2) { totalCount edges { node { id user { email } } } }
          media(first: 1) { edges { node { title } } }
        }
      }
    }
  }
}
"""

VIEWERS = ["anonymous", "member", "member without home", "host", "admin"]


@pytest.fixture
async def nearby_world(session) -> dict[str, Any]:
    """Venues around Notre-Dame (ties, a deleted one, bookings, media), viewers of each kind."""
    host = await make_user(session, role="host", preferences={"home": NOTRE_DAME})
    member = await make_user(
        session, display_name="Zoë", preferences={"home": {"latitude": 48.86, "longitude": 2.34}}
    )
    homeless = await make_user(session, preferences={"theme": "dark"})
    admin = await make_user(session, role="admin", preferences={"home": NOTRE_DAME, "x": [1]})
    venues = {
        name: await make_venue(session, owner=host, name=name, latitude=lat, longitude=lon)
        for name, (lat, lon) in PLACES.items()
    }
    for index in range(3):  # tied: the same spot, ordered by id
        await make_venue(session, owner=host, name=f"Twin {index}", latitude=48.857, longitude=2.35)
    deleted = await make_venue(session, owner=host, name="Gone", **NOTRE_DAME)
    await soft_delete(session, deleted)
    await make_booking(session, venue=venues["Notre-Dame ☕"], user=member)
    await make_booking(session, venue=venues["Eiffel Tower"], user=homeless)
    await make_media(session, venue=venues["Notre-Dame ☕"], owner=host, title="Nave")
    return {
        "viewers": {
            "anonymous": None,
            "member": viewer_of(member),
            "member without home": viewer_of(homeless),
            "host": viewer_of(host),
            "admin": viewer_of(admin),
        },
        "venues": venues,
        "users": {"member": member, "host": host},
    }


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize("radius", [5_000, 1_000, 10])
async def test_nearby_venues_are_compiled_for_every_viewer_with_a_home(
    both_paths, nearby_world, who, radius
):
    viewer = nearby_world["viewers"][who]

    fast, general, compiled = await both_paths(NEARBY, {"radius": radius}, viewer=viewer)

    if who == "member without home":
        assert b'"BAD_USER_INPUT"' in general
        assert b'"field":"preferences.home"' in general
        assert b'"viewer":null' in general
        assert fast is None, "the compiled path answered a request the loader path refuses"
        assert not compiled
    else:
        assert fast == general
        assert compiled
    if who == "anonymous":
        assert general == b'{"data":{"viewer":null}}'


async def test_what_the_compiled_page_holds(both_paths, nearby_world):
    host = nearby_world["viewers"]["host"]
    fast, general, compiled = await both_paths(NEARBY, {"radius": 5_000}, viewer=host)

    assert fast == general
    assert compiled
    nearby = json.loads(general)["data"]["viewer"]["nearbyVenues"]
    names = [edge["node"]["name"] for edge in nearby["edges"]]
    # Nearest first, the tied twins by id (made in order); the deleted venue and Lyon left out.
    assert names == [
        "Notre-Dame ☕",
        "Twin 0",
        "Twin 1",
        "Twin 2",
        "Louvre & <Tuileries>",
        "Eiffel Tower",
    ]
    assert nearby["totalCount"] == 6
    assert nearby["pageInfo"]["hasNextPage"] is nearby["pageInfo"]["hasPreviousPage"] is False


@pytest.mark.parametrize("who", ["member", "host", "admin"])
async def test_pages_continue_on_either_path_and_count_the_whole_list(
    both_paths, nearby_world, who
):
    viewer = nearby_world["viewers"][who]
    after = None
    seen: list[str] = []
    for index in range(10):
        fast, general, _ = await both_paths(
            NEARBY, {"radius": 5_000, "first": 2, "after": after}, viewer=viewer
        )
        assert fast is not None
        assert fast == general
        nearby = json.loads(fast)["data"]["viewer"]["nearbyVenues"]
        assert nearby["totalCount"] == 6
        assert nearby["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["id"] for edge in nearby["edges"]]
        if not nearby["pageInfo"]["hasNextPage"]:
            break
        # Alternate: an edge's cursor, then the page's end cursor.
        after = nearby["edges"][-1]["cursor"] if index % 2 else nearby["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 6

    # Past the last venue: an empty page (whose horizon holds no row, so no previous page
    # either, as the loader path says).
    fast, general, _ = await both_paths(
        NEARBY, {"radius": 5_000, "first": 2, "after": seen_cursor(nearby)}, viewer=viewer
    )
    assert fast == general
    last = json.loads(general)["data"]["viewer"]["nearbyVenues"]
    assert last["edges"] == []
    assert last["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    assert last["totalCount"] == 6


def seen_cursor(nearby: dict[str, Any]) -> str:
    """The end cursor of the last page read."""
    cursor = nearby["pageInfo"]["endCursor"]
    assert isinstance(cursor, str)
    return cursor


@pytest.mark.parametrize(
    ("variables", "home"),
    [
        ({"radius": 5_000, "first": 0}, NOTRE_DAME),  # nothing asked: the count still counts
        ({"radius": 10}, {"latitude": 0, "longitude": 0}),  # nothing there
        ({"radius": 100_000, "first": 100}, {"latitude": 45.764, "longitude": 4.8357}),
    ],
)
async def test_empty_and_full_pages_match(both_paths, session, nearby_world, variables, home):
    del nearby_world
    viewer = viewer_of(await make_user(session, preferences={"home": home}))
    fast, general, _ = await both_paths(NEARBY, variables, viewer=viewer)
    assert fast is not None
    assert fast == general


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"radius": 0}, "radiusMeters"),
        ({"radius": -1}, "radiusMeters"),
        ({"radius": 100_000.5}, "radiusMeters"),
        ({"radius": 1_000, "first": 101}, "first"),
        ({"radius": 1_000, "first": -1}, "first"),
        ({"radius": 1_000, "after": "garbage"}, "after"),
        # A cursor of another list (the venues list by creation).
        ({"radius": 1_000, "after": "WyJWZW51ZS5DUkVBVEVEX0FUX0FTQyJd"}, "after"),
    ],
)
async def test_arguments_the_loader_path_refuses_are_left_to_it(
    both_paths, nearby_world, variables, field
):
    fast, general, _ = await both_paths(NEARBY, variables, viewer=nearby_world["viewers"]["member"])
    assert fast is None
    assert b'"BAD_USER_INPUT"' in general
    assert f'"field":"{field}"'.encode() in general


MALFORMED_HOMES = {
    "unset": ({}, "preferences.home"),
    "null": ({"home": None}, "preferences.home"),
    "a string": ({"home": "Paris"}, "preferences.home.latitude"),
    "a list": ({"home": [48.85, 2.35]}, "preferences.home.latitude"),
    "latitude as text": (
        {"home": {"latitude": "48.85", "longitude": 2.35}},
        "preferences.home.latitude",
    ),
    "no longitude": ({"home": {"latitude": 48.85}}, "preferences.home.longitude"),
    "a boolean": ({"home": {"latitude": True, "longitude": 2}}, "preferences.home.latitude"),
    "latitude out of range": (
        {"home": {"latitude": 95, "longitude": 2.35}},
        "preferences.home.latitude",
    ),
    "longitude out of range": (
        {"home": {"latitude": 48.85, "longitude": -190}},
        "preferences.home.longitude",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_HOMES))
async def test_a_home_the_loader_path_refuses_falls_back(both_paths, session, nearby_world, case):
    del nearby_world
    preferences, field = MALFORMED_HOMES[case]
    viewer = viewer_of(await make_user(session, preferences=preferences))

    fast, general, compiled = await both_paths(NEARBY, {"radius": 5_000}, viewer=viewer)

    assert fast is None
    assert not compiled  # the statement ran, and its mark handed the request over
    assert b'"BAD_USER_INPUT"' in general
    assert f'"field":"{field}"'.encode() in general


# Stored as jsonb text (not through Python): numbers Python and PostgreSQL read alike, or not.
ODD_HOMES = {
    "whole numbers": ('{"latitude": 48, "longitude": 2}', "compiled"),
    "the edges of the map": ('{"latitude": -90, "longitude": 180}', "compiled"),
    "negative zero": ('{"latitude": -0.0, "longitude": 0}', "compiled"),
    "trailing zeros": ('{"latitude": 48.85300000, "longitude": 2.349900}', "compiled"),
    "more digits than a double": (
        '{"latitude": 48.853000000000000000000001, "longitude": 2.3499}',
        "compiled",
    ),
    # Python reads 0.0 (underflow), PostgreSQL refuses the double: the loader path answers.
    "too small for a double": ('{"latitude": 1e-400, "longitude": 2.3499}', "falls back"),
    "subnormal": ('{"latitude": 1e-310, "longitude": 2.3499}', "falls back"),
    # Above 90, though Python reads 90.0: left to the loader path, which accepts it.
    "rounds to the edge": ('{"latitude": 90.000000000000000000001, "longitude": 0}', "falls back"),
}


@pytest.mark.parametrize("case", list(ODD_HOMES))
async def test_homes_read_alike_compile_and_the_others_fall_back(
    both_paths, session, nearby_world, case
):
    del nearby_world
    home, outcome = ODD_HOMES[case]
    user = await make_user(session)
    connection = await session.connection()
    await connection.exec_driver_sql(
        "UPDATE users SET preferences = jsonb_build_object('home', $1::text::jsonb) WHERE id = $2",
        (home, user.id),
    )
    fast, general, compiled = await both_paths(NEARBY, {"radius": 100_000}, viewer=viewer_of(user))

    assert b'"errors"' not in general
    if outcome == "compiled":
        assert fast == general
    else:
        assert fast is None
    assert compiled is (outcome == "compiled")


async def test_nearby_venues_of_a_user_reached_otherwise_take_the_loader_path(
    both_paths, nearby_world
):
    host = nearby_world["users"]["host"]
    query = """query($id: ID!) { node(id: $id) { ... on User { nearbyVenues(radiusMeters: 1000) {
        totalCount } } } }"""
    variables = {"id": encode_global_id("User", host.id)}
    for who in VIEWERS:
        fast, general, _ = await both_paths(query, variables, viewer=nearby_world["viewers"][who])
        assert fast is None
        if who != "host":
            assert b'"errors"' in general  # FORBIDDEN, or UNAUTHENTICATED signed out


async def test_nearby_venues_beside_other_fields_are_one_statement(
    session, monkeypatch, nearby_world, count_statements
):
    plans = PlanCache()
    monkeypatch.setattr(CompiledReads, "plans", plans)
    query = """{ venues(first: 2) { totalCount } viewer { displayName preferences
        nearbyVenues(radiusMeters: 2000, first: 3) { totalCount edges { cursor node { name } } }
        sessions { totalCount } } }"""
    with count_statements as counted:
        body = await fast_response(plans, session, query, viewer=nearby_world["viewers"]["member"])
    assert body is not None
    assert counted.count == 1


_LATITUDES = st.one_of(st.floats(-90, 90), st.integers(-90, 90))
_LONGITUDES = st.one_of(st.floats(-180, 180), st.integers(-180, 180))
_ANYTHING: st.SearchStrategy[object] = st.one_of(
    st.integers(-200, 200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["48.85", True, None, [], {}]),
)
_VALID_HOMES = st.fixed_dictionaries({"latitude": _LATITUDES, "longitude": _LONGITUDES})
_MALFORMED_HOMES = st.one_of(
    st.fixed_dictionaries({}, optional={"latitude": _ANYTHING, "longitude": _ANYTHING}),
    st.sampled_from([None, "Paris", [48.85, 2.35], 48.85]),
)


def mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`common` four times in five, else `rare`."""
    return st.integers(0, 4).flatmap(lambda n: rare if n == 4 else common)


_HOMES = mostly(_VALID_HOMES, _MALFORMED_HOMES).map(lambda home: json.dumps({"home": home}))
# jsonb text Python cannot write: numbers beyond or below a double, more digits than it keeps.
_STORED_HOMES = st.tuples(
    st.sampled_from(["48.853", "1e-400", "-0.0", "90.0000000000000000001", "2.34990000000001"]),
    st.sampled_from(["2.3499", "180", "1e-310", "-180.000", "2.3499000000000000000000001"]),
).map(lambda pair: f'{{"home": {{"latitude": {pair[0]}, "longitude": {pair[1]}}}}}')


@bounded(60)
@given(
    preferences=mostly(_HOMES, _STORED_HOMES),
    radius=mostly(st.floats(1, 100_000), st.sampled_from([1e-9, 100_000.0, 0.0, 100_000.5, 1e6])),
    first=mostly(st.integers(0, 8), st.sampled_from([-1, 101])),
)
async def test_generated_homes_and_arguments_answer_the_same_on_both_paths(  # noqa: PLR0913, PLR0917 - fixtures and draws
    both_paths, session, nearby_world, preferences: str, radius: float, first: int
):
    member = nearby_world["users"]["member"]
    connection = await session.connection()
    await connection.exec_driver_sql(
        "UPDATE users SET preferences = $1::text::jsonb WHERE id = $2", (preferences, member.id)
    )
    fast, general, compiled = await both_paths(
        NEARBY, {"radius": radius, "first": first}, viewer=nearby_world["viewers"]["member"]
    )
    assert compiled is (fast is not None)
    if fast is not None:
        assert fast == general
