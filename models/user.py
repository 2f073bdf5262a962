"""Users: members book venues, hosts own them, admins see everything."""

import enum
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Index, String, func, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from models.booking import Booking
    from models.venue import Venue


class UserRole(enum.StrEnum):
    """What a user may do."""

    MEMBER = "member"
    HOST = "host"
    ADMIN = "admin"


class User(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A person with an account."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), server_default=UserRole.MEMBER.value)
    password_hash: Mapped[str | None] = mapped_column(default=None)
    # Up to 64 KiB that only the user's own views need: rows load without it (lists, the
    # viewer's authentication), and reading it unloaded raises instead of a hidden query.
    preferences: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), deferred=True, deferred_raiseload=True
    )

    # lazy="raise": under asyncio an implicit load would fail late; load explicitly instead.
    bookings: Mapped[list["Booking"]] = relationship(back_populates="user", lazy="raise")
    venues: Mapped[list["Venue"]] = relationship(back_populates="owner", lazy="raise")

    __table_args__ = (
        CheckConstraint("role IN ('member', 'host', 'admin')", name="role"),
        CheckConstraint("email = btrim(email) AND position('@' in email) > 1", name="email"),
        CheckConstraint("jsonb_typeof(preferences) = 'object'", name="preferences_object"),
        Index(
            "uq_users_email_live",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_role_live", "role", postgresql_where=text("deleted_at IS NULL")),
    )


async def get_with_bookings(session: "AsyncSession", *, user_id: uuid.UUID) -> User | None:
    """Return a live user with their live bookings loaded, or None."""
    from models.booking import Booking  # noqa: PLC0415 - models import each other only lazily

    statement = (
        select(User)
        .options(selectinload(User.bookings).selectinload(Booking.venue))
        .where(User.id == user_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_by_email(session: "AsyncSession", *, email: str) -> User | None:
    """Return the live user with this email (case-insensitive), or None."""
    statement = select(User).where(func.lower(User.email) == email.strip().lower())
    return (await session.execute(statement)).scalar_one_or_none()
