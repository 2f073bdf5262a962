"""The root `venues` list: typed filters, validation naming the field, `includeDeleted`."""

import uuid
from decimal import Decimal

import pytest

from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

VENUES = """
query Venues($filter: VenueFilter, $orderBy: VenueOrder, $includeDeleted: Boolean) {
  venues(first: 100, filter: $filter, orderBy: $orderBy, includeDeleted: $includeDeleted) {
    totalCount
    edges { node { name deletedAt } }
  }
}
"""


async def names(execute, venue_filter=None, *, viewer=None, **variables):
    result = await execute(VENUES, {"filter": venue_filter, **variables}, viewer=viewer)
    assert result.errors is None, result.errors
    connection = result.data["venues"]
    found = [edge["node"]["name"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


@pytest.fixture
async def catalogue(session):
    """Four venues of two hosts in three cities, with different rates and amenities."""
    ada = await make_user(session, role="host", display_name="Ada")
    bob = await make_user(session, role="host", display_name="Bob")
    await make_venue(
        session,
        name="Loft",
        owner=ada,
        city="Paris",
        country="FR",
        hourly_rate=Decimal("40.00"),
        amenities={"wifi": True, "projector": {"lumens": 3000}},
    )
    await make_venue(
        session,
        name="Cellar",
        owner=ada,
        city="Lyon",
        country="FR",
        hourly_rate=Decimal("15.50"),
        amenities={"wifi": False},
    )
    await make_venue(
        session,
        name="Studio",
        owner=bob,
        city="Berlin",
        country="DE",
        hourly_rate=Decimal("80.00"),
        amenities={"wifi": True, "kitchen": True},
    )
    await make_venue(session, name="Garden", owner=bob, city="Paris", country="FR")
    return ada, bob


@pytest.mark.parametrize(
    ("venue_filter", "expected"),
    [
        ({"city": "Paris"}, ["Loft", "Garden"]),
        ({"country": "FR"}, ["Loft", "Cellar", "Garden"]),
        ({"country": "de"}, ["Studio"]),
        ({"hourlyRate": {"min": "40"}}, ["Loft", "Studio", "Garden"]),
        ({"hourlyRate": {"max": "40.00"}}, ["Loft", "Cellar"]),
        ({"hourlyRate": {"min": "15.50", "max": "15.50"}}, ["Cellar"]),
        ({"amenities": {"wifi": True}}, ["Loft", "Studio"]),
        ({"amenities": {"projector": {"lumens": 3000}}}, ["Loft"]),
        ({"amenities": {}}, ["Loft", "Cellar", "Studio", "Garden"]),
        ({"city": "Paris", "hourlyRate": {"max": "45"}}, ["Loft"]),
        ({"city": "Nowhere"}, []),
    ],
)
@pytest.mark.usefixtures("catalogue")
async def test_filters_match_what_they_say(execute, venue_filter, expected):
    assert await names(execute, venue_filter) == expected


async def test_owner_filter_takes_a_user_id(execute, catalogue):
    ada, bob = catalogue
    assert await names(execute, {"ownerId": encode_global_id("User", ada.id)}) == [
        "Loft",
        "Cellar",
    ]
    assert await names(execute, {"ownerId": encode_global_id("User", bob.id)}) == [
        "Studio",
        "Garden",
    ]


@pytest.mark.usefixtures("catalogue")
async def test_order_by_rate_then_listing(execute):
    assert await names(execute, orderBy="HOURLY_RATE_DESC") == [
        "Studio",
        "Garden",  # 50.00 (the factory's default)
        "Loft",
        "Cellar",
    ]


@pytest.mark.parametrize(
    ("venue_filter", "field"),
    [
        ({"ownerId": "garbage"}, "filter.ownerId"),
        ({"ownerId": encode_global_id("Venue", uuid.uuid4())}, "filter.ownerId"),
        ({"country": "France"}, "filter.country"),
        ({"hourlyRate": {"min": "-1"}}, "filter.hourlyRate.min"),
        ({"hourlyRate": {"max": "-0.01"}}, "filter.hourlyRate.max"),
        ({"hourlyRate": {"min": "50", "max": "10"}}, "filter.hourlyRate"),
        ({"amenities": ["wifi"]}, "filter.amenities"),
        ({"amenities": "wifi"}, "filter.amenities"),
    ],
)
async def test_invalid_filters_are_bad_user_input_naming_the_field(execute, venue_filter, field):
    result = await execute(VENUES, {"filter": venue_filter})
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert result.data is None


async def test_admins_may_include_deleted_venues(session, execute):
    admin = await make_user(session, role="admin")
    await make_venue(session, name="Live")
    gone = await make_venue(session, name="Gone")
    await soft_delete(session, gone)
    assert gone.deleted_at is not None

    assert await names(execute, viewer=viewer_of(admin)) == ["Live"]
    result = await execute(VENUES, {"includeDeleted": True}, viewer=viewer_of(admin))
    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["venues"]["edges"]]
    assert [node["name"] for node in nodes] == ["Live", "Gone"]
    assert nodes[0]["deletedAt"] is None
    assert nodes[1]["deletedAt"] == gone.deleted_at.isoformat()
    assert result.data["venues"]["totalCount"] == 2


async def test_deleted_rows_listed_for_an_admin_stay_hidden_from_lookups(session, execute):
    admin = await make_user(session, role="admin")
    gone = await make_venue(session, name="Gone")
    await soft_delete(session, gone)
    assert gone.deleted_at is not None
    query = """
    query($id: ID!) {
      venues(includeDeleted: true) { edges { node { name } } }
      venue(id: $id) { name }
    }
    """
    result = await execute(
        query, {"id": encode_global_id("Venue", gone.id)}, viewer=viewer_of(admin)
    )
    assert result.errors is None
    assert result.data["venues"]["edges"] == [{"node": {"name": "Gone"}}]
    assert result.data["venue"] is None


@pytest.mark.parametrize(("role", "code"), [("member", "FORBIDDEN"), ("host", "FORBIDDEN")])
async def test_include_deleted_is_for_admins_only(session, execute, role, code):
    user = await make_user(session, role=role)
    result = await execute(VENUES, {"includeDeleted": True}, viewer=viewer_of(user))
    (error,) = result.errors
    assert error.extensions == {"code": code}


async def test_include_deleted_anonymously_asks_to_sign_in(execute):
    result = await execute(VENUES, {"includeDeleted": True})
    (error,) = result.errors
    assert error.extensions == {"code": "UNAUTHENTICATED"}


async def test_include_deleted_false_is_allowed_for_everyone(session, execute):
    await make_venue(session, name="Live")
    assert await names(execute, includeDeleted=False) == ["Live"]


CHILD_COUNTS = """
{
  venues(first: 10) {
    edges { node { name
      bookings(first: 1) { totalCount pageInfo { hasNextPage } }
      media(first: 1) { totalCount }
    } }
  }
}
"""


async def test_child_total_counts_are_batched_and_respect_visibility(
    session, execute, count_statements
):
    guest = await make_user(session)
    for name in ["One", "Two", "Three"]:
        venue = await make_venue(session, name=name)
        await make_booking(session, venue=venue, user=guest)
        await make_booking(session, venue=venue)  # someone else's: hidden from the guest
        await make_media(session, venue=venue)
        await make_media(session, venue=venue, booking=None, owner=guest)
    await make_venue(session, name="Empty")

    with count_statements as counted:
        result = await execute(CHILD_COUNTS, viewer=viewer_of(guest), paths="loaders")

    assert result.errors is None
    assert {
        edge["node"]["name"]: (
            edge["node"]["bookings"]["totalCount"],
            edge["node"]["bookings"]["pageInfo"]["hasNextPage"],
            edge["node"]["media"]["totalCount"],
        )
        for edge in result.data["venues"]["edges"]
    } == {
        "One": (1, False, 2),
        "Two": (1, False, 2),
        "Three": (1, False, 2),
        "Empty": (0, False, 0),
    }
    # The venues; each child list's first page; each child list's counts (one GROUP BY).
    assert counted.count == 5
    assert sum("GROUP BY" in statement for statement in counted.statements) == 2
