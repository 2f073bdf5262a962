"""Bookings: a user holding a venue for a span of time."""

import datetime as dt
import enum
import uuid
from collections.abc import Collection
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

if TYPE_CHECKING:
    from models.user import User
    from models.venue import Venue


class BookingStatus(enum.StrEnum):
    """Where a booking is in its life."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Statuses that hold the venue: two live bookings in these may not overlap.
HOLDING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


class Booking(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """One booking of one venue by one user, from `starts_at` (inclusive) to `ends_at`."""

    __tablename__ = "bookings"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    venue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("venues.id", ondelete="RESTRICT"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), server_default=BookingStatus.PENDING.value)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text, default=None)

    user: Mapped["User"] = relationship(back_populates="bookings", lazy="raise")
    venue: Mapped["Venue"] = relationship(back_populates="bookings", lazy="raise")

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint(
            "status IN ('pending', 'confirmed', 'completed', 'cancelled')", name="status"
        ),
        ExcludeConstraint(
            ("venue_id", "="),
            (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            name="ex_bookings_venue_no_overlap",
            using="gist",
            where=text("deleted_at IS NULL AND status IN ('pending', 'confirmed')"),
        ),
        Index("ix_bookings_user_id", "user_id"),
        Index("ix_bookings_venue_id", "venue_id"),
        Index(
            "ix_bookings_venue_id_starts_at_live",
            "venue_id",
            "starts_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_bookings_user_id_starts_at_live",
            "user_id",
            "starts_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # The orderings of `bookings` (migration 0010): full, as admins list deleted rows too.
        Index("ix_bookings_starts_at_id", "starts_at", "id"),
        Index("ix_bookings_created_at_id", "created_at", "id"),
        Index("ix_bookings_amount_id", "amount", "id"),
        # A venue's `bookings`, live only, in the orderings not served above.
        Index(
            "ix_bookings_venue_id_created_at_live",
            "venue_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_bookings_venue_id_amount_live",
            "venue_id",
            "amount",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )


# Amounts are kept to the cent.
CENT = Decimal("0.01")
_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)


def price(*, hourly_rate: Decimal, starts_at: dt.datetime, ends_at: dt.datetime) -> Decimal:
    """The amount of a booking: the hourly rate times its hours, rounded half up to the cent."""
    microseconds = (ends_at - starts_at) // dt.timedelta(microseconds=1)
    hours = Decimal(microseconds) / _MICROSECONDS_PER_HOUR
    return (hourly_rate * hours).quantize(CENT, rounding=ROUND_HALF_UP)


async def create(  # noqa: PLR0913 - one keyword per value a guest chooses
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    venue_id: uuid.UUID,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    notes: str | None = None,
) -> Booking | None:
    """Book a live venue, priced at its current rate; None when the venue is not live.

    An overlap with a live pending or confirmed booking of the venue raises `IntegrityError`
    from the `ex_bookings_venue_no_overlap` exclusion constraint, whoever committed first.
    """
    from models.venue import Venue  # noqa: PLC0415 - models import each other only lazily

    rate = (
        await session.execute(select(Venue.hourly_rate, Venue.currency).where(Venue.id == venue_id))
    ).one_or_none()
    if rate is None:
        return None
    booking = Booking(
        user_id=user_id,
        venue_id=venue_id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=BookingStatus.PENDING.value,
        amount=price(hourly_rate=rate.hourly_rate, starts_at=starts_at, ends_at=ends_at),
        currency=rate.currency,
        notes=notes,
    )
    session.add(booking)
    await session.flush()
    return booking


class TransitionRefusedError(Exception):
    """The booking is not in a status the transition starts from (or is gone)."""

    def __init__(self, current_status: str | None) -> None:
        """Record the status found instead; None when the booking does not exist or is deleted."""
        super().__init__(f"booking status is {current_status}")
        self.current_status = current_status


async def transition(
    session: AsyncSession,
    *,
    booking_id: uuid.UUID,
    to: BookingStatus,
    allowed_from: Collection[BookingStatus],
) -> Booking:
    """Move a live booking to `to` if its status is one of `allowed_from`, atomically.

    One `UPDATE ... WHERE status = ANY(allowed) RETURNING`: of two racing transitions only one
    matches the row. Raises `TransitionRefusedError` with the current status otherwise.
    """
    statement = (
        sql_update(Booking)
        .where(
            Booking.id == booking_id,
            Booking.deleted_at.is_(None),
            Booking.status.in_([status.value for status in allowed_from]),
        )
        .values(status=to.value)
        .returning(Booking)
        .execution_options(populate_existing=True)
    )
    booking = (await session.execute(statement)).scalar_one_or_none()
    if booking is None:
        current = await session.scalar(select(Booking.status).where(Booking.id == booking_id))
        raise TransitionRefusedError(current)
    return booking


async def busy_intervals(
    session: AsyncSession,
    *,
    venue_id: uuid.UUID,
    window_start: dt.datetime,
    window_end: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The spans of a venue's live holding bookings that overlap `[window_start, window_end)`.

    Start and end only, earliest first: availability is public and shows nothing of guests.
    """
    statement = (
        select(Booking.starts_at, Booking.ends_at)
        .where(
            Booking.venue_id == venue_id,
            Booking.deleted_at.is_(None),
            Booking.status.in_([status.value for status in HOLDING_STATUSES]),
            Booking.starts_at < window_end,
            Booking.ends_at > window_start,
        )
        .order_by(Booking.starts_at, Booking.id)
    )
    connection = await session.connection()
    return [(row.starts_at, row.ends_at) for row in await connection.execute(statement)]
