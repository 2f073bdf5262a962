"""Media metadata: images and videos of venues and bookings (the files live in object storage)."""

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from geoalchemy2 import Geography, WKBElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey
from models.search_config import MEDIA_SEARCH_VECTOR

if TYPE_CHECKING:
    from models.venue import Venue


# `captured_at` as media lists sort it, nulls last either way (see graph.core.paging.SortKey):
# ascending by the first, descending by the second.
CAPTURED_FIRST = text("coalesce(captured_at, 'infinity'::timestamptz)")
CAPTURED_LAST = text("coalesce(captured_at, '-infinity'::timestamptz)")


class ResourceType(enum.StrEnum):
    """The kind of file a media row describes."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"


class Media(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """One stored image or video and what we know about it."""

    __tablename__ = "media"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    venue_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("venues.id", ondelete="SET NULL"), default=None
    )
    booking_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), default=None
    )
    resource_type: Mapped[str] = mapped_column(String(8))
    storage_key: Mapped[str] = mapped_column(String(512))
    content_hash: Mapped[str] = mapped_column(String(64))
    extension: Mapped[str] = mapped_column(String(10))
    file_size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3), default=None)
    dominant_color: Mapped[str | None] = mapped_column(String(7), default=None)
    alt_text: Mapped[str | None] = mapped_column(Text, default=None)
    caption: Mapped[str | None] = mapped_column(Text, default=None)
    title: Mapped[str] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    exif: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    location: Mapped[WKBElement | None] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False), default=None
    )
    captured_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed(MEDIA_SEARCH_VECTOR, persisted=True), deferred=True
    )

    venue: Mapped["Venue | None"] = relationship(back_populates="media", lazy="raise")

    __table_args__ = (
        CheckConstraint("resource_type IN ('IMAGE', 'VIDEO')", name="resource_type"),
        CheckConstraint("file_size > 0", name="file_size_positive"),
        CheckConstraint("width IS NULL OR width > 0", name="width_positive"),
        CheckConstraint("height IS NULL OR height > 0", name="height_positive"),
        CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds > 0", name="duration_positive"
        ),
        CheckConstraint(
            "resource_type = 'VIDEO' OR duration_seconds IS NULL", name="duration_only_video"
        ),
        CheckConstraint(
            "dominant_color IS NULL OR dominant_color ~ '^#[0-9a-f]{6}$'", name="dominant_color"
        ),
        CheckConstraint("extension ~ '^[a-z0-9]{1,10}$'", name="extension"),
        CheckConstraint("content_hash ~ '^[0-9a-f]{64}$'", name="content_hash_sha256"),
        CheckConstraint("jsonb_typeof(exif) = 'object'", name="exif_object"),
        Index("uq_media_storage_key", "storage_key", unique=True),
        Index("ix_media_content_hash", "content_hash"),
        Index("ix_media_owner_id", "owner_id"),
        Index("ix_media_venue_id", "venue_id"),
        Index("ix_media_booking_id", "booking_id"),
        Index(
            "ix_media_venue_id_live",
            "venue_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # A venue's `media`, live only, in the orderings not served above.
        Index(
            "ix_media_venue_id_title_live",
            "venue_id",
            "title",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_media_venue_id_captured_first_live",
            "venue_id",
            CAPTURED_FIRST,
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_media_venue_id_captured_last_live",
            "venue_id",
            CAPTURED_LAST,
            "id",
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # The orderings of `media` (migration 0010): full, as admins list deleted rows too.
        Index("ix_media_created_at_id", "created_at", "id"),
        Index("ix_media_captured_first_id", CAPTURED_FIRST, "id"),
        Index("ix_media_captured_last_id", CAPTURED_LAST, "id"),
        Index("ix_media_title_id", "title", "id"),
        Index("ix_media_location", "location", postgresql_using="gist"),
        Index("ix_media_search", "search", postgresql_using="gin"),
        # The search's rank classes (migration 0013): a GIN index per weight.
        *(
            Index(
                f"ix_media_search_{weight}",
                text(f"ts_filter(search, '{{{weight}}}'::\"char\"[])"),
                postgresql_using="gin",
            )
            for weight in "abc"
        ),
        Index(
            "ix_media_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        Index("ix_media_tags", "tags", postgresql_using="gin"),
    )


async def create(
    session: AsyncSession, *, owner_id: uuid.UUID, columns: Mapping[str, Any]
) -> Media:
    """Insert a media row owned by `owner_id`; `columns` maps the other column names to values.

    A `storage_key` already in use (by any row, deleted or not) raises `IntegrityError` from
    `uq_media_storage_key`.
    """
    media = Media(owner_id=owner_id, **columns)
    session.add(media)
    await session.flush()
    return media


async def update(
    session: AsyncSession, *, media_id: uuid.UUID, changes: Mapping[str, Any]
) -> Media | None:
    """Set `changes` (column name to value) on a live media row in one statement; None if none."""
    statement = (
        sql_update(Media)
        .where(Media.id == media_id, Media.deleted_at.is_(None))
        .values(**changes)
        .returning(Media)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
