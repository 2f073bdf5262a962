"""The `Venue` GraphQL type."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry
from strawberry.scalars import JSON

import models
from graph.core.child_connection import child_connection
from graph.core.context import Context
from graph.core.geo import (
    GeoJSON,
    geojson_point,
    point_coordinates,
    point_latitude,
    point_longitude,
)
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.read_model import (
    Children,
    ToOne,
    column_field,
    computed_field,
    read_model,
    read_values,
)
from graph.entities.audit.history import history_field
from graph.entities.booking.inputs import (
    BOOKING_ORDERINGS,
    BookingFilter,
    BookingOrder,
    booking_conditions,
)
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaFilter, MediaOrder, media_conditions

if TYPE_CHECKING:
    from graph.entities.booking.type import Booking
    from graph.entities.media.type import Media
    from graph.entities.user.type import User

BookingType = Annotated["Booking", strawberry.lazy("graph.entities.booking.type")]
MediaType = Annotated["Media", strawberry.lazy("graph.entities.media.type")]
UserType = Annotated["User", strawberry.lazy("graph.entities.user.type")]


# The root lists' orderings, defaults and filters: a child page continues there by `venueId`.
VENUE_BOOKINGS = Children(
    models.Booking.venue_id,
    orderings=BOOKING_ORDERINGS,
    default_order=BookingOrder.STARTS_AT_ASC,
    filter=BookingFilter,
    conditions=booking_conditions,
)
VENUE_MEDIA = Children(
    models.Media.venue_id,
    orderings=MEDIA_ORDERINGS,
    default_order=MediaOrder.CREATED_AT_ASC,
    filter=MediaFilter,
    conditions=media_conditions,
)


def _latitude(row: models.Venue) -> float:
    return point_coordinates(row.location)[1]


def _longitude(row: models.Venue) -> float:
    return point_coordinates(row.location)[0]


@read_model(
    models.Venue,
    to_one={"owner": ToOne(models.Venue.owner_id)},
    children={"bookings": VENUE_BOOKINGS, "media": VENUE_MEDIA},
)
@strawberry.type(description="A place a host offers by the hour.")
class Venue(Node):
    """A bookable venue."""

    row: strawberry.Private[models.Venue]
    name: str = column_field(models.Venue.name, description="The venue's name.")
    description: str = column_field(
        models.Venue.description, description="What the venue is like, in the host's words."
    )
    address: str = column_field(models.Venue.address, description="Street address.")
    city: str = column_field(models.Venue.city, description="City.")
    country: str = column_field(
        models.Venue.country, description="ISO 3166-1 alpha-2 country code, e.g. `FR`."
    )
    latitude: float = computed_field(
        value=_latitude,
        sql=lambda venues: point_latitude(venues.c.location),
        description="Latitude in degrees (WGS 84).",
    )
    longitude: float = computed_field(
        value=_longitude,
        sql=lambda venues: point_longitude(venues.c.location),
        description="Longitude in degrees (WGS 84).",
    )
    location: GeoJSON = column_field(
        models.Venue.location,
        convert=geojson_point,
        description='Where the venue is, as a GeoJSON Point: `{"type": "Point", "coordinates":'
        " [longitude, latitude]}` (WGS 84).",
    )
    amenities: JSON = column_field(
        models.Venue.amenities,
        description='Amenities: an object whose keys are amenity names, e.g. `{"wifi": true}`.',
    )
    hourly_rate: Decimal = column_field(
        models.Venue.hourly_rate, description="Price of one hour, in `currency`."
    )
    currency: str = column_field(
        models.Venue.currency, description="ISO 4217 currency code, e.g. `EUR`."
    )
    created_at: dt.datetime = column_field(
        models.Venue.created_at, description="When the venue was listed."
    )
    deleted_at: dt.datetime | None = column_field(
        models.Venue.deleted_at,
        description="When the venue was deleted; null while live (admins list deleted ones).",
    )

    history = history_field("the venue's owner")

    @classmethod
    def from_model(cls, row: models.Venue) -> Self:
        """Map a `venues` row, as its fields declare."""
        return cls(row=row, **read_values(cls, row))

    @strawberry.field(description="The host who owns the venue.")
    async def owner(self, info: strawberry.Info[Context]) -> UserType | None:
        """Load the owner through the request's user loader."""
        row = await info.context.loaders.user.load(self.row.owner_id)
        return cast("User", to_node(row)) if row else None

    bookings = child_connection(
        VENUE_BOOKINGS,
        BookingType,
        pages=lambda loaders: loaders.venue_bookings,
        counts=lambda loaders: loaders.venue_bookings_count,
        description="The venue's bookings the viewer may see, earliest start first unless "
        "`orderBy` says otherwise.",
        filter_description="Only bookings matching all of this.",
        order_description="Sort order; earliest start first when not given.",
    )
    media = child_connection(
        VENUE_MEDIA,
        MediaType,
        pages=lambda loaders: loaders.venue_media,
        counts=lambda loaders: loaders.venue_media_count,
        description="Photos and videos of the venue the viewer may see, oldest first unless "
        "`orderBy` says otherwise.",
        filter_description="Only media matching all of this.",
        order_description="Sort order; oldest upload first when not given. `RELEVANCE` and "
        "`DISTANCE` need `search` and `near`, which only the root `media` list takes.",
    )
