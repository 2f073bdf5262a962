"""The root `search`: one ranked list across venues and media, for a global search box."""

import strawberry

from graph.search.connections import SearchResultConnection
from graph.search.resolver import search


@strawberry.type
class SearchQueries:
    """Search across kinds of objects."""

    search: SearchResultConnection = strawberry.field(
        resolver=search,
        description=(
            "Venues and the media the viewer may see that match what the user typed, best "
            "match first (venues and media ranked on one scale), optionally near a point."
        ),
    )
