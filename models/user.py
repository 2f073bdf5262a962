"""Users: members book venues, hosts own them, admins see everything."""

import enum
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey


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
    preferences: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))

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
