"""The root `venues` list: venues filtered, searched, placed, sorted and paged by keyset."""

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
    counter,
    deleted_rows_options,
    fetch_page,
    page_window,
)
from graph.resolvers.search import (
    VENUE_LIST,
    NearArgument,
    SearchArgument,
    WithinArgument,
    found_values,
    list_query,
    page_info,
    search_criteria,
    wants_highlight,
)
from graph.types.search import VenueListConnection, VenueListEdge
from graph.types.venue import Venue


async def venues(  # noqa: PLR0913 - Relay arguments plus filter, search, place, order, includeDeleted
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
    search: SearchArgument = None,
    near: NearArgument = None,
    within: WithinArgument = None,
    order_by: Annotated[
        VenueOrder | None,
        strawberry.argument(
            description="Sort order; best match first with `search`, else oldest listing first."
        ),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> VenueListConnection:
    """Page through venues (everyone sees every live venue).

    The cursor is the last row's sort key, not an offset, so venues listed between two
    requests never make a page repeat or skip a venue.
    """
    deleted_rows = deleted_rows_options(info.context, include_deleted)
    criteria = search_criteria(search, near, within)
    query = list_query(
        VENUE_LIST, criteria, venue_conditions(filter_), highlight=wants_highlight(info)
    )
    order = order_by or (
        VenueOrder.RELEVANCE if criteria.search is not None else VenueOrder.CREATED_AT_ASC
    )
    ordering = (
        query.ordering(order.value)
        if order in {VenueOrder.RELEVANCE, VenueOrder.DISTANCE}
        else VENUE_ORDERINGS[order]
    )
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(models.Venue).where(*query.conditions).execution_options(**deleted_rows)

    page = await fetch_page(
        info.context.db, statement, ordering=ordering, window=window, extras=query.extras
    )
    edges = [
        VenueListEdge(cursor=row.cursor, node=Venue.from_model(row.row), **found_values(row.extras))
        for row in page.rows
    ]
    return VenueListConnection(
        edges=edges, page_info=page_info(page), count_total=counter(info.context.db, statement)
    )
