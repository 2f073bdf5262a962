"""Bookings: a user holding a venue for a span of time."""

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
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
        Index(
            "ix_bookings_starts_at_live",
            "starts_at",
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
