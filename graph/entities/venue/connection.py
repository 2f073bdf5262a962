"""The `venues` list's page: edges that say how each venue matched a search or a place."""

import strawberry

from graph.core.connection import CountedPage
from graph.core.search import Found
from graph.entities.venue.type import Venue


@strawberry.type(description="One venue of the `venues` list, with how it matched.")
class VenueListEdge(Found):
    """A venue, its cursor, and its search and place details."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Venue = strawberry.field(description="The venue.")


@strawberry.type(description="A page of the `venues` list.")
class VenueListConnection(CountedPage):
    """Venues of one page and how to get the next."""

    edges: list[VenueListEdge] = strawberry.field(description="The venues of this page.")
