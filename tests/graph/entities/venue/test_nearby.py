"""`viewer.nearbyVenues`: venues around the home saved in the viewer's preferences."""

import pytest

from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_user, make_venue
from tests.graph.viewers import viewer_of

NOTRE_DAME = {"latitude": 48.8530, "longitude": 2.3499}

NEARBY = """
query Nearby($radius: Float!, $first: Int, $after: String) {
  viewer {
    nearbyVenues(radiusMeters: $radius, first: $first, after: $after) {
      edges { cursor node { id name } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
      totalCount
    }
  }
}
"""


async def _paris(session):
    owner = await make_user(session, role="host")
    places = {
        "Notre-Dame": (48.8530, 2.3499),
        "Louvre": (48.8606, 2.3376),  # 1,236.5 m from Notre-Dame
        "Eiffel Tower": (48.8584, 2.2945),  # 4,109.5 m
        "Lyon": (45.7640, 4.8357),  # 392 km
    }
    return {
        name: await make_venue(session, owner=owner, name=name, latitude=lat, longitude=lon)
        for name, (lat, lon) in places.items()
    }


def _names(result) -> list[str]:
    assert result.errors is None, result.errors
    return [edge["node"]["name"] for edge in result.data["viewer"]["nearbyVenues"]["edges"]]


async def test_venues_within_the_radius_of_home_nearest_first(session, execute):
    await _paris(session)
    me = await make_user(session, preferences={"home": NOTRE_DAME})

    within_5_km = await execute(NEARBY, {"radius": 5_000}, viewer=viewer_of(me))
    within_4_km = await execute(NEARBY, {"radius": 4_000}, viewer=viewer_of(me))

    assert _names(within_5_km) == ["Notre-Dame", "Louvre", "Eiffel Tower"]
    assert within_5_km.data["viewer"]["nearbyVenues"]["totalCount"] == 3
    assert _names(within_4_km) == ["Notre-Dame", "Louvre"]


async def test_deleted_venues_are_not_nearby(session, execute):
    venues = await _paris(session)
    await soft_delete(session, venues["Louvre"])
    me = await make_user(session, preferences={"home": NOTRE_DAME})

    result = await execute(NEARBY, {"radius": 5_000}, viewer=viewer_of(me))

    assert _names(result) == ["Notre-Dame", "Eiffel Tower"]


async def test_paging_through_venues_at_the_same_spot_repeats_and_skips_none(session, execute):
    owner = await make_user(session, role="host")
    twins = [
        await make_venue(session, owner=owner, name=f"Twin {n}", latitude=48.86, longitude=2.34)
        for n in range(5)
    ]
    nearest = await make_venue(session, owner=owner, name="Nearest", **NOTRE_DAME)
    me = await make_user(session, preferences={"home": NOTRE_DAME})

    seen: list[str] = []
    after = None
    for _ in range(4):
        result = await execute(
            NEARBY, {"radius": 2_000, "first": 2, "after": after}, viewer=viewer_of(me)
        )
        assert result.errors is None
        connection = result.data["viewer"]["nearbyVenues"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break

    twin_ids = [encode_global_id("Venue", twin.id) for twin in sorted(twins, key=lambda v: v.id)]
    assert seen == [encode_global_id("Venue", nearest.id), *twin_ids]


# Compiled: one statement reads the home from the viewer's row and the page around it.
# Loaders: the viewer's row, their preferences, then one page.
@pytest.mark.parametrize(("paths", "statements"), [("both", 1), ("loaders", 3)])
async def test_statements_do_not_depend_on_the_number_of_venues(
    session, execute, count_statements, paths, statements
):
    me = await make_user(session, preferences={"home": NOTRE_DAME})
    owner = await make_user(session, role="host")
    counts = {}
    made = 0
    for total in (1, 10):
        while made < total:
            await make_venue(session, owner=owner, latitude=48.853 + made * 1e-4, longitude=2.35)
            made += 1
        with count_statements as counted:
            result = await execute(
                "query { viewer { nearbyVenues(radiusMeters: 5000) { edges { node { id } } } } }",
                viewer=viewer_of(me),
                paths=paths,
            )
        assert result.errors is None
        assert len(result.data["viewer"]["nearbyVenues"]["edges"]) == total
        counts[total] = counted.count

    assert counts == {1: statements, 10: statements}


async def test_without_a_home_it_asks_for_one(session, execute):
    me = await make_user(session)

    result = await execute(NEARBY, {"radius": 1_000}, viewer=viewer_of(me))

    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "preferences.home"}
    assert "updatePreferences" in error.message
    assert "not set" in error.message


@pytest.mark.parametrize(
    ("home", "field"),
    [
        ({"latitude": "48.85", "longitude": 2.35}, "preferences.home.latitude"),
        ({"latitude": 48.85}, "preferences.home.longitude"),
        ("Paris", "preferences.home.latitude"),
        ({"latitude": 95, "longitude": 2.35}, "preferences.home.latitude"),
        ({"latitude": 48.85, "longitude": -190}, "preferences.home.longitude"),
    ],
)
async def test_a_malformed_home_is_named(session, execute, home, field):
    me = await make_user(session, preferences={"home": home})

    result = await execute(NEARBY, {"radius": 1_000}, viewer=viewer_of(me))

    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


@pytest.mark.parametrize("radius", [0, -1, 100_000.5])
async def test_the_radius_is_checked(session, execute, radius):
    me = await make_user(session, preferences={"home": NOTRE_DAME})

    result = await execute(NEARBY, {"radius": radius}, viewer=viewer_of(me))

    [error] = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "radiusMeters"}
    assert "at most 100000 metres" in error.message


async def test_a_home_saved_with_update_preferences_is_used(session, execute):
    await _paris(session)
    me = await make_user(session)

    saved = await execute(
        """
        mutation Save($input: UpdatePreferencesInput!) {
          updatePreferences(input: $input) { user { id } }
        }
        """,
        {"input": {"patch": {"home": {"latitude": 48.8584, "longitude": 2.2945}}}},
        viewer=viewer_of(me),
    )
    result = await execute(NEARBY, {"radius": 1_000}, viewer=viewer_of(me))

    assert saved.errors is None
    assert _names(result) == ["Eiffel Tower"]


async def test_only_the_viewer_has_nearby_venues(session, execute):
    venues = await _paris(session)
    host = await make_user(session, role="host", preferences={"home": NOTRE_DAME})
    admin = await make_user(session, role="admin")
    query = """
    query Other($id: ID!) {
      node(id: $id) { ... on User { nearbyVenues(radiusMeters: 1000) { edges { node { id } } } } }
    }
    """
    variables = {"id": encode_global_id("User", host.id)}

    as_admin = await execute(query, variables, viewer=viewer_of(admin))
    anonymous = await execute(query, variables)
    as_self = await execute(query, variables, viewer=viewer_of(host))

    assert [error.extensions["code"] for error in as_admin.errors] == ["FORBIDDEN"]
    assert [error.extensions["code"] for error in anonymous.errors] == ["UNAUTHENTICATED"]
    assert as_self.errors is None
    assert as_self.data["node"]["nearbyVenues"]["edges"] == [
        {"node": {"id": encode_global_id("Venue", venues["Notre-Dame"].id)}}
    ]
