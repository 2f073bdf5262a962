"""The root `venue` and `venues`: one venue by ID, and venues filtered, searched, placed, sorted."""

from typing import Annotated

import strawberry

import models
from graph.core.context import Context
from graph.core.global_id import decode_typed_id
from graph.core.pagination import After, Before, First, IncludeDeleted, Last
from graph.entities.venue.inputs import VENUE_ORDERINGS, VenueFilter, VenueOrder, venue_conditions
from graph.entities.venue.type import Venue
from graph.search.connections import VenueListConnection, VenueListEdge
from graph.search.list_page import searched_list_page
from graph.search.resolver import VENUE_LIST, NearArgument, SearchArgument, WithinArgument


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


@strawberry.type
class VenueQueries:
    """One venue by ID (a mixin of its own: it comes first among the root fields)."""

    @strawberry.field(
        description="One venue by its ID; null when it does not exist or was deleted."
    )
    async def venue(
        self,
        info: strawberry.Info[Context],
        id: Annotated[strawberry.ID, strawberry.argument(description="The venue's global ID.")],  # noqa: A002 - `id` is the GraphQL contract
    ) -> Venue | None:
        """Load a venue through the request's venue loader."""
        row = await info.context.loaders.venue.load(decode_typed_id(id, "Venue", field="id"))
        return Venue.from_model(row) if row else None


@strawberry.type
class VenueListQueries:
    """The venues list."""

    venues: VenueListConnection = strawberry.field(
        resolver=venues,
        description=(
            "Venues, filtered, searched, placed and sorted, one page at a time (oldest listing "
            "first, or best match first with `search`)."
        ),
    )
