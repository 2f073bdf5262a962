"""`bookingStats`: buckets over what the viewer may see; ranges checked before any SQL runs."""

import datetime as dt
from decimal import Decimal

import pytest

from graph.core.global_id import encode_global_id
from tests.factories import make_booking, make_user, make_venue
from tests.graph.viewers import viewer_of

STATS = """
query Stats($from: DateTime!, $to: DateTime!, $groupBy: StatsGrouping!) {
  bookingStats(from: $from, to: $to, groupBy: $groupBy) {
    key count completedCount completedRevenue
  }
}
"""

JUNE = dt.datetime(2031, 6, 1, tzinfo=dt.UTC)
JULY = dt.datetime(2031, 7, 1, tzinfo=dt.UTC)


def day(n: int, hour: int = 10) -> dt.datetime:
    return JUNE + dt.timedelta(days=n - 1, hours=hour)


@pytest.fixture
async def world(session):
    """A host's venue at 20/h and another at 50/h; a member books both."""
    host = await make_user(session, role="host")
    member = await make_user(session)
    other = await make_user(session)
    hosted = await make_venue(session, owner=host, hourly_rate=Decimal("20.00"))
    elsewhere = await make_venue(session, hourly_rate=Decimal("50.00"))
    for user, venue, starts_at, status in [
        (member, hosted, day(2), "completed"),  # 40.00
        (other, hosted, day(2, 14), "confirmed"),
        (member, elsewhere, day(9), "completed"),  # 100.00
        (other, elsewhere, day(10), "completed"),  # 100.00
        (host, elsewhere, day(16), "cancelled"),
        (member, hosted, day(31), "completed"),  # July: out of range
    ]:
        await make_booking(session, user=user, venue=venue, starts_at=starts_at, status=status)
    return {"host": host, "member": member, "hosted": hosted, "elsewhere": elsewhere}


async def stats(execute, viewer, group_by, start=JUNE, end=JULY):
    result = await execute(
        STATS,
        {"from": start.isoformat(), "to": end.isoformat(), "groupBy": group_by},
        viewer=viewer,
    )
    assert result.errors is None, result.errors
    return [
        (b["key"], b["count"], b["completedCount"], Decimal(b["completedRevenue"]))
        for b in result.data["bookingStats"]
    ]


async def test_admins_see_every_booking(session, execute, world):
    admin = viewer_of(await make_user(session, role="admin"))
    assert await stats(execute, admin, "WEEK") == [
        ("2031-06-02", 2, 1, Decimal("40.00")),  # weeks are keyed by their Monday
        ("2031-06-09", 2, 2, Decimal("200.00")),  # Monday the 9th and Tuesday the 10th
        ("2031-06-16", 1, 0, Decimal(0)),
    ]
    assert await stats(execute, admin, "STATUS") == [
        ("CANCELLED", 1, 0, Decimal(0)),
        ("COMPLETED", 3, 3, Decimal("240.00")),
        ("CONFIRMED", 1, 0, Decimal(0)),
    ]
    assert await stats(execute, admin, "VENUE") == [
        (encode_global_id("Venue", world["elsewhere"].id), 3, 2, Decimal("200.00")),
        (encode_global_id("Venue", world["hosted"].id), 2, 1, Decimal("40.00")),
    ]


async def test_hosts_see_their_venues_bookings_and_their_own(execute, world):
    assert await stats(execute, viewer_of(world["host"]), "DAY") == [
        ("2031-06-02", 2, 1, Decimal("40.00")),
        ("2031-06-16", 1, 0, Decimal(0)),
    ]


async def test_members_see_their_own(execute, world):
    assert await stats(execute, viewer_of(world["member"]), "MONTH") == [
        ("2031-06-01", 2, 2, Decimal("140.00")),
    ]


async def test_anonymous_viewers_must_sign_in(execute, world):
    del world
    result = await execute(
        STATS, {"from": JUNE.isoformat(), "to": JULY.isoformat(), "groupBy": "DAY"}
    )
    (error,) = result.errors
    assert error.extensions == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    "bad",
    [
        ("2031-07-01T00:00:00Z", "2031-06-01T00:00:00Z", "to"),
        ("2031-06-01T00:00:00Z", "2031-06-01T00:00:00Z", "to"),
        ("2030-01-01T00:00:00Z", "2035-01-02T00:00:01Z", "to"),
        ("2031-06-01T00:00:00", "2031-07-01T00:00:00Z", "from"),
        ("2031-06-01T00:00:00Z", "2031-07-01T00:00:00", "to"),
    ],
)
async def test_bad_ranges_are_bad_user_input(execute, count_statements, world, bad):
    start, end, field = bad
    member = viewer_of(world["member"])
    with count_statements as counted:
        result = await execute(STATS, {"from": start, "to": end, "groupBy": "DAY"}, viewer=member)
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert counted.count == 0


async def test_five_years_exactly_is_allowed(session, execute):
    member = viewer_of(await make_user(session))
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert await stats(execute, member, "MONTH", start, start.replace(year=2035)) == []


async def test_an_unknown_grouping_is_bad_user_input(session, execute):
    member = viewer_of(await make_user(session))
    result = await execute(
        STATS, {"from": JUNE.isoformat(), "to": JULY.isoformat(), "groupBy": "YEAR"}, viewer=member
    )
    (error,) = result.errors
    assert error.extensions["code"] == "BAD_USER_INPUT"
