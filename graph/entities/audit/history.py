"""`history` on every audited type, and audit events by global ID.

Who may read an object's history is `graph.core.permissions.may_read_history`.
A signed-in viewer it refuses gets `FORBIDDEN` on the field, and a signed-out request
`UNAUTHENTICATED`: an error, not an empty list, so "no changes yet" is never a lie.
"""

import datetime as dt
import functools
import uuid
from typing import Annotated, Any, Protocol

import strawberry

import models
from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.errors import BadUserInputError, ForbiddenError
from graph.core.loaders import HISTORY_ORDERING, HistoryKey
from graph.core.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Window, checked_page_size
from graph.core.permissions import may_read_audit_events, may_read_history
from graph.core.read_model import READ, HistoryRead
from graph.entities.audit.type import AuditEvent

# A history cursor holds the `seq` of the event a page ended on (a bigint).
_MAX_SEQ = 2**63 - 1

AuditedRow = models.User | models.Venue | models.Booking | models.Media


class Audited(Protocol):
    """A GraphQL object mapped from a row of an audited table."""

    @property
    def row(self) -> AuditedRow:
        """The mapped row."""
        ...


async def _live_venue_owner(context: Context, venue_id: uuid.UUID) -> uuid.UUID | None:
    """The owner of a live venue, through the request's venue loader."""
    venue = await context.loaders.venue.load(venue_id)
    return venue.owner_id if venue is not None else None


def encode_history_cursor(event: models.AuditLog) -> str:
    """The cursor of an event in a history list."""
    return HISTORY_ORDERING.cursor_of(event)


def decode_history_cursor(cursor: str, *, field: str) -> int:
    """The `seq` an `encode_history_cursor` cursor holds; `BAD_USER_INPUT` otherwise."""
    (seq,) = HISTORY_ORDERING.decode(cursor, field=field)
    if not 0 <= seq <= _MAX_SEQ:
        message = f"`{field}` is not a valid cursor for this list."
        raise BadUserInputError(message, field=field)
    return int(seq)


def history_window(first: int, after: str | None) -> Window:
    """The page `history(first:, after:)` asks for; `BAD_USER_INPUT` as the field reports it.

    The compiled path checks the arguments here too (see `HistoryRead`).
    """
    page_size = checked_page_size(first)
    after_key = decode_history_cursor(after, field="after") if after is not None else None
    return Window(size=page_size, after=None if after_key is None else (after_key,))


async def history(
    root: Audited,
    info: strawberry.Info[Context],
    first: Annotated[
        int, strawberry.argument(description=f"How many events, 0 to {MAX_PAGE_SIZE}.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None,
        strawberry.argument(description="Continue after this cursor (an edge's `cursor`)."),
    ] = None,
) -> Connection[AuditEvent]:
    """Page through the object's audit events, the last committed first.

    The cursor is the last event's sequence number, so events recorded between two requests
    never make a page repeat or skip one.
    """
    context = info.context
    viewer = context.require_viewer()
    window = history_window(first, after)
    row = root.row
    venue_owner = functools.partial(_live_venue_owner, context)
    if not await may_read_history(viewer, row, venue_owner=venue_owner):
        message = "You may not see this object's history."
        raise ForbiddenError(message)
    page = await context.loaders.history.load(
        HistoryKey(
            str(row.__tablename__),
            row.id,
            window.size,
            window.after[0] if window.after is not None else None,
        )
    )
    edges = [
        Edge(
            cursor=encode_history_cursor(event),
            node=AuditEvent.from_model(event, viewer=viewer),
        )
        for event in page.rows
    ]

    async def total_count() -> int:
        return page.total_count  # counted by the page's own statement

    return page_of(
        edges,
        has_next_page=page.has_next_page,
        has_previous_page=after is not None,
        total_count=total_count,
    )


def history_field(readers: str) -> Any:  # noqa: ANN401 - a strawberry field, typed by its resolver
    """The `history` field of an audited type; `readers` names who, besides admins, may see it."""
    return strawberry.field(
        resolver=history,
        metadata={READ: HistoryRead(window=history_window)},
        description=(
            "Recorded changes to this object, newest first (in the order they committed)."
            f" Visible to {readers} and admins;"
            " anyone else gets FORBIDDEN (signed out: UNAUTHENTICATED), which nulls the"
            " enclosing object, so select it only where the viewer may see it."
        ),
    )


async def load_audit_event(
    context: Context, key: tuple[uuid.UUID, dt.datetime]
) -> AuditEvent | None:
    """The audit event keyed `(id, created_at)`, for admins; null for anyone else or when gone."""
    if not may_read_audit_events(context.viewer):
        return None
    row = await context.loaders.audit_event.load(key)
    return AuditEvent.from_model(row, viewer=context.viewer) if row else None
