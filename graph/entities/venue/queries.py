"""The root `venues` list: venues filtered, searched, placed, sorted and paged by keyset."""

import models
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
