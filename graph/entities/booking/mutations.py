"""Booking mutations: book a venue, then move the booking through its life.

The life of a booking is a state machine; each transition is one atomic `UPDATE` that only
matches a row still in a status the transition starts from:

    PENDING --confirm--> CONFIRMED --complete--> COMPLETED
    PENDING | CONFIRMED --cancel--> CANCELLED

Bookings last from 30 minutes to 14 days and start now or later.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import models
from graph.core.context import Context
from graph.core.enums import BookingStatus
from graph.core.errors import (
    BadUserInputError,
    BookingConflictError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
    violated_constraint,
)
from graph.core.global_id import decode_typed_id
from graph.core.permissions import guest_may_move_booking_to, may_change_booking
from graph.core.validation import checked_text
from graph.entities.booking.type import Booking
from models import booking as booking_data

MIN_DURATION = dt.timedelta(minutes=30)
MAX_DURATION = dt.timedelta(days=14)
MAX_NOTES_LENGTH = 2_000
NO_OVERLAP_CONSTRAINT = "ex_bookings_venue_no_overlap"


@strawberry.input(description="A venue to book, and when.")
class CreateBookingInput:
    """What `createBooking` needs."""

    venue_id: strawberry.ID = strawberry.field(description="The venue's global ID.")
    starts_at: dt.datetime = strawberry.field(
        description="Start (inclusive), with a time zone offset; not in the past."
    )
    ends_at: dt.datetime = strawberry.field(
        description="End (exclusive), with a time zone offset; 30 minutes to 14 days after start."
    )
    notes: str | None = strawberry.field(
        default=None, description="Notes for the host, up to 2,000 characters."
    )


@strawberry.type(description="The result of `createBooking`.")
class CreateBookingPayload:
    """The new booking."""

    booking: Booking = strawberry.field(
        description="The new booking: PENDING, priced at the venue's hourly rate."
    )


@strawberry.input(description="The PENDING booking to confirm.")
class ConfirmBookingInput:
    """Which booking."""

    id: strawberry.ID = strawberry.field(description="The booking's global ID.")


@strawberry.input(description="The PENDING or CONFIRMED booking to cancel.")
class CancelBookingInput:
    """Which booking."""

    id: strawberry.ID = strawberry.field(description="The booking's global ID.")


@strawberry.input(description="The CONFIRMED booking that took place.")
class CompleteBookingInput:
    """Which booking."""

    id: strawberry.ID = strawberry.field(description="The booking's global ID.")


@strawberry.type(description="The result of `confirmBooking`.")
class ConfirmBookingPayload:
    """The confirmed booking."""

    booking: Booking = strawberry.field(description="The booking, now CONFIRMED.")


@strawberry.type(description="The result of `cancelBooking`.")
class CancelBookingPayload:
    """The cancelled booking."""

    booking: Booking = strawberry.field(description="The booking, now CANCELLED.")


@strawberry.type(description="The result of `completeBooking`.")
class CompleteBookingPayload:
    """The completed booking."""

    booking: Booking = strawberry.field(description="The booking, now COMPLETED.")


CreateBookingArgument = Annotated[
    CreateBookingInput, strawberry.argument(description="The venue and the time to book.")
]
ConfirmBookingArgument = Annotated[
    ConfirmBookingInput, strawberry.argument(description="The booking to confirm.")
]
CancelBookingArgument = Annotated[
    CancelBookingInput, strawberry.argument(description="The booking to cancel.")
]
CompleteBookingArgument = Annotated[
    CompleteBookingInput, strawberry.argument(description="The booking to complete.")
]


def _checked_time(value: dt.datetime, *, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        message = f"`{field}` needs a time zone offset, e.g. `2031-05-01T09:00:00Z`."
        raise BadUserInputError(message, field=field)
    return value


def _checked_slot(data: CreateBookingInput) -> tuple[dt.datetime, dt.datetime]:
    starts_at = _checked_time(data.starts_at, field="input.startsAt")
    ends_at = _checked_time(data.ends_at, field="input.endsAt")
    if starts_at < dt.datetime.now(dt.UTC):
        message = "`input.startsAt` is in the past."
        raise BadUserInputError(message, field="input.startsAt")
    if ends_at <= starts_at:
        message = "`input.endsAt` must be after `input.startsAt`."
        raise BadUserInputError(message, field="input.endsAt")
    if not MIN_DURATION <= ends_at - starts_at <= MAX_DURATION:
        message = "A booking lasts from 30 minutes to 14 days."
        raise BadUserInputError(message, field="input.endsAt")
    return starts_at, ends_at


def _checked_notes(notes: str | None) -> str | None:
    if notes is None:
        return None
    return (
        checked_text(notes, field="input.notes", max_length=MAX_NOTES_LENGTH, blank_ok=True) or None
    )


@dataclass(frozen=True, slots=True)
class _Transition:
    """One edge set of the state machine (who may take it: `may_change_booking`)."""

    verb: str
    to: models.BookingStatus
    allowed_from: tuple[models.BookingStatus, ...]


CONFIRM = _Transition("confirm", models.BookingStatus.CONFIRMED, (models.BookingStatus.PENDING,))
CANCEL = _Transition(
    "cancel",
    models.BookingStatus.CANCELLED,
    (models.BookingStatus.PENDING, models.BookingStatus.CONFIRMED),
)
COMPLETE = _Transition(
    "complete", models.BookingStatus.COMPLETED, (models.BookingStatus.CONFIRMED,)
)


def _status_name(status: str) -> str:
    """The GraphQL enum name clients see for a stored status."""
    return BookingStatus(status).name


async def _venue_owner(info: strawberry.Info[Context], venue_id: uuid.UUID) -> uuid.UUID | None:
    statement = (
        select(models.Venue.owner_id)
        .where(models.Venue.id == venue_id)
        .execution_options(include_deleted=True)
    )
    owner_id: uuid.UUID | None = (await info.context.db.execute(statement)).scalar_one_or_none()
    return owner_id


async def _apply(
    info: strawberry.Info[Context], global_id: str, transition: _Transition
) -> models.Booking:
    """Check the viewer may take `transition` on the booking, then take it atomically."""
    viewer = info.context.require_viewer()
    booking_id = decode_typed_id(global_id, "Booking", field="input.id")
    booking = await info.context.loaders.booking.load(booking_id)
    if booking is None:
        message = "No booking has this ID."
        raise NotFoundError(message, field="input.id")
    allowed = await may_change_booking(
        viewer,
        booking,
        to=transition.to,
        venue_owner=lambda venue_id: _venue_owner(info, venue_id),
    )
    if not allowed:
        who = "its guest, " if guest_may_move_booking_to(transition.to) else ""
        message = f"Only {who}the venue's host or an admin may {transition.verb} this booking."
        raise ForbiddenError(message)
    try:
        changed = await info.context.db.write(
            info.context.actor,
            lambda session: booking_data.transition(
                session,
                booking_id=booking_id,
                to=transition.to,
                allowed_from=transition.allowed_from,
            ),
        )
    except booking_data.TransitionRefusedError as refused:
        if refused.current_status is None:  # deleted since it was read
            message = "No booking has this ID."
            raise NotFoundError(message, field="input.id") from None
        current = _status_name(refused.current_status)
        starts = " or ".join(status.name for status in transition.allowed_from)
        message = f"The booking is {current}; only a {starts} booking can be {transition.to.value}."
        raise InvalidTransitionError(message, currentStatus=current) from None
    info.context.loaders.booking.clear(booking_id).prime(booking_id, changed)
    info.context.loaders.venue_bookings.clear_all()
    return changed


@strawberry.type
class BookingMutations:
    """Mutations of bookings."""

    @strawberry.mutation(
        description=(
            "Book a venue for a span of time. Any signed-in user. Fails with `BOOKING_CONFLICT`"
            " when the span overlaps a PENDING or CONFIRMED booking of the venue."
        )
    )
    async def create_booking(
        self,
        info: strawberry.Info[Context],
        input: CreateBookingArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> CreateBookingPayload:
        """Validate the slot, then insert the booking; the exclusion constraint arbitrates."""
        viewer = info.context.require_viewer()
        venue_id = decode_typed_id(input.venue_id, "Venue", field="input.venueId")
        starts_at, ends_at = _checked_slot(input)
        notes = _checked_notes(input.notes)
        if await info.context.loaders.venue.load(venue_id) is None:
            message = "No venue has this ID."
            raise NotFoundError(message, field="input.venueId")
        try:
            booking = await info.context.db.write(
                info.context.actor,
                lambda session: booking_data.create(
                    session,
                    user_id=viewer.user_id,
                    venue_id=venue_id,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    notes=notes,
                ),
            )
        except IntegrityError as error:
            if violated_constraint(error) != NO_OVERLAP_CONSTRAINT:
                raise
            message = "The venue is already booked for part of this time."
            raise BookingConflictError(message) from None
        if booking is None:  # the venue was deleted since it was read
            message = "No venue has this ID."
            raise NotFoundError(message, field="input.venueId")
        info.context.loaders.booking.clear(booking.id).prime(booking.id, booking)
        info.context.loaders.venue_bookings.clear_all()
        return CreateBookingPayload(booking=Booking.from_model(booking))

    @strawberry.mutation(
        description=(
            "Confirm a PENDING booking. The venue's host or an admin. Anything but PENDING"
            " fails with `INVALID_TRANSITION` naming the current status."
        )
    )
    async def confirm_booking(
        self,
        info: strawberry.Info[Context],
        input: ConfirmBookingArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> ConfirmBookingPayload:
        """PENDING to CONFIRMED."""
        return ConfirmBookingPayload(
            booking=Booking.from_model(await _apply(info, input.id, CONFIRM))
        )

    @strawberry.mutation(
        description=(
            "Cancel a PENDING or CONFIRMED booking, freeing its slot. Its guest, the venue's"
            " host or an admin. Otherwise fails with `INVALID_TRANSITION`."
        )
    )
    async def cancel_booking(
        self,
        info: strawberry.Info[Context],
        input: CancelBookingArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> CancelBookingPayload:
        """PENDING or CONFIRMED to CANCELLED."""
        return CancelBookingPayload(
            booking=Booking.from_model(await _apply(info, input.id, CANCEL))
        )

    @strawberry.mutation(
        description=(
            "Mark a CONFIRMED booking as having taken place. The venue's host or an admin."
            " Anything but CONFIRMED fails with `INVALID_TRANSITION`."
        )
    )
    async def complete_booking(
        self,
        info: strawberry.Info[Context],
        input: CompleteBookingArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> CompleteBookingPayload:
        """CONFIRMED to COMPLETED."""
        return CompleteBookingPayload(
            booking=Booking.from_model(await _apply(info, input.id, COMPLETE))
        )
