"""The root `venue` and `venues`: one venue by ID, and venues filtered, searched, placed, sorted."""

from typing import Annotated

import strawberry

import models
from graph.core.context import Context
from graph.core.global_id import decode_typed_id
from graph.core.root_list import RootList, Searchable
from graph.core.search import SearchableList
from graph.entities.venue.connection import VenueListConnection, VenueListEdge
from graph.entities.venue.inputs import VENUE_ORDERINGS, VenueFilter, VenueOrder, venue_conditions
from graph.entities.venue.type import Venue
from models.search import VENUES

VENUE_LIST = SearchableList("Venue", VENUES, models.Venue.location, models.Venue.id)

VENUES_LIST = RootList(
    model=models.Venue,
    node=Venue.from_model,
    connection=VenueListConnection,
    filter=VenueFilter,
    filter_description="Only venues matching all of this.",
    conditions=lambda _, filter_: venue_conditions(filter_),
    order=VenueOrder,
    order_description="Sort order; best match first with `search`, else oldest listing first.",
    default_order=VenueOrder.CREATED_AT_ASC,
    orderings=VENUE_ORDERINGS,
    searchable=Searchable(listed=VENUE_LIST, edge=VenueListEdge),
    summary="Page through venues (everyone sees every live venue). The cursor is the last "
    "row's sort key, not an offset, so venues listed between two requests never make a page "
    "repeat or skip a venue.",
)
venues = VENUES_LIST.resolver()


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
