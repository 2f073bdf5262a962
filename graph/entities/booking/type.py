"""The `Booking` GraphQL type."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry

import models
from graph.core.context import Context
from graph.core.enums import BookingStatus
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.core.permissions import visible_bookings
from graph.core.read_model import ToOne, column_field, read_model, read_values
from graph.entities.audit.history import history_field
from graph.entities.user.type import User

if TYPE_CHECKING:
    from graph.entities.venue.type import Venue

# The venue's lists name bookings, so the venue is referenced lazily.
VenueType = Annotated["Venue", strawberry.lazy("graph.entities.venue.type")]


@read_model(
    models.Booking,
    to_one={"user": ToOne(models.Booking.user_id), "venue": ToOne(models.Booking.venue_id)},
    visible=visible_bookings,
)
@strawberry.type(description="A user holding a venue for a span of time.")
class Booking(Node):
    """One booking of one venue."""

    row: strawberry.Private[models.Booking]
    starts_at: dt.datetime = column_field(
        models.Booking.starts_at, description="Start of the booking (inclusive)."
    )
    ends_at: dt.datetime = column_field(
        models.Booking.ends_at, description="End of the booking (exclusive)."
    )
    status: BookingStatus = column_field(
        models.Booking.status, description="Where the booking is in its life."
    )
    amount: Decimal = column_field(
        models.Booking.amount, description="Price of the booking, in `currency`."
    )
    currency: str = column_field(models.Booking.currency, description="ISO 4217 currency code.")
    notes: str | None = column_field(
        models.Booking.notes, description="The guest's notes for the host."
    )
    created_at: dt.datetime = column_field(
        models.Booking.created_at, description="When the booking was made."
    )
    deleted_at: dt.datetime | None = column_field(
        models.Booking.deleted_at,
        description="When the booking was deleted; null while live (admins list deleted ones).",
    )

    history = history_field("the guest, the venue's host")

    @classmethod
    def from_model(cls, row: models.Booking) -> Self:
        """Map a `bookings` row, as its fields declare."""
        return cls(row=row, **read_values(cls, row))

    @strawberry.field(description="Who made the booking.")
    async def user(self, info: strawberry.Info[Context]) -> User | None:
        """Load the guest; whoever may see the booking may see the guest's email."""
        row = await info.context.loaders.user.load(self.row.user_id)
        return User.from_model(row, through_visible_booking=True) if row else None

    @strawberry.field(description="The venue booked.")
    async def venue(self, info: strawberry.Info[Context]) -> VenueType | None:
        """Load the venue through the request's venue loader."""
        row = await info.context.loaders.venue.load(self.row.venue_id)
        return cast("Venue", to_node(row)) if row else None
