"""The root `venues` list: live venues, oldest listing first, paged with keyset cursors."""

import uuid
from typing import Annotated

import strawberry
from sqlalchemy import select

import models
from graph.context import Context
from graph.cursors import decode_cursor, encode_cursor
from graph.errors import BadUserInputError
from graph.paging import checked_page_size
from graph.types.connection import Connection, Edge, page_of
from graph.types.venue import Venue

DEFAULT_PAGE_SIZE = 20


def _after_id(after: str | None) -> uuid.UUID | None:
    if after is None:
        return None
    (raw_id,) = decode_cursor(after, size=1, field="after")
    try:
        return uuid.UUID(raw_id)
    except ValueError:
        message = "`after` is not a valid cursor."
        raise BadUserInputError(message, field="after") from None


async def venues(
    info: strawberry.Info[Context],
    first: Annotated[
        int, strawberry.argument(description="How many venues, 0 to 100.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None,
        strawberry.argument(description="Continue after this cursor (an edge's `cursor`)."),
    ] = None,
) -> Connection[Venue]:
    """Page through live venues in listing order.

    The cursor is the last row's key, not an offset, so venues listed between two requests
    never make a page repeat or skip a venue.
    """
    page_size = checked_page_size(first)
    after_id = _after_id(after)
    # UUIDv7 ids are in creation order: the primary key is the keyset.
    statement = select(models.Venue).order_by(models.Venue.id).limit(page_size + 1)
    if after_id is not None:
        statement = statement.where(models.Venue.id > after_id)
    rows = list((await info.context.db.execute(statement)).scalars())
    edges = [
        Edge(cursor=encode_cursor(row.id), node=Venue.from_model(row)) for row in rows[:page_size]
    ]
    for row in rows[:page_size]:
        info.context.loaders.venue.prime(row.id, row)
    return page_of(
        edges, has_next_page=len(rows) > page_size, has_previous_page=after_id is not None
    )
