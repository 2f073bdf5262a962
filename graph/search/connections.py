"""The global `search`'s page: venues and media on one ranked list, as the `SearchResult` union."""

from typing import Annotated

import strawberry

from graph.core.connection import PageInfo
from graph.core.search import Found
from graph.entities.media.type import Media
from graph.entities.venue.type import Venue

SearchResult = Annotated[
    Venue | Media,
    strawberry.union(
        "SearchResult", description="Something the global search box finds: a venue or a media."
    ),
]


@strawberry.type(description="One result of the global `search`, with how it matched.")
class SearchResultEdge(Found):
    """A venue or media item, its cursor and its rank."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this result.")
    node: SearchResult = strawberry.field(description="The venue or media item.")


@strawberry.type(description="A page of the global `search`, best match first.")
class SearchResultConnection:
    """Results of one page and how to get the next."""

    edges: list[SearchResultEdge] = strawberry.field(description="The results of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the results.")
