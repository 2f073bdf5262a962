"""Venues: bookable places, each at a point on earth."""

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from geoalchemy2 import Geography, WKBElement
from sqlalchemy import CheckConstraint, Computed, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import TSVECTOR
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
        Index("ix_venues_owner_id_live", "owner_id", postgresql_where=text("deleted_at IS NULL")),
        Index("ix_venues_city_live", "city", postgresql_where=text("deleted_at IS NULL")),
        Index("ix_venues_location", "location", postgresql_using="gist"),
        Index("ix_venues_search", "search", postgresql_using="gin"),
        Index(
            "ix_venues_amenities",
            "amenities",
            postgresql_using="gin",
            postgresql_ops={"amenities": "jsonb_path_ops"},
        ),
    )
