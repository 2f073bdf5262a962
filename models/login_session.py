"""Login sessions: one row per bearer token handed out, keeping only the token's hash."""

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPrimaryKey


class LoginSession(UUIDPrimaryKey, Timestamps, Base):
    """A user's login on one device; revoked or expired sessions no longer authenticate."""

    __tablename__ = "sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    ip_address: Mapped[str | None] = mapped_column(INET, default=None)

    __table_args__ = (
        # A user's `sessions`, newest first (walked backwards); also the foreign key's index.
        Index("ix_sessions_user_id_created_at_id", "user_id", "created_at", "id"),
        Index(
            "ix_sessions_user_id_active",
            "user_id",
            "expires_at",
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )
