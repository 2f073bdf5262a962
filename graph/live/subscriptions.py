"""The root `Subscription`: live availability, booking changes and session revocation.

Every event is read again with the subscriber's own viewer, through the loaders and rules the
queries use (graph/core/permissions.py), in a short database session of its own
(graph/live/context.py): a subscription never shows what a query would hide.
"""

import asyncio
import datetime as dt
import enum
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

import strawberry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models
from graph.core.errors import BadUserInputError, NotFoundError
from graph.core.global_id import decode_typed_id, encode_global_id
from graph.core.permissions import booking_visible_by_ids
from graph.entities.booking.type import Booking
from graph.live.context import ConnectionContext, NoEventReadError
from graph.live.events import BookingEvent, Event, Resync, SessionRevoked

# How long a new subscription waits for the worker's listener before reading its first state;
# events of that wait are not lost: the listener's first connection is followed by none, and
# a late one by a resync.
LISTENER_READY_SECONDS = 5.0


def _live_context(info: strawberry.Info) -> ConnectionContext:
    context = info.context
    if not isinstance(context, ConnectionContext):
        message = "Subscriptions run over the graphql-transport-ws websocket on /graphql."
        raise NoEventReadError(message)
    return context


@strawberry.enum(description="Why an availability state was sent.")
class AvailabilityReason(enum.Enum):
    """The cause of a `VenueAvailability` message."""

    INITIAL = strawberry.enum_value("initial", description="The state when subscribing.")
    BOOKING_CHANGED = strawberry.enum_value(
        "booking_changed",
        description="A booking in the window was created, changed status, moved or deleted.",
    )
    RESYNC = strawberry.enum_value(
        "resync",
        description=(
            "The server may have missed changes (it reconnected to the database): this is the "
            "current state, replacing whatever the client holds."
        ),
    )


@strawberry.type(description="A span of time during which a venue is taken.")
class BusyInterval:
    """One pending or confirmed booking's span, without anything about its guest."""

    starts_at: dt.datetime = strawberry.field(description="Start of the span (inclusive).")
    ends_at: dt.datetime = strawberry.field(description="End of the span (exclusive).")


@strawberry.type(description="Which parts of a time window a venue is taken: the whole state.")
class VenueAvailability:
    """A venue's busy intervals within the window subscribed to; public."""

    venue_id: strawberry.ID = strawberry.field(description="The venue's global ID.")
    window_start: dt.datetime = strawberry.field(description="Start of the window watched.")
    window_end: dt.datetime = strawberry.field(description="End of the window watched.")
    busy: list[BusyInterval] = strawberry.field(
        description=(
            "Every pending or confirmed booking overlapping the window, earliest first, with "
            "its full span (it may start before or end after the window). Free time is the "
            "rest of the window."
        )
    )
    reason: AvailabilityReason = strawberry.field(description="Why this state was sent.")


@strawberry.enum(description="What happened to a booking.")
class BookingChangeKind(enum.Enum):
    """The kinds of `BookingChange`; the names are part of the client contract."""

    CREATED = strawberry.enum_value("created", description="The booking was made.")
    PENDING = strawberry.enum_value("pending", description="It went back to pending.")
    CONFIRMED = strawberry.enum_value("confirmed", description="The host confirmed it.")
    CANCELLED = strawberry.enum_value("cancelled", description="It was cancelled.")
    COMPLETED = strawberry.enum_value("completed", description="It took place.")
    RESCHEDULED = strawberry.enum_value("rescheduled", description="Its time span moved.")
    DELETED = strawberry.enum_value(
        "deleted", description="It was deleted; `booking` is null, `bookingId` says which."
    )
    RESTORED = strawberry.enum_value("restored", description="A deleted booking came back.")
    RESYNC = strawberry.enum_value(
        "resync",
        description=(
            "Changes may have been missed (the server reconnected to the database, or this "
            "client fell behind): refetch the bookings shown. No `bookingId`."
        ),
    )


@strawberry.type(description="Something happened to a booking the viewer may see.")
class BookingChange:
    """One change, with the booking as the viewer may read it now."""

    kind: BookingChangeKind = strawberry.field(description="What happened.")
    booking_id: strawberry.ID | None = strawberry.field(
        description="The booking's global ID; null only for `RESYNC`."
    )
    booking: Booking | None = strawberry.field(
        description=(
            "The booking as it is now, read with the viewer's permissions (as the `node` query "
            "would answer); null when `DELETED` or `RESYNC`."
        )
    )


@strawberry.type(description="One of the viewer's login sessions was revoked.")
class SessionRevocation:
    """Sent when one of the signed-in user's sessions stops authenticating."""

    session_id: strawberry.ID = strawberry.field(description="The revoked session's global ID.")
    current: bool = strawberry.field(
        description=(
            "Whether it is the session of this connection: then the client should sign out; "
            "the server closes the connection with code 4440 right after this message."
        )
    )


def _window(starts_at: dt.datetime, ends_at: dt.datetime, max_days: int) -> None:
    for field, value in (("from", starts_at), ("to", ends_at)):
        if value.tzinfo is None:
            message = f"`{field}` needs a time zone offset, such as `Z` or `+02:00`."
            raise BadUserInputError(message, field=field)
    if ends_at <= starts_at:
        message = "`to` must be after `from`."
        raise BadUserInputError(message, field="to")
    if ends_at - starts_at > dt.timedelta(days=max_days):
        message = f"The window may span at most {max_days} days."
        raise BadUserInputError(message, field="to")


async def _availability(
    context: ConnectionContext, venue_id: uuid.UUID, starts_at: dt.datetime, ends_at: dt.datetime
) -> AsyncGenerator[VenueAvailability, None]:
    listener = context.require_listener()

    def accepts(event: Event) -> bool:
        return (
            isinstance(event, BookingEvent)
            and event.venue_id == venue_id
            and event.overlaps(starts_at, ends_at)
        )

    with listener.subscribe(accepts) as subscription:
        await listener.ready(LISTENER_READY_SECONDS)
        reason = AvailabilityReason.INITIAL
        while True:
            async with context.event_scope():
                if await context.loaders.venue.load(venue_id) is None:
                    return  # the venue was deleted: nothing left to watch
                intervals = await context.db.run(
                    lambda session: models.booking.busy_intervals(
                        session, venue_id=venue_id, window_start=starts_at, window_end=ends_at
                    )
                )
                yield VenueAvailability(
                    venue_id=strawberry.ID(encode_global_id("Venue", venue_id)),
                    window_start=starts_at,
                    window_end=ends_at,
                    busy=[BusyInterval(starts_at=start, ends_at=end) for start, end in intervals],
                    reason=reason,
                )
            events = [await subscription.next(), *subscription.drain()]
            resync = any(isinstance(event, Resync) for event in events)
            reason = AvailabilityReason.RESYNC if resync else AvailabilityReason.BOOKING_CHANGED


# The trigger's kind for a deleted booking (its row may be gone: checked without a read of it).
DELETED = "deleted"


async def _may_see_gone(context: ConnectionContext, event: BookingEvent) -> bool:
    """Whether the viewer may see a booking by its guest and venue, as `visible_bookings`."""
    condition = booking_visible_by_ids(
        context.viewer, user_id=event.user_id, venue_id=event.venue_id
    )

    async def read(session: AsyncSession) -> bool:
        return bool(await session.scalar(select(condition)))

    return await context.db.run(read)


async def _booking_changes(context: ConnectionContext) -> AsyncGenerator[BookingChange, None]:
    viewer = context.require_viewer()
    listener = context.require_listener()

    def accepts(event: Event) -> bool:
        # Members see only their own: the rest is never read. Hosts' venues are read per event.
        return isinstance(event, BookingEvent) and (
            viewer.is_host or event.user_id == viewer.user_id
        )

    with listener.subscribe(accepts) as subscription:
        await listener.ready(LISTENER_READY_SECONDS)
        while True:
            event = await subscription.next()
            if isinstance(event, Resync):
                yield BookingChange(kind=BookingChangeKind.RESYNC, booking_id=None, booking=None)
                continue
            if not isinstance(event, BookingEvent):
                continue
            booking_id = strawberry.ID(encode_global_id("Booking", event.booking_id))
            async with context.event_scope():
                if event.kind == DELETED:
                    if await _may_see_gone(context, event):
                        yield BookingChange(
                            kind=BookingChangeKind.DELETED, booking_id=booking_id, booking=None
                        )
                    continue
                row = await context.loaders.booking.load(event.booking_id)
                if row is None:
                    continue  # not the viewer's to see (or deleted since)
                try:
                    kind = BookingChangeKind(event.kind)
                except ValueError:
                    continue  # a kind of a newer trigger: nothing this version can say
                yield BookingChange(
                    kind=kind, booking_id=booking_id, booking=Booking.from_model(row)
                )


async def _session_revocations(
    context: ConnectionContext,
) -> AsyncGenerator[SessionRevocation, None]:
    viewer = context.require_viewer()
    listener = context.require_listener()

    def accepts(event: Event) -> bool:
        return isinstance(event, SessionRevoked) and event.user_id == viewer.user_id

    if context.revocation_delivered is None:
        context.revocation_delivered = asyncio.Event()
    delivered = context.revocation_delivered
    context.revocation_watchers += 1
    try:
        with listener.subscribe(accepts) as subscription:
            await listener.ready(LISTENER_READY_SECONDS)
            while True:
                event = await subscription.next()
                if not isinstance(event, SessionRevoked):
                    continue  # a resync: the connection itself re-checks its session
                current = event.session_id == viewer.session_id
                yield SessionRevocation(
                    session_id=strawberry.ID(encode_global_id("LoginSession", event.session_id)),
                    current=current,
                )
                if current:
                    delivered.set()
                    return
    finally:
        context.revocation_watchers -= 1


@strawberry.type(
    description=(
        "Live updates, over the graphql-transport-ws protocol on the /graphql websocket "
        "(graphql-ws, Apollo Client's GraphQLWsLink, urql). Sign in by sending "
        '`{"Authorization": "Bearer <token>"}` as `connection_init`\'s payload.'
    )
)
class Subscription:
    """The root subscription type."""

    @strawberry.subscription(
        description=(
            "The busy intervals of a venue within `[from, to)`: sent at once, then again "
            "whenever a booking in that window is made, confirmed, cancelled, completed, moved "
            "or deleted, and after the server reconnects to the database (`reason` says which). "
            "Each message is the whole state. Public: no guest data. Ends when the venue is "
            "deleted. The window spans at most 93 days (a server setting)."
        )
    )
    async def venue_availability(
        self,
        info: strawberry.Info,
        venue_id: Annotated[
            strawberry.ID, strawberry.argument(description="The venue's global ID.")
        ],
        window_start: Annotated[
            dt.datetime,
            strawberry.argument(name="from", description="Start of the window (with a time zone)."),
        ],
        window_end: Annotated[
            dt.datetime,
            strawberry.argument(
                name="to", description="End of the window, exclusive (with a time zone)."
            ),
        ],
    ) -> AsyncIterator[VenueAvailability]:
        """Check the arguments and the venue now, then stream its availability."""
        context = _live_context(info)
        venue = decode_typed_id(venue_id, "Venue", field="venueId")
        _window(window_start, window_end, context.max_window_days)
        async with context.event_scope():
            if await context.loaders.venue.load(venue) is None:
                message = "No venue has this ID."
                raise NotFoundError(message)
        return _availability(context, venue, window_start, window_end)

    @strawberry.subscription(
        description=(
            "Changes to the bookings the viewer may see (a member's own, a host's venues' too, "
            "every booking for an admin), each with the booking as the viewer may read it now. "
            "A `RESYNC` message means changes may have been missed: refetch. Requires signing in."
        )
    )
    async def booking_changes(self, info: strawberry.Info) -> AsyncIterator[BookingChange]:
        """Refuse anonymous viewers now, then stream the changes."""
        context = _live_context(info)
        context.require_viewer()
        return _booking_changes(context)

    @strawberry.subscription(
        description=(
            "The signed-in user's login sessions being revoked (signed out elsewhere, or by an "
            "admin). When the connection's own session is revoked, one message with "
            "`current: true` is sent and the server closes the connection with code 4440. "
            "Requires signing in."
        )
    )
    async def session_revoked(self, info: strawberry.Info) -> AsyncIterator[SessionRevocation]:
        """Refuse anonymous viewers now, then stream the revocations."""
        context = _live_context(info)
        context.require_viewer()
        return _session_revocations(context)
