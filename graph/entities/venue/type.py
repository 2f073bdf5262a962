"""The `Venue` GraphQL type."""

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self, TypeVar, cast

import strawberry
from geoalchemy2.shape import to_shape
from strawberry.scalars import JSON

import models
from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.geo import GeoJSON, geojson_point
from graph.core.global_id import encode_global_id
from graph.core.loaders import ChildCountLoader, FirstChildrenLoader, PageKey
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.pagination import Ordering
from graph.core.paging import checked_page_size
from graph.entities.audit.history import history_field
from graph.entities.booking.inputs import BOOKING_ORDERINGS, BookingOrder
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaOrder

if TYPE_CHECKING:
    from graph.entities.booking.type import Booking
    from graph.entities.media.type import Media
    from graph.entities.user.type import User

BookingType = Annotated["Booking", strawberry.lazy("graph.entities.booking.type")]
MediaType = Annotated["Media", strawberry.lazy("graph.entities.media.type")]
UserType = Annotated["User", strawberry.lazy("graph.entities.user.type")]


NodeT = TypeVar("NodeT")


async def _first_children(  # noqa: PLR0913 - the two loaders, the parent and the page's shape
    pages: FirstChildrenLoader,
    counts: ChildCountLoader,
    venue_id: uuid.UUID,
    first: int,
    *,
    ordering: Ordering,
    node: Callable[[Any], NodeT],
) -> Connection[NodeT]:
    """The first `first` children of a venue through the request's loaders, as a connection."""
    page = await pages.load(PageKey(venue_id, checked_page_size(first)))
    edges = [Edge(cursor=ordering.cursor_of(row), node=node(row)) for row in page.rows]
    return page_of(
        edges, has_next_page=page.has_next_page, total_count=lambda: counts.load(venue_id)
    )


@strawberry.type(description="A place a host offers by the hour.")
class Venue(Node):
    """A bookable venue."""

    row: strawberry.Private[models.Venue]
    name: str = strawberry.field(description="The venue's name.")
    description: str = strawberry.field(description="What the venue is like, in the host's words.")
    address: str = strawberry.field(description="Street address.")
    city: str = strawberry.field(description="City.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code, e.g. `FR`.")
    latitude: float = strawberry.field(description="Latitude in degrees (WGS 84).")
    longitude: float = strawberry.field(description="Longitude in degrees (WGS 84).")
    location: GeoJSON = strawberry.field(
        description='Where the venue is, as a GeoJSON Point: `{"type": "Point", "coordinates":'
        " [longitude, latitude]}` (WGS 84)."
    )
    amenities: JSON = strawberry.field(
        description='Amenities: an object whose keys are amenity names, e.g. `{"wifi": true}`.'
    )
    hourly_rate: Decimal = strawberry.field(description="Price of one hour, in `currency`.")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. `EUR`.")
    created_at: dt.datetime = strawberry.field(description="When the venue was listed.")
    deleted_at: dt.datetime | None = strawberry.field(
        description="When the venue was deleted; null while live (admins list deleted ones)."
    )

    history = history_field("the venue's owner")

    @classmethod
    def from_model(cls, row: models.Venue) -> Self:
        """Map a `venues` row."""
        point = to_shape(row.location)
        return cls(
            row=row,
            id=strawberry.ID(encode_global_id("Venue", row.id)),
            name=row.name,
            description=row.description,
            address=row.address,
            city=row.city,
            country=row.country,
            latitude=point.y,
            longitude=point.x,
            location=geojson_point(row.location),
            amenities=JSON(row.amenities),
            hourly_rate=row.hourly_rate,
            currency=row.currency,
            created_at=row.created_at,
            deleted_at=row.deleted_at,
        )

    @strawberry.field(description="The host who owns the venue.")
    async def owner(self, info: strawberry.Info[Context]) -> UserType | None:
        """Load the owner through the request's user loader."""
        row = await info.context.loaders.user.load(self.row.owner_id)
        return cast("User", to_node(row)) if row else None

    @strawberry.field(description="The venue's bookings, earliest start first.")
    async def bookings(
        self,
        info: strawberry.Info[Context],
        first: Annotated[int, strawberry.argument(description="How many bookings, 0 to 100.")] = 10,
    ) -> Connection[BookingType]:
        """Page through the venue's live bookings."""
        # Cursors of the root `bookings` list's default order: continue there by `venueId`.
        return await _first_children(
            info.context.loaders.venue_bookings,
            info.context.loaders.venue_bookings_count,
            self.row.id,
            first,
            ordering=BOOKING_ORDERINGS[BookingOrder.STARTS_AT_ASC],
            node=lambda row: cast("Booking", to_node(row)),
        )

    @strawberry.field(description="Photos and videos of the venue, oldest first.")
    async def media(
        self,
        info: strawberry.Info[Context],
        first: Annotated[int, strawberry.argument(description="How many items, 0 to 100.")] = 10,
    ) -> Connection[MediaType]:
        """Page through the venue's live media."""
        # Cursors of the root `media` list's default order: continue there by `venueId`.
        return await _first_children(
            info.context.loaders.venue_media,
            info.context.loaders.venue_media_count,
            self.row.id,
            first,
            ordering=MEDIA_ORDERINGS[MediaOrder.CREATED_AT_ASC],
            node=lambda row: cast("Media", to_node(row)),
        )
