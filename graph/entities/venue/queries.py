"""The root `venues` list: venues filtered, searched, placed, sorted and paged by keyset."""

from typing import Annotated

import strawberry

import models
from graph.core.context import Context
from graph.core.paging import After, Before, First, IncludeDeleted, Last
from graph.core.search import (
    NearArgument,
    SearchableList,
    SearchArgument,
    WithinArgument,
    searched_list_page,
)
from graph.entities.venue.connection import VenueListConnection, VenueListEdge
from graph.entities.venue.inputs import VENUE_ORDERINGS, VenueFilter, VenueOrder, venue_conditions
from graph.entities.venue.type import Venue
from models.search import VENUES

VENUE_LIST = SearchableList("Venue", VENUES, models.Venue.location, models.Venue.id)


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
    return await searched_list_page(
        info,
        VENUE_LIST,
        models.Venue,
        search=search,
        near=near,
        within=within,
        conditions=lambda: venue_conditions(filter_),
        order=order_by,
        default_order=VenueOrder.CREATED_AT_ASC,
        orderings=VENUE_ORDERINGS,
        first=first,
        after=after,
        last=last,
        before=before,
        include_deleted=include_deleted,
        node=Venue.from_model,
        edge=VenueListEdge,
        connection=VenueListConnection,
    )
