"""The database itself refuses bad rows: check, exclusion and unique constraints."""

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Booking, restore, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue

NOON = dt.datetime(2031, 6, 2, 12, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NO_OVERLAP = "ex_bookings_venue_no_overlap"


@asynccontextmanager
async def violates(session: AsyncSession, constraint: str) -> AsyncIterator[None]:
    """Expect the block to fail on `constraint`, inside a savepoint so the test can go on."""
    with pytest.raises(IntegrityError) as failure:
        async with session.begin_nested():
            yield
    cause = failure.value.orig.__cause__ if failure.value.orig is not None else None
    assert isinstance(cause, asyncpg.IntegrityConstraintViolationError)
    assert cause.constraint_name == constraint


async def insert_booking_sql(
    session: AsyncSession, booking: Booking, *, starts_at: dt.datetime, ends_at: dt.datetime
) -> None:
    """Write a booking of the same user and venue as `booking`, bypassing the ORM."""
    await session.execute(
        text(
            "INSERT INTO bookings (user_id, venue_id, starts_at, ends_at, amount, currency)"
            " VALUES (:user_id, :venue_id, :starts_at, :ends_at, 10, 'EUR')"
        ),
        {
            "user_id": booking.user_id,
            "venue_id": booking.venue_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
        },
    )


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"ends_at": NOON - HOUR}, "ck_bookings_ends_after_start"),
        ({"ends_at": NOON}, "ck_bookings_ends_after_start"),
        ({"amount": Decimal("-0.01")}, "ck_bookings_amount_non_negative"),
        ({"status": "maybe"}, "ck_bookings_status"),
        ({"status": "PENDING"}, "ck_bookings_status"),
        ({"currency": "eur"}, "ck_bookings_currency_iso4217"),
        ({"currency": "EU"}, "ck_bookings_currency_iso4217"),
    ],
)
async def test_booking_check_constraints_reject_bad_values(session, overrides, constraint):
    venue = await make_venue(session)

    async with violates(session, constraint):
        await make_booking(session, venue=venue, starts_at=NOON, **overrides)


async def test_booking_check_constraints_accept_free_and_valid_bookings(session):
    booking = await make_booking(session, starts_at=NOON, amount=Decimal("0.00"), currency="USD")

    assert booking.amount == Decimal("0.00")


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"currency": "eur"}, "ck_venues_currency_iso4217"),
        ({"currency": "E1R"}, "ck_venues_currency_iso4217"),
        ({"country": "fr"}, "ck_venues_country_iso3166"),
        ({"hourly_rate": Decimal(-1)}, "ck_venues_hourly_rate_non_negative"),
        ({"name": "   "}, "ck_venues_name_not_blank"),
    ],
)
async def test_venue_check_constraints_reject_bad_values(session, overrides, constraint):
    async with violates(session, constraint):
        await make_venue(session, **overrides)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"role": "owner"}, "ck_users_role"),
        ({"role": "Admin"}, "ck_users_role"),
        ({"email": " padded@example.test"}, "ck_users_email"),
        ({"email": "@example.test"}, "ck_users_email"),
        ({"preferences": []}, "ck_users_preferences_object"),
    ],
)
async def test_user_check_constraints_reject_bad_values(session, overrides, constraint):
    async with violates(session, constraint):
        await make_user(session, **overrides)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"width": 0}, "ck_media_width_positive"),
        ({"width": -1}, "ck_media_width_positive"),
        ({"height": 0}, "ck_media_height_positive"),
        ({"dominant_color": "#FFAA00"}, "ck_media_dominant_color"),
        ({"dominant_color": "#ffaa0"}, "ck_media_dominant_color"),
        ({"dominant_color": "red"}, "ck_media_dominant_color"),
        ({"resource_type": "AUDIO"}, "ck_media_resource_type"),
        ({"duration_seconds": Decimal("3.5")}, "ck_media_duration_only_video"),
        ({"file_size": 0}, "ck_media_file_size_positive"),
        ({"content_hash": "not-a-sha256"}, "ck_media_content_hash_sha256"),
        ({"extension": ".JPG"}, "ck_media_extension"),
    ],
)
async def test_media_check_constraints_reject_bad_values(session, overrides, constraint):
    async with violates(session, constraint):
        await make_media(session, **overrides)


async def test_media_accepts_lowercase_colour_and_video_duration(session):
    media = await make_media(
        session, resource_type="VIDEO", dominant_color="#0fa3c2", duration_seconds=Decimal("12.5")
    )

    assert media.dominant_color == "#0fa3c2"


# --- No two live pending/confirmed bookings of one venue overlap ------------------------------


@pytest.mark.parametrize("held_by", ["pending", "confirmed"])
@pytest.mark.parametrize("status", ["pending", "confirmed"])
async def test_overlapping_live_booking_is_rejected_through_the_orm(session, held_by, status):
    existing = await make_booking(session, starts_at=NOON, hours=2, status=held_by)

    async with violates(session, NO_OVERLAP):
        await make_booking(
            session, venue=existing.venue, starts_at=NOON + HOUR, hours=2, status=status
        )


async def test_overlapping_live_booking_is_rejected_through_raw_sql(session):
    existing = await make_booking(session, starts_at=NOON, hours=2)

    async with violates(session, NO_OVERLAP):
        await insert_booking_sql(
            session, existing, starts_at=NOON - HOUR / 2, ends_at=NOON + HOUR / 2
        )


async def test_booking_inside_another_is_rejected(session):
    existing = await make_booking(session, starts_at=NOON, hours=4)

    async with violates(session, NO_OVERLAP):
        await insert_booking_sql(session, existing, starts_at=NOON + HOUR, ends_at=NOON + 2 * HOUR)


async def test_same_slot_at_another_venue_is_allowed(session):
    existing = await make_booking(session, starts_at=NOON, hours=2)

    other = await make_booking(session, user=existing.user, starts_at=NOON, hours=2)

    assert other.venue_id != existing.venue_id


async def venue_bookings(session: AsyncSession, venue_id: object) -> int:
    """How many bookings of the venue exist, whatever their state."""
    count = await session.scalar(
        text("SELECT count(*) FROM bookings WHERE venue_id = :venue_id"), {"venue_id": venue_id}
    )
    assert count is not None
    return count


@pytest.mark.parametrize("other_starts_at", [NOON + 2 * HOUR, NOON - 2 * HOUR])
async def test_adjacent_slots_written_by_raw_sql_are_allowed(session, other_starts_at):
    existing = await make_booking(session, starts_at=NOON, hours=2)

    await insert_booking_sql(
        session, existing, starts_at=other_starts_at, ends_at=other_starts_at + 2 * HOUR
    )

    assert await venue_bookings(session, existing.venue_id) == 2


async def test_adjacent_slot_written_by_the_orm_is_allowed(session):
    existing = await make_booking(session, starts_at=NOON, hours=2)

    adjacent = await make_booking(session, venue=existing.venue, starts_at=existing.ends_at)

    assert adjacent.starts_at == existing.ends_at


@pytest.mark.parametrize("released_as", ["cancelled", "completed"])
async def test_overlap_with_a_booking_that_no_longer_holds_is_allowed(session, released_as):
    released = await make_booking(session, starts_at=NOON, hours=2, status=released_as)

    await insert_booking_sql(session, released, starts_at=NOON, ends_at=NOON + HOUR)
    await make_booking(session, venue=released.venue, starts_at=NOON + HOUR, hours=1)

    assert await venue_bookings(session, released.venue_id) == 3


async def test_overlap_with_a_soft_deleted_booking_is_allowed(session):
    deleted = await make_booking(session, starts_at=NOON, hours=2)
    await soft_delete(session, deleted)

    replacement = await make_booking(session, venue=deleted.venue, starts_at=NOON, hours=2)

    assert replacement.starts_at == deleted.starts_at


async def test_cancelled_bookings_may_overlap_each_other_and_a_live_one(session):
    live = await make_booking(session, starts_at=NOON, hours=2)

    for _ in range(2):
        await make_booking(session, venue=live.venue, starts_at=NOON, hours=2, status="cancelled")

    assert await venue_bookings(session, live.venue_id) == 3


async def test_reviving_a_cancelled_booking_into_an_overlap_is_rejected(session):
    cancelled = await make_booking(session, starts_at=NOON, hours=2, status="cancelled")
    await make_booking(session, venue=cancelled.venue, starts_at=NOON, hours=2)

    async with violates(session, NO_OVERLAP):
        await session.execute(
            text("UPDATE bookings SET status = 'pending' WHERE id = :id"), {"id": cancelled.id}
        )


async def test_restoring_a_soft_deleted_booking_into_an_overlap_is_rejected(session):
    deleted = await make_booking(session, starts_at=NOON, hours=2)
    await soft_delete(session, deleted)
    await make_booking(session, venue=deleted.venue, starts_at=NOON + HOUR, hours=2)

    async with violates(session, NO_OVERLAP):
        await restore(session, deleted)


# --- Email: unique among live users, whatever the case ----------------------------------------


async def test_email_is_unique_case_insensitively(session):
    await make_user(session, email="Ada@Example.test")

    async with violates(session, "uq_users_email_live"):
        await make_user(session, email="ada@example.TEST")


async def test_email_is_unique_through_raw_sql_too(session):
    # Raw SQL must give the key (PostgreSQL cannot make it: models/email_address.py does).
    await make_user(session, email="grace@example.test")

    async with violates(session, "uq_users_email_live"):
        await session.execute(
            text(
                "INSERT INTO users (email, email_key, display_name)"
                " VALUES ('GRACE@example.test', 'grace@example.test', 'G')"
            )
        )


async def test_a_user_without_an_email_key_is_refused(session):
    with pytest.raises(IntegrityError, match="email_key"):
        await session.execute(
            text("INSERT INTO users (email, display_name) VALUES ('keyless@example.test', 'K')")
        )


async def test_email_keys_fold_what_lower_does_not(session):
    # PostgreSQL's lower() leaves these apart (or folds them differently from Python).
    await make_user(session, email="STRASSE@example.test")

    async with violates(session, "uq_users_email_live"):
        await make_user(session, email="straße@example.test")


async def test_soft_deleted_users_email_can_be_reused(session):
    gone = await make_user(session, email="Linus@example.test")
    await soft_delete(session, gone)

    again = await make_user(session, email="linus@example.test")

    assert again.id != gone.id


async def test_restoring_a_user_whose_email_was_reused_is_rejected(session):
    gone = await make_user(session, email="ken@example.test")
    await soft_delete(session, gone)
    await make_user(session, email="Ken@example.test")

    async with violates(session, "uq_users_email_live"):
        await restore(session, gone)
