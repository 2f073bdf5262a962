"""Query functions in `models`: a user with their bookings, and booking statistics."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from models import (
    EVERY_BOOKING,
    BookingStatsBucket,
    StatsGrouping,
    StatsScope,
    booking_stats,
    soft_delete,
)
from models.user import get_with_bookings
from tests.factories import make_booking, make_user, make_venue


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# --- get_with_bookings -----------------------------------------------------------------------


async def test_get_with_bookings_loads_live_bookings_and_their_venues(session, count_statements):
    user = await make_user(session)
    first_venue = await make_venue(session, name="Loft")
    second_venue = await make_venue(session, name="Studio")
    pending = await make_booking(session, user=user, venue=first_venue)
    cancelled = await make_booking(session, user=user, venue=second_venue, status="cancelled")
    await soft_delete(session, await make_booking(session, user=user, venue=first_venue))
    await make_booking(session, venue=first_venue)  # someone else's
    session.expunge_all()

    with count_statements as counted:
        loaded = await get_with_bookings(session, user_id=user.id)
        assert loaded is not None
        venues = {booking.id: booking.venue.name for booking in loaded.bookings}

    assert loaded.id == user.id
    assert venues == {pending.id: "Loft", cancelled.id: "Studio"}
    assert counted.count == 3  # the user, the bookings, the venues: no lazy loads


async def test_get_with_bookings_of_a_user_without_bookings_has_an_empty_list(session):
    user = await make_user(session)
    session.expunge_all()

    loaded = await get_with_bookings(session, user_id=user.id)

    assert loaded is not None
    assert loaded.bookings == []


async def test_get_with_bookings_of_a_soft_deleted_user_is_none(session):
    user = await make_user(session)
    await make_booking(session, user=user)
    await soft_delete(session, user)
    session.expunge_all()

    assert await get_with_bookings(session, user_id=user.id) is None


async def test_get_with_bookings_of_an_unknown_user_is_none(session):
    assert await get_with_bookings(session, user_id=uuid.uuid4()) is None


# --- booking_stats ---------------------------------------------------------------------------

MARCH = utc(2024, 3, 1)
MAY = utc(2024, 5, 1)


@pytest.fixture
async def venues(session):
    """Two venues, at 50 and 30 an hour, holding a known set of bookings in March-April 2024.

    In range [MARCH, MAY):               venue  status     amount  UTC day
      2024-03-01 00:00Z  (first instant)  B     completed   30.00  03-01 (Fri, week 02-26)
      2024-03-04 10:00Z                   A     completed  100.00  03-04 (Mon)
      2024-03-10 23:30Z                   A     completed  100.00  03-10 (Sun, week 03-04)
      2024-03-11 00:30+02:00 = 03-10 22:30Z  B  pending     30.00  03-10 (Sun, week 03-04)
      2024-03-11 09:00Z                   B     completed   90.00  03-11 (Mon)
      2024-04-01 00:00Z                   A     cancelled   50.00  04-01 (Mon)
      2024-04-15 12:00Z                   B     confirmed   60.00  04-15 (Mon)
    Left out: one just before MARCH, one at MAY, one soft-deleted completed booking in March.
    """
    a = await make_venue(session, hourly_rate=Decimal("50.00"))
    b = await make_venue(session, hourly_rate=Decimal("30.00"))
    plus_two = dt.timezone(dt.timedelta(hours=2))
    book = [
        (b, utc(2024, 3, 1), 1, "completed"),
        (a, utc(2024, 3, 4, 10), 2, "completed"),
        (a, utc(2024, 3, 10, 23, 30), 2, "completed"),
        (b, dt.datetime(2024, 3, 11, 0, 30, tzinfo=plus_two), 1, "pending"),
        (b, utc(2024, 3, 11, 9), 3, "completed"),
        (a, utc(2024, 4, 1), 1, "cancelled"),
        (b, utc(2024, 4, 15, 12), 2, "confirmed"),
        (a, utc(2024, 2, 29, 23), 1, "completed"),
        (a, MAY, 1, "completed"),
    ]
    for venue, starts_at, hours, status in book:
        await make_booking(session, venue=venue, starts_at=starts_at, hours=hours, status=status)
    deleted = await make_booking(
        session, venue=a, starts_at=utc(2024, 3, 20, 10), hours=4, status="completed"
    )
    await soft_delete(session, deleted)
    return a, b


async def stats(
    session, group_by: StatsGrouping, scope: StatsScope = EVERY_BOOKING
) -> list[tuple[str, int, int, Decimal]]:
    buckets = await booking_stats(
        session, starts_from=MARCH, starts_before=MAY, group_by=group_by, scope=scope
    )
    assert all(isinstance(bucket, BookingStatsBucket) for bucket in buckets)
    return [
        (bucket.key, bucket.count, bucket.completed_count, bucket.completed_revenue)
        for bucket in buckets
    ]


@pytest.mark.usefixtures("venues")
async def test_booking_stats_by_day_uses_utc_days(session):
    assert await stats(session, StatsGrouping.DAY) == [
        ("2024-03-01", 1, 1, Decimal("30.00")),
        ("2024-03-04", 1, 1, Decimal("100.00")),
        ("2024-03-10", 2, 1, Decimal("100.00")),
        ("2024-03-11", 1, 1, Decimal("90.00")),
        ("2024-04-01", 1, 0, Decimal(0)),
        ("2024-04-15", 1, 0, Decimal(0)),
    ]


@pytest.mark.usefixtures("venues")
async def test_booking_stats_by_week_keys_weeks_by_their_monday(session):
    assert await stats(session, StatsGrouping.WEEK) == [
        ("2024-02-26", 1, 1, Decimal("30.00")),
        ("2024-03-04", 3, 2, Decimal("200.00")),
        ("2024-03-11", 1, 1, Decimal("90.00")),
        ("2024-04-01", 1, 0, Decimal(0)),
        ("2024-04-15", 1, 0, Decimal(0)),
    ]


@pytest.mark.usefixtures("venues")
async def test_booking_stats_by_month(session):
    assert await stats(session, StatsGrouping.MONTH) == [
        ("2024-03-01", 5, 4, Decimal("320.00")),
        ("2024-04-01", 2, 0, Decimal(0)),
    ]


async def test_booking_stats_by_venue_puts_the_busiest_first(session, venues):
    a, b = venues

    assert await stats(session, StatsGrouping.VENUE) == [
        (str(b.id), 4, 2, Decimal("120.00")),
        (str(a.id), 3, 2, Decimal("200.00")),
    ]


@pytest.mark.usefixtures("venues")
async def test_booking_stats_by_status(session):
    assert await stats(session, StatsGrouping.STATUS) == [
        ("cancelled", 1, 0, Decimal(0)),
        ("completed", 4, 4, Decimal("320.00")),
        ("confirmed", 1, 0, Decimal(0)),
        ("pending", 1, 0, Decimal(0)),
    ]


@pytest.mark.usefixtures("venues")
async def test_booking_stats_of_an_empty_range_is_empty(session):
    buckets = await booking_stats(
        session,
        starts_from=utc(2024, 6, 1),
        starts_before=utc(2024, 7, 1),
        group_by=StatsGrouping.DAY,
        scope=EVERY_BOOKING,
    )

    assert buckets == []


async def test_booking_stats_of_a_member_count_only_their_bookings(session, venues):
    a, _ = venues
    member = await make_user(session)
    await make_booking(
        session, user=member, venue=a, starts_at=utc(2024, 3, 5, 8), status="completed"
    )
    await make_booking(session, user=member, venue=a, starts_at=utc(2024, 4, 2, 8))

    assert await stats(session, StatsGrouping.MONTH, StatsScope(user_id=member.id)) == [
        ("2024-03-01", 1, 1, Decimal("100.00")),
        ("2024-04-01", 1, 0, Decimal(0)),
    ]


async def test_booking_stats_of_a_host_count_their_venues_and_their_own(session, venues):
    a, b = venues
    host = a.owner
    # The host's own booking elsewhere counts; other venues' bookings do not.
    elsewhere = await make_venue(session, hourly_rate=Decimal("10.00"))
    await make_booking(
        session, user=host, venue=elsewhere, starts_at=utc(2024, 4, 20), status="completed"
    )
    await make_booking(session, venue=elsewhere, starts_at=utc(2024, 4, 21), status="completed")
    scope = StatsScope(user_id=host.id, with_hosted_venues=True)

    assert await stats(session, StatsGrouping.VENUE, scope) == [
        (str(a.id), 3, 2, Decimal("200.00")),
        (str(elsewhere.id), 1, 1, Decimal("20.00")),
    ]
    assert str(b.id) not in [key for key, *_ in await stats(session, StatsGrouping.VENUE, scope)]
    # Without the hosted venues, a host is a member like any other.
    assert await stats(session, StatsGrouping.VENUE, StatsScope(user_id=host.id)) == [
        (str(elsewhere.id), 1, 1, Decimal("20.00")),
    ]
