"""Declarative base, constraint naming convention and the columns every table shares."""

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import DateTime, FetchedValue, MetaData, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.ids import uuid7

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every mapped class; its metadata drives Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Fetch server-made values (ids, timestamps, trigger-set `updated_at`) with RETURNING on
    # every insert and update: under asyncio a later lazy refresh would fail.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy reads it, never mutates
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONB,
        dt.datetime: DateTime(timezone=True),
    }


class UUIDPrimaryKey:
    """A UUIDv7 primary key, generated in Python for the ORM and in SQL for COPY and raw SQL."""

    id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True,
        default=uuid7,
        sort_order=-100,
        server_default=text("uuid_generate_v7()"),
    )


class Timestamps:
    """`created_at` set on insert and `updated_at` kept current by a database trigger."""

    created_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"), sort_order=100)
    updated_at: Mapped[dt.datetime] = mapped_column(
        server_default=text("now()"),
        server_onupdate=FetchedValue(),
        sort_order=101,
    )


class SoftDelete:
    """Rows are hidden, not removed: `deleted_at` marks them and reads skip them by default."""

    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None, sort_order=102)

    @property
    def is_deleted(self) -> bool:
        """Whether the row is soft-deleted."""
        return self.deleted_at is not None
