"""Search and place results: list edges that say how an item matched, and the `search` union.

The root `venues` and `media` lists have edges of their own (`VenueListEdge`,
`MediaListEdge`) carrying `rank`, `highlight`, `matchedBy` and `distanceMeters`; the child
lists (`Venue.media`, histories, sessions) keep the plain generic edges.
"""

import enum
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from graph.core.connection import PageInfo, TotalCount, TotalCountUnavailableError

if TYPE_CHECKING:
    from graph.entities.media.type import Media
    from graph.entities.venue.type import Venue

# The entities' lists use these connections, so their types are referenced lazily.
VenueType = Annotated["Venue", strawberry.lazy("graph.entities.venue.type")]
MediaType = Annotated["Media", strawberry.lazy("graph.entities.media.type")]


@strawberry.enum(description="How a search result matched the words searched for.")
class SearchMatch(enum.Enum):
    """The two ways a search finds items."""

    FULL_TEXT = strawberry.enum_value(
        "FULL_TEXT",
        description="Its text contains the words (stemmed, accents ignored, prefix of the last).",
    )
    SIMILAR_NAME = strawberry.enum_value(
        "SIMILAR_NAME",
        description=(
            "Nothing contained the words, and its name or title is spelt like them (a typo "
            "fallback): show it as a suggestion."
        ),
    )


RANK_DESCRIPTION = (
    "How well the item matches `search`, from 0 to 1 (higher is better); comparable only "
    "within one result list. Null without `search`."
)
HIGHLIGHT_DESCRIPTION = (
    "An excerpt of the item's text with the matched words in `<mark>...</mark>`, as HTML "
    "(the text itself is escaped, so it is safe to render); unmarked for `SIMILAR_NAME` "
    "matches. Null without `search`. Computed only when selected."
)
MATCHED_BY_DESCRIPTION = "How the item matched `search`; null without `search`."
DISTANCE_DESCRIPTION = "Metres from the `near` point (on the WGS 84 spheroid); null without `near`."


@strawberry.type(description="How an item of a list matched a search, and how far it is.")
class Found:
    """Fields every search or place result shares."""

    rank: float | None = strawberry.field(description=RANK_DESCRIPTION)
    highlight: str | None = strawberry.field(description=HIGHLIGHT_DESCRIPTION)
    matched_by: SearchMatch | None = strawberry.field(description=MATCHED_BY_DESCRIPTION)
    distance_meters: float | None = strawberry.field(description=DISTANCE_DESCRIPTION)


@strawberry.type(description="One venue of the `venues` list, with how it matched.")
class VenueListEdge(Found):
    """A venue, its cursor, and its search and place details."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: VenueType = strawberry.field(description="The venue.")


@strawberry.type(description="One photo or video of the `media` list, with how it matched.")
class MediaListEdge(Found):
    """A media item, its cursor, and its search and place details."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: MediaType = strawberry.field(description="The photo or video.")


@strawberry.type(description="A page of a list that can count itself.")
class CountedPage:
    """`pageInfo` and `totalCount`, shared by the list connections below."""

    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")
    count_total: strawberry.Private[TotalCount | None] = None

    @strawberry.field(
        description=(
            "How many items the whole list holds (every page, same arguments). Costs a count "
            "query: select it only when you show it."
        )
    )
    async def total_count(self) -> int:
        """Count the list, only because the client asked for it."""
        if self.count_total is None:
            message = "this connection was built without a count"
            raise TotalCountUnavailableError(message)
        return await self.count_total()


@strawberry.type(description="A page of the `venues` list.")
class VenueListConnection(CountedPage):
    """Venues of one page and how to get the next."""

    edges: list[VenueListEdge] = strawberry.field(description="The venues of this page.")


@strawberry.type(description="A page of the `media` list.")
class MediaListConnection(CountedPage):
    """Media of one page and how to get the next."""

    edges: list[MediaListEdge] = strawberry.field(description="The media of this page.")


SearchResult = Annotated[
    VenueType | MediaType,
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


def selects_edge_field(selections: Iterable[Selection], name: str) -> bool:
    """Whether a connection's selection asks for `edges { <name> }` (through fragments too)."""
    return any(_selects(edge.selections, name) for edge in _fields(selections, "edges"))


def _selects(selections: Iterable[Selection], name: str) -> bool:
    return any(True for _ in _fields(selections, name))


def _fields(selections: Iterable[Selection], name: str) -> Iterator[SelectedField]:
    for selection in selections:
        if not isinstance(selection, SelectedField):  # a fragment: look inside it
            yield from _fields(selection.selections, name)
        elif selection.name == name:
            yield selection
