"""Users: members book venues, hosts own them, admins see everything."""

import enum
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Index, String, Text, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload, validates

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey
from models.email_address import email_key

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
    # What addresses are compared by (models/email_address.py); set whenever `email` is.
    # Case-folding can lengthen a string, hence no length limit.
    email_key: Mapped[str] = mapped_column(Text)
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
            "email_key",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_users_role_live", "role", postgresql_where=text("deleted_at IS NULL")),
        # The orderings of `users` (migration 0010): full, as admins list deleted rows too.
        Index("ix_users_created_at_id", "created_at", "id"),
        Index("ix_users_display_name_id", "display_name", "id"),
    )

    @validates("email")
    def _key_email(self, _: str, email: str) -> str:
        self.email_key = email_key(email)
        return email


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
    """Return the live user with this email (compared by `email_key`), or None."""
    key = email_key(email)
    if not key or not _storable(key):
        return None  # no stored key can hold it (PostgreSQL text has no NUL, no surrogates)
    statement = select(User).where(User.email_key == key)
    return (await session.execute(statement)).scalar_one_or_none()


def _storable(value: str) -> bool:
    return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
