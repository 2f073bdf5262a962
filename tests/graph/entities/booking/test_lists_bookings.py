"""The root `bookings` list: who sees which bookings, typed filters, `includeDeleted`."""

import datetime as dt
import uuid

import pytest

from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_user, make_venue
from tests.graph.viewers import viewer_of

BOOKINGS = """
query Bookings($filter: BookingFilter, $orderBy: BookingOrder, $includeDeleted: Boolean) {
  bookings(first: 100, filter: $filter, orderBy: $orderBy, includeDeleted: $includeDeleted) {
    totalCount
    edges { node { notes status deletedAt } }
  }
}
"""

MONDAY = dt.datetime(2031, 3, 3, 9, tzinfo=dt.UTC)


def at(days: int, hours: int = 0) -> dt.datetime:
    return MONDAY + dt.timedelta(days=days, hours=hours)


@pytest.fixture
async def world(session):
    """A host with one venue, another host's venue, two members, five bookings."""
    host = await make_user(session, role="host")
    other_host = await make_user(session, role="host")
    ann = await make_user(session)
    ben = await make_user(session)
    hosted = await make_venue(session, owner=host)
    elsewhere = await make_venue(session, owner=other_host)
    for notes, user, venue, starts_at, status in [
        ("ann@hosted", ann, hosted, at(0), "pending"),
        ("ben@hosted", ben, hosted, at(1), "confirmed"),
        ("ann@elsewhere", ann, elsewhere, at(2), "completed"),
        ("host@elsewhere", host, elsewhere, at(3), "cancelled"),
        ("ben@elsewhere", ben, elsewhere, at(4), "pending"),
    ]:
        await make_booking(
            session, user=user, venue=venue, starts_at=starts_at, status=status, notes=notes
        )
    return {
        "host": host,
        "other_host": other_host,
        "ann": ann,
        "ben": ben,
        "hosted": hosted,
        "elsewhere": elsewhere,
    }


async def notes(execute, viewer, booking_filter=None, **variables):
    result = await execute(BOOKINGS, {"filter": booking_filter, **variables}, viewer=viewer)
    assert result.errors is None, result.errors
    connection = result.data["bookings"]
    found = [edge["node"]["notes"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


async def test_each_role_lists_what_it_may_see(session, execute, world):
    admin = await make_user(session, role="admin")
    assert await notes(execute, viewer_of(world["ann"])) == ["ann@hosted", "ann@elsewhere"]
    assert await notes(execute, viewer_of(world["host"])) == [
        "ann@hosted",
        "ben@hosted",
        "host@elsewhere",
    ]
    assert await notes(execute, viewer_of(world["other_host"])) == [
        "ann@elsewhere",
        "host@elsewhere",
        "ben@elsewhere",
    ]
    assert len(await notes(execute, viewer_of(admin))) == 5


async def test_filters_narrow_what_the_viewer_sees_never_widen_it(execute, world):
    ann = viewer_of(world["ann"])
    ben_id = encode_global_id("User", world["ben"].id)
    # Ben's bookings exist, but Ann may not see them: a filter cannot reveal them.
    assert await notes(execute, ann, {"userId": ben_id}) == []
    host = viewer_of(world["host"])
    assert await notes(execute, host, {"userId": ben_id}) == ["ben@hosted"]


async def test_anonymous_viewers_must_sign_in(execute, world):
    del world
    result = await execute(BOOKINGS)
    (error,) = result.errors
    assert error.extensions == {"code": "UNAUTHENTICATED"}
    assert result.data is None


@pytest.mark.parametrize(
    ("booking_filter", "expected"),
    [
        ({"status": ["PENDING"]}, ["ann@hosted", "ben@elsewhere"]),
        ({"status": ["CONFIRMED", "COMPLETED"]}, ["ben@hosted", "ann@elsewhere"]),
        ({"status": []}, []),
        # Starts within [from, to): the booking at `to` is out, the one at `from` is in.
        (
            {"startsAt": {"from": at(1).isoformat(), "to": at(3).isoformat()}},
            ["ben@hosted", "ann@elsewhere"],
        ),
        ({"startsAt": {"from": at(3).isoformat()}}, ["host@elsewhere", "ben@elsewhere"]),
        ({"startsAt": {"to": at(0, 1).isoformat()}}, ["ann@hosted"]),
        (
            {"startsAt": {"from": "2031-03-04T10:00:00+01:00"}},  # = at(1) in UTC
            ["ben@hosted", "ann@elsewhere", "host@elsewhere", "ben@elsewhere"],
        ),
        ({"status": ["PENDING"], "startsAt": {"from": at(1).isoformat()}}, ["ben@elsewhere"]),
    ],
)
async def test_filters_match_what_they_say(session, execute, world, booking_filter, expected):
    del world
    admin = await make_user(session, role="admin")
    assert await notes(execute, viewer_of(admin), booking_filter) == expected


async def test_venue_and_user_filters(session, execute, world):
    admin = viewer_of(await make_user(session, role="admin"))
    hosted = encode_global_id("Venue", world["hosted"].id)
    ann = encode_global_id("User", world["ann"].id)
    assert await notes(execute, admin, {"venueId": hosted}) == ["ann@hosted", "ben@hosted"]
    assert await notes(execute, admin, {"userId": ann}) == ["ann@hosted", "ann@elsewhere"]
    assert await notes(execute, admin, {"userId": ann, "venueId": hosted}) == ["ann@hosted"]


async def test_orders(session, execute, world):
    del world
    admin = viewer_of(await make_user(session, role="admin"))
    assert await notes(execute, admin, orderBy="STARTS_AT_DESC") == [
        "ben@elsewhere",
        "host@elsewhere",
        "ann@elsewhere",
        "ben@hosted",
        "ann@hosted",
    ]


@pytest.mark.parametrize(
    ("booking_filter", "field"),
    [
        ({"venueId": "garbage"}, "filter.venueId"),
        ({"venueId": encode_global_id("User", uuid.uuid4())}, "filter.venueId"),
        ({"userId": encode_global_id("Venue", uuid.uuid4())}, "filter.userId"),
        ({"startsAt": {"from": at(2).isoformat(), "to": at(1).isoformat()}}, "filter.startsAt"),
        ({"startsAt": {"from": at(2).isoformat(), "to": at(2).isoformat()}}, "filter.startsAt"),
        ({"startsAt": {"from": "2031-03-03T09:00:00"}}, "filter.startsAt.from"),
        ({"startsAt": {"to": "2031-03-03T09:00:00"}}, "filter.startsAt.to"),
    ],
)
async def test_invalid_filters_are_bad_user_input_naming_the_field(
    execute, world, booking_filter, field
):
    result = await execute(BOOKINGS, {"filter": booking_filter}, viewer=viewer_of(world["ann"]))
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


async def test_an_unknown_status_is_bad_user_input(execute, world):
    result = await execute(
        BOOKINGS, {"filter": {"status": ["LOST"]}}, viewer=viewer_of(world["ann"])
    )
    (error,) = result.errors
    assert error.extensions["code"] == "BAD_USER_INPUT"


async def test_admins_may_include_deleted_bookings(session, execute, world):
    admin = viewer_of(await make_user(session, role="admin"))
    gone = await make_booking(session, user=world["ann"], starts_at=at(9), notes="gone")
    await soft_delete(session, gone)
    assert gone.deleted_at is not None
    assert "gone" not in await notes(execute, admin)
    result = await execute(BOOKINGS, {"includeDeleted": True}, viewer=admin)
    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["bookings"]["edges"]]
    assert nodes[-1] == {
        "notes": "gone",
        "status": "PENDING",
        "deletedAt": gone.deleted_at.isoformat(),
    }
    assert result.data["bookings"]["totalCount"] == 6


@pytest.mark.parametrize("who", ["ann", "host"])
async def test_include_deleted_is_forbidden_to_others(execute, world, who):
    result = await execute(BOOKINGS, {"includeDeleted": True}, viewer=viewer_of(world[who]))
    (error,) = result.errors
    assert error.extensions == {"code": "FORBIDDEN"}
