"""Venues: bookable places, each at a point on earth."""

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from geoalchemy2 import Geography, WKBElement, WKTElement
from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SoftDelete, Timestamps, UUIDPrimaryKey
from models.search_config import VENUE_SEARCH_VECTOR

if TYPE_CHECKING:
    from models.booking import Booking
    from models.media import Media
    from models.user import User


class Venue(UUIDPrimaryKey, Timestamps, SoftDelete, Base):
    """A place a host offers by the hour."""

    __tablename__ = "venues"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    address: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    location: Mapped[WKBElement] = mapped_column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False)
    )
    amenities: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed(VENUE_SEARCH_VECTOR, persisted=True), deferred=True
    )

    owner: Mapped["User"] = relationship(back_populates="venues", lazy="raise")
    bookings: Mapped[list["Booking"]] = relationship(back_populates="venue", lazy="raise")
    media: Mapped[list["Media"]] = relationship(back_populates="venue", lazy="raise")

    __table_args__ = (
        CheckConstraint("hourly_rate >= 0", name="hourly_rate_non_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso4217"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_iso3166"),
        CheckConstraint("jsonb_typeof(amenities) = 'object'", name="amenities_object"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        Index("ix_venues_owner_id", "owner_id"),
        # The orderings of `venues` (migration 0010): full, as admins list deleted rows too.
        Index("ix_venues_created_at_id", "created_at", "id"),
        Index("ix_venues_name_id", "name", "id"),
        Index("ix_venues_hourly_rate_id", "hourly_rate", "id"),
        Index("ix_venues_owner_id_live", "owner_id", postgresql_where=text("deleted_at IS NULL")),
        Index("ix_venues_city_live", "city", postgresql_where=text("deleted_at IS NULL")),
        Index("ix_venues_location", "location", postgresql_using="gist"),
        Index("ix_venues_search", "search", postgresql_using="gin"),
        # The search's rank classes (migration 0013): a GIN index per weight.
        *(
            Index(
                f"ix_venues_search_{weight}",
                text(f"ts_filter(search, '{{{weight}}}'::\"char\"[])"),
                postgresql_using="gin",
            )
            for weight in "abc"
        ),
        Index(
            "ix_venues_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
        Index(
            "ix_venues_amenities",
            "amenities",
            postgresql_using="gin",
            postgresql_ops={"amenities": "jsonb_path_ops"},
        ),
    )


def geography_point(*, latitude: float, longitude: float) -> WKTElement:
    """A WGS 84 point for a `geography(POINT, 4326)` column (WKT puts longitude first)."""
    return WKTElement(f"POINT({longitude!r} {latitude!r})", srid=4326)


async def create(
    session: AsyncSession, *, owner_id: uuid.UUID, columns: Mapping[str, Any]
) -> Venue:
    """Insert a venue owned by `owner_id`; `columns` maps the other column names to values.

    The location is a `geography_point`; the database's check constraints are the last word.
    """
    venue = Venue(owner_id=owner_id, **columns)
    session.add(venue)
    await session.flush()
    return venue


async def update(
    session: AsyncSession, *, venue_id: uuid.UUID, changes: Mapping[str, Any]
) -> Venue | None:
    """Set `changes` (column name to value) on a live venue in one statement; None if none."""
    statement = (
        sql_update(Venue)
        .where(Venue.id == venue_id, Venue.deleted_at.is_(None))
        .values(**changes)
        .returning(Venue)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()
