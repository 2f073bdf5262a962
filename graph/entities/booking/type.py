"""The `Booking` GraphQL type."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self, cast

import strawberry

import models
from graph.core.context import Context
from graph.core.enums import BookingStatus
from graph.core.global_id import encode_global_id
from graph.core.node import Node
from graph.core.node_lookup import to_node
from graph.entities.audit.history import history_field
from graph.entities.user.type import User

if TYPE_CHECKING:
    from graph.entities.venue.type import Venue

# The venue's lists name bookings, so the venue is referenced lazily.
VenueType = Annotated["Venue", strawberry.lazy("graph.entities.venue.type")]


@strawberry.type(description="A user holding a venue for a span of time.")
class Booking(Node):
    """One booking of one venue."""

    row: strawberry.Private[models.Booking]
    starts_at: dt.datetime = strawberry.field(description="Start of the booking (inclusive).")
    ends_at: dt.datetime = strawberry.field(description="End of the booking (exclusive).")
    status: BookingStatus = strawberry.field(description="Where the booking is in its life.")
    amount: Decimal = strawberry.field(description="Price of the booking, in `currency`.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    notes: str | None = strawberry.field(description="The guest's notes for the host.")
    created_at: dt.datetime = strawberry.field(description="When the booking was made.")
    deleted_at: dt.datetime | None = strawberry.field(
        description="When the booking was deleted; null while live (admins list deleted ones)."
    )

    history = history_field("the guest, the venue's host")

    @classmethod
    def from_model(cls, row: models.Booking) -> Self:
        """Map a `bookings` row."""
        return cls(
            row=row,
            id=strawberry.ID(encode_global_id("Booking", row.id)),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=BookingStatus(row.status),
            amount=row.amount,
            currency=row.currency,
            notes=row.notes,
            created_at=row.created_at,
            deleted_at=row.deleted_at,
        )

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
