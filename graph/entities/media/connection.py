"""The `media` list's page: edges that say how each item matched a search or a place."""

import strawberry

from graph.core.connection import CountedPage
from graph.core.search import Found
from graph.entities.media.type import Media


@strawberry.type(description="One photo or video of the `media` list, with how it matched.")
class MediaListEdge(Found):
    """A media item, its cursor, and its search and place details."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: Media = strawberry.field(description="The photo or video.")


@strawberry.type(description="A page of the `media` list.")
class MediaListConnection(CountedPage):
    """Media of one page and how to get the next."""

    edges: list[MediaListEdge] = strawberry.field(description="The media of this page.")
