"""Resolving opaque global IDs to objects, for `node(id:)` and `nodes(ids:)`."""

import asyncio
from collections.abc import Sequence

from graph.core.context import Context
from graph.core.errors import BadUserInputError
from graph.core.global_id import decode_global_id, decode_timestamped_id, global_id_type_name
from graph.core.node import Node
from graph.core.paging import MAX_PAGE_SIZE
from graph.entities.audit.history import load_audit_event
from graph.entities.booking.type import Booking
from graph.entities.media.type import Media
from graph.entities.session.type import Session
from graph.entities.user.type import User
from graph.entities.venue.type import Venue


async def load_node(  # noqa: PLR0911 - one return per Node type
    context: Context, global_id: str, *, field: str
) -> Node | None:
    """Load the live object a global ID names, through the request's loaders; None if gone."""
    if global_id_type_name(global_id, field=field) == "AuditEvent":
        return await load_audit_event(context, global_id, field=field)
    type_name, row_id = decode_global_id(global_id, field=field)
    loaders = context.loaders
    if type_name == "Venue":
        venue = await loaders.venue.load(row_id)
        return Venue.from_model(venue) if venue else None
    if type_name == "Booking":
        booking = await loaders.booking.load(row_id)
        return Booking.from_model(booking) if booking else None
    if type_name == "User":
        user = await loaders.user.load(row_id)
        return User.from_model(user) if user else None
    if type_name == "Media":
        media = await loaders.media.load(row_id)
        return Media.from_model(media) if media else None
    if type_name == "Session":
        login = await loaders.login_session.load(row_id)
        return Session.from_model(login) if login else None
    return None


async def load_nodes(
    context: Context, global_ids: Sequence[str], *, field: str
) -> list[Node | None]:
    """Load many global IDs at once; loaders batch them into one statement per type."""
    if len(global_ids) > MAX_PAGE_SIZE:
        message = f"`{field}` takes at most {MAX_PAGE_SIZE} IDs; got {len(global_ids)}."
        raise BadUserInputError(message, field=field)
    # Decode everything first so one bad ID fails the field before any statement runs.
    for global_id in global_ids:
        if global_id_type_name(global_id, field=field) == "AuditEvent":
            decode_timestamped_id(global_id, "AuditEvent", field=field)
        else:
            decode_global_id(global_id, field=field)
    # Started together, the loads of each type batch into one statement.
    return list(await asyncio.gather(*(load_node(context, i, field=field) for i in global_ids)))
