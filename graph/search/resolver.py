"""Search and place in the root lists (`search`, `near`, `within`), and the root `search`.

A list's search is part of its one statement: the full-text (or typo-fallback) condition and
the place conditions join its filters, and the rank, `ts_headline` (only when an edge's
`highlight` is selected) and distance come back as extra columns of the same rows. The
`RELEVANCE` and `DISTANCE` orders are keyset orderings on those expressions, ending with the
primary key, so cursors neither repeat nor skip rows however many ranks or distances tie.
"""

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from shapely.geometry import Polygon
from sqlalchemy import (
    REAL,
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute

import models
from graph.core.connection import PageInfo, page_info_over
from graph.core.context import Context
from graph.core.cursors import KeyKind, decode_keyset_cursor, encode_keyset_cursor
from graph.core.errors import BadUserInputError
from graph.core.geo import (
    Near,
    NearInput,
    WithinInput,
    distance_meters,
    near_condition,
    nearest_first,
    validated_area,
    validated_near,
    within_condition,
)
from graph.core.node_lookup import to_node
from graph.core.pagination import Ordering, Page, SortKey
from graph.core.paging import DEFAULT_PAGE_SIZE, checked_page_size
from graph.core.permissions import visible_media
from graph.search.connections import (
    SearchMatch,
    SearchResultConnection,
    SearchResultEdge,
    selects_edge_field,
)
from models.search import (
    MEDIA,
    VENUES,
    Searchable,
    SearchText,
    UnsearchableTextError,
    found_any,
    headline,
    marked_html,
    parse_search,
    search_match,
    text_hits,
)

if TYPE_CHECKING:
    from graph.entities.media.type import Media
    from graph.entities.venue.type import Venue

RELEVANCE = "RELEVANCE"
DISTANCE = "DISTANCE"

SearchArgument = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Only items whose text matches these words: accents and word endings ignored, "
            '`"quoted phrases"`, `or` and `-excluded` words understood, the last word also '
            "matched as a prefix (type-ahead). When nothing matches, items whose name or title "
            "is spelt like the words come back instead, marked `SIMILAR_NAME`. Empty text is "
            "refused."
        )
    ),
]
NearArgument = Annotated[
    NearInput | None,
    strawberry.argument(
        description="Only items within `radiusMeters` of a point; edges then carry the distance."
    ),
]
WithinArgument = Annotated[
    WithinInput | None,
    strawberry.argument(description="Only items inside a bounding box or a polygon."),
]


@dataclasses.dataclass(frozen=True, slots=True)
class Criteria:
    """Validated `search`, `near` and `within` arguments (each None when not given)."""

    search: SearchText | None = None
    near: Near | None = None
    area: Polygon | None = None


def parsed_search(text: str, *, field: str) -> SearchText:
    """The search text, or `BAD_USER_INPUT` naming `field` when it holds nothing to search."""
    try:
        return parse_search(text)
    except UnsearchableTextError as error:
        message = f"`{field}` cannot be searched: {error}."
        raise BadUserInputError(message, field=field) from None


def search_criteria(
    search: str | None, near: NearInput | None, within: WithinInput | None
) -> Criteria:
    """Check a list's `search`, `near` and `within`; `BAD_USER_INPUT` naming the bad one."""
    return Criteria(
        search=parsed_search(search, field="search") if search is not None else None,
        near=validated_near(near, field="near") if near is not None else None,
        area=validated_area(within, field="within") if within is not None else None,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SearchableList:
    """A root list that takes `search`, `near` and `within`: its table's pieces."""

    entity: str
    target: Searchable
    location: InstrumentedAttribute[Any]
    id: InstrumentedAttribute[uuid.UUID]


VENUE_LIST = SearchableList("Venue", VENUES, models.Venue.location, models.Venue.id)
MEDIA_LIST = SearchableList("Media", MEDIA, models.Media.location, models.Media.id)


@dataclasses.dataclass(frozen=True, slots=True)
class ListQuery:
    """The SQL a list's search and place arguments add: conditions, orderings, edge values."""

    listed: SearchableList
    conditions: list[ColumnElement[bool]]
    extras: dict[str, ColumnElement[Any]]
    rank: ColumnElement[float] | None
    nearness: ColumnElement[float] | None

    def ordering(self, order: str) -> Ordering:
        """The `RELEVANCE` or `DISTANCE` ordering; `BAD_USER_INPUT` on `orderBy` if not given."""
        tie_break = SortKey.column(self.listed.id, KeyKind.UUID)
        if order == RELEVANCE:
            if self.rank is None:
                message = "`orderBy: RELEVANCE` needs `search`."
                raise BadUserInputError(message, field="orderBy")
            key = SortKey(self.rank, KeyKind.FLOAT, descending=True)
        else:
            if self.nearness is None:
                message = "`orderBy: DISTANCE` needs `near`."
                raise BadUserInputError(message, field="orderBy")
            key = SortKey(self.nearness, KeyKind.FLOAT)
        return Ordering(f"{self.listed.entity}.{order}", (key, tie_break))


def list_query(
    listed: SearchableList,
    criteria: Criteria,
    conditions: Sequence[ColumnElement[bool]],
    *,
    highlight: bool,
) -> ListQuery:
    """Combine a list's filter `conditions` with its search and place criteria.

    The typo fallback applies when the full-text query finds nothing among the rows the
    filters and place conditions leave; `highlight` adds `ts_headline` (only if selected).
    """
    scope = list(conditions)
    extras: dict[str, ColumnElement[Any]] = {}
    nearness = None
    if criteria.near is not None:
        near = criteria.near
        scope.append(near_condition(listed.location, near))
        extras["distance"] = distance_meters(listed.location, near.latitude, near.longitude)
        nearness = nearest_first(listed.location, near.latitude, near.longitude)
    if criteria.area is not None:
        scope.append(within_condition(listed.location, criteria.area))
    rank = None
    if criteria.search is not None:
        search = criteria.search
        hits = text_hits(listed.target, search, *scope, name="text_hits")
        match = search_match(listed.target, search, hits=hits, found=found_any(hits))
        scope.append(match.condition)
        rank = match.rank
        extras["rank"] = match.rank
        extras["by_text"] = match.matched_by_text
        if highlight:
            extras["highlight"] = headline(listed.target, search)
    return ListQuery(listed, scope, extras, rank, nearness)


def found_values(extras: Mapping[str, Any]) -> dict[str, Any]:
    """An edge's `rank`, `highlight`, `matchedBy` and `distanceMeters` from a row's extras."""
    by_text = extras.get("by_text")
    return {
        "rank": extras.get("rank"),
        "highlight": marked_html(extras.get("highlight")),
        "matched_by": None
        if by_text is None
        else SearchMatch.FULL_TEXT
        if by_text
        else SearchMatch.SIMILAR_NAME,
        "distance_meters": extras.get("distance"),
    }


def page_info(page: Page[Any]) -> PageInfo:
    """The `pageInfo` of a fetched page."""
    return page_info_over(
        page.rows, has_next_page=page.has_next_page, has_previous_page=page.has_previous_page
    )


def wants_highlight(info: strawberry.Info[Context]) -> bool:
    """Whether the list's selection reads `edges { highlight }`."""
    return selects_edge_field(info.selected_fields[0].selections, "highlight")


# The root `search`: one ranked list across venues and media.

_RESULT_ORDERING = "SearchResult.RELEVANCE"
_RESULT_KEYS = (KeyKind.FLOAT, KeyKind.TEXT, KeyKind.UUID)


async def search(
    info: strawberry.Info[Context],
    query: Annotated[
        str,
        strawberry.argument(
            description=(
                "What the user typed: accents and word endings ignored, "
                '`"quoted phrases"`, `or` and `-excluded` words understood, the last word also '
                "matched as a prefix. When nothing matches, venues and media whose name or "
                "title is spelt like the words come back, marked `SIMILAR_NAME`. Empty text is "
                "refused."
            )
        ),
    ],
    first: Annotated[
        int, strawberry.argument(description="How many results, 0 to 100.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        str | None,
        strawberry.argument(description="Only results after this cursor (an edge's `cursor`)."),
    ] = None,
    near: Annotated[
        NearInput | None,
        strawberry.argument(
            description="Only venues and media within `radiusMeters` of a point (media without "
            "a location are left out); edges then carry the distance."
        ),
    ] = None,
) -> SearchResultConnection:
    """Venues and media matching `query`, best match first, in one statement."""
    text = parsed_search(query, field="query")
    size = checked_page_size(first)
    position = (
        decode_keyset_cursor(
            after,
            ordering=_RESULT_ORDERING,
            kinds=_RESULT_KEYS,
            nullable=(False, False, False),
            field="after",
        )
        if after is not None
        else None
    )
    place = validated_near(near, field="near") if near is not None else None
    rows = await info.context.db.execute(
        _results_statement(
            text,
            viewer_media=visible_media(info.context.viewer),
            near=place,
            after=position,
            size=size,
            highlight=wants_highlight(info),
        )
    )
    found = list(rows)
    edges = [_result_edge(row) for row in found[:size]]
    return SearchResultConnection(
        edges=edges,
        page_info=page_info_over(edges, has_next_page=len(found) > size, has_previous_page=False),
    )


def _results_statement(  # noqa: PLR0913 - one statement's inputs
    text: SearchText,
    *,
    viewer_media: ColumnElement[bool],
    near: Near | None,
    after: tuple[Any, ...] | None,
    size: int,
    highlight: bool,
) -> Any:  # noqa: ANN401 - an ORM select of a union and two outer joins
    venue_scope: list[ColumnElement[bool]] = [models.Venue.deleted_at.is_(None)]
    media_scope: list[ColumnElement[bool]] = [models.Media.deleted_at.is_(None), viewer_media]
    if near is not None:
        venue_scope.append(near_condition(models.Venue.location, near))
        media_scope.append(near_condition(models.Media.location, near))
    venue_hits = text_hits(VENUES, text, *venue_scope, name="venue_text_hits")
    media_hits = text_hits(MEDIA, text, *media_scope, name="media_text_hits")
    found = found_any(venue_hits, media_hits)
    branches = []
    for entity, target, table, scope, hit_ids in (
        ("Venue", VENUES, models.Venue, venue_scope, venue_hits),
        ("Media", MEDIA, models.Media, media_scope, media_hits),
    ):
        match = search_match(target, text, hits=hit_ids, found=found)
        branches.append(
            select(
                literal(entity, type_=String).label("kind"),
                table.id.label("id"),
                match.rank.label("rank"),
                match.matched_by_text.label("by_text"),
            ).where(*scope, match.condition)
        )
    results = union_all(*branches).subquery("hits")
    columns: list[Any] = [results.c.kind, results.c.id, results.c.rank, results.c.by_text]
    is_venue = results.c.kind == "Venue"
    if highlight:
        columns.append(
            case((is_venue, headline(VENUES, text)), else_=headline(MEDIA, text)).label("highlight")
        )
    if near is not None:
        columns.append(
            case(
                (is_venue, distance_meters(models.Venue.location, near.latitude, near.longitude)),
                else_=distance_meters(models.Media.location, near.latitude, near.longitude),
            ).label("distance")
        )
    statement = (
        select(*columns, models.Venue, models.Media)
        .select_from(results)
        .outerjoin(models.Venue, and_(is_venue, models.Venue.id == results.c.id))
        .outerjoin(models.Media, and_(results.c.kind == "Media", models.Media.id == results.c.id))
        .order_by(results.c.rank.desc(), results.c.kind, results.c.id)
        .limit(size + 1)
    )
    if after is not None:
        rank, kind, row_id = after
        bound_rank = bindparam(None, rank, type_=REAL)
        statement = statement.where(
            or_(
                results.c.rank < bound_rank,
                and_(
                    results.c.rank == bound_rank,
                    tuple_(results.c.kind, results.c.id)
                    > tuple_(bindparam(None, kind, type_=String), bindparam(None, row_id)),
                ),
            )
        )
    return statement


def _result_edge(row: Any) -> SearchResultEdge:  # noqa: ANN401 - a result row
    node = cast("Venue | Media", to_node(row.Venue if row.kind == "Venue" else row.Media))
    values = found_values(row._asdict())
    return SearchResultEdge(
        cursor=encode_keyset_cursor(_RESULT_ORDERING, _RESULT_KEYS, (row.rank, row.kind, row.id)),
        node=node,
        **values,
    )
