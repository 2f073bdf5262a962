"""The root `venues` list: venues filtered, sorted and paged with keyset cursors."""

from typing import Annotated

import strawberry
from sqlalchemy import select

import models
from graph.context import Context
from graph.inputs.venues import VENUE_ORDERINGS, VenueFilter, VenueOrder, venue_conditions
from graph.pagination import (
    After,
    Before,
    First,
    IncludeDeleted,
    Last,
    deleted_rows_allowed,
    page_window,
    paginate,
)
from graph.types.connection import Connection
from graph.types.venue import Venue


async def venues(  # noqa: PLR0913 - Relay arguments plus filter, order and includeDeleted
    info: strawberry.Info[Context],
    *,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
    filter_: Annotated[
        VenueFilter | None,
        strawberry.argument(name="filter", description="Only venues matching all of this."),
    ] = None,
    order_by: Annotated[
        VenueOrder | None,
        strawberry.argument(description="Sort order; oldest listing first when not given."),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> Connection[Venue]:
    """Page through venues (everyone sees every live venue).

    The cursor is the last row's sort key, not an offset, so venues listed between two
    requests never make a page repeat or skip a venue.
    """
    deleted = deleted_rows_allowed(info.context, include_deleted)
    ordering = VENUE_ORDERINGS[order_by or VenueOrder.CREATED_AT_ASC]
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(models.Venue).where(*venue_conditions(filter_))
    if deleted:
        statement = statement.execution_options(**{models.INCLUDE_DELETED: True})

    return await paginate(
        info.context.db,
        statement,
        ordering=ordering,
        window=window,
        node=Venue.from_model,
    )
