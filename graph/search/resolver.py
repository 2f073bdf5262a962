"""The root `search`: one ranked list across venues and media, for a global search box.

Both kinds are scored on one scale in one statement (a union of the two tables' matches), paged
by keyset on rank, kind and id; highlights are computed only when selected.
"""

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

import strawberry
from sqlalchemy import (
    REAL,
    ColumnElement,
    FromClause,
    String,
    Subquery,
    Uuid,
    and_,
    case,
    column,
    false,
    literal,
    or_,
    select,
    true,
    union_all,
)

import models
from graph.core.connection import page_info_over
from graph.core.context import Context
from graph.core.cursors import KeyKind
from graph.core.geo import NearInput, distance_meters, near_condition, validated_near
from graph.core.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Ordering,
    SortKey,
    Window,
    beyond,
    page_window,
)
from graph.core.permissions import visible_media
from graph.core.ranked_page import Branch, branch_pages
from graph.core.search import found_values, parsed_search, wants_highlight
from graph.core.viewer import Viewer
from graph.entities.media.type import Media
from graph.entities.venue.type import Venue
from graph.search.connections import SearchResultConnection, SearchResultEdge
from models.search import (
    MAX_SEARCH_WORDS,
    MEDIA,
    VENUES,
    headline,
    rank_value,
    search_match,
    similarity,
    text_found,
)

# Best match first, ties by kind and id. Its keys name the columns of the union the statement
# pages (`on` binds them to it); its name is part of every cursor.
RESULT_ORDERING = Ordering(
    "SearchResult.RELEVANCE",
    (
        SortKey(column("rank", REAL), KeyKind.FLOAT, descending=True),
        SortKey(column("kind", String), KeyKind.TEXT),
        SortKey(column("id", Uuid()), KeyKind.UUID),
    ),
)


async def search(
    info: strawberry.Info[Context],
    query: Annotated[
        str,
        strawberry.argument(
            description=(
                "What the user typed: accents and word endings ignored, "
                '`"quoted phrases"`, `or` and `-excluded` words understood, the last word also '
                "matched as a prefix (from two letters). When nothing matches, venues and media "
                "whose name or title is spelt like the words (holding no `-excluded` word) come "
                "back, marked `SIMILAR_NAME`. Empty text, and text of more than "
                f"{MAX_SEARCH_WORDS} words (a repeated word counts once), are refused."
            )
        ),
    ],
    first: Annotated[
        int, strawberry.argument(description=f"How many results, 0 to {MAX_PAGE_SIZE}.")
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
    planned = plan_results(
        info.context.viewer,
        query=query,
        first=first,
        after=after,
        near=near,
        highlight=wants_highlight(info),
    )
    rows = await info.context.db.execute(planned.statement(), plan_as_search=True)
    found = list(rows)
    size = planned.window.size
    edges = [_result_edge(row) for row in found[:size]]
    return SearchResultConnection(
        edges=edges,
        page_info=page_info_over(edges, has_next_page=len(found) > size, has_previous_page=False),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ResultsQuery:
    """One page of the global search, planned: its ranked hits, their order and edge values.

    Both paths read the search through it: the resolver runs `statement()`, the compiled path
    (graph/compiler/) writes `hits` joined to the two tables into its own statement.
    """

    # Every hit: its `kind` ("Venue" or "Media"), `id`, `rank` and `by_text`.
    hits: Subquery
    # Which venue or media row a hit is (outer joins: the other table's columns are NULL).
    venue_on: ColumnElement[bool]
    media_on: ColumnElement[bool]
    ordering: Ordering
    window: Window
    # Per hit: `rank`, `by_text`, and `highlight` and `distance` when asked for.
    extras: Mapping[str, ColumnElement[Any]]

    def statement(self) -> Any:  # noqa: ANN401 - an ORM select of the hits and two entities
        """The page's rows: the extras, the hit's venue or media row, one past the page."""
        columns = [self.hits.c.kind, self.hits.c.id]
        columns += [value.label(name) for name, value in self.extras.items()]
        statement = (
            select(*columns, models.Venue, models.Media)
            .select_from(self.hits)
            .outerjoin(models.Venue, self.venue_on)
            .outerjoin(models.Media, self.media_on)
            .order_by(*self.ordering.order_by())
            .limit(self.window.size + 1)
        )
        if self.window.after is not None:
            statement = statement.where(beyond(self.ordering, self.window.after, forward=True))
        return statement

    def joined(self) -> FromClause:
        """The hits joined to the venues and media tables, as the statement joins them."""
        venues: FromClause = models.Venue.__table__
        media: FromClause = models.Media.__table__
        return self.hits.outerjoin(venues, self.venue_on).outerjoin(media, self.media_on)


def plan_results(  # noqa: PLR0913 - the field's arguments, as its resolver receives them
    viewer: Viewer | None,
    *,
    query: str,
    first: int,
    after: str | None,
    near: NearInput | None,
    highlight: bool,
) -> ResultsQuery:
    """The page the arguments ask for, checked (errors as the field reports them, in order).

    `highlight`: the selection reads `edges { highlight }` (`ts_headline` only then).
    """
    text = parsed_search(query, field="query")
    window = page_window(RESULT_ORDERING, first=first, after=after)
    place = validated_near(near, field="near") if near is not None else None
    venue_scope: list[ColumnElement[bool]] = [models.Venue.deleted_at.is_(None)]
    media_scope: list[ColumnElement[bool]] = [
        models.Media.deleted_at.is_(None),
        visible_media(viewer),
    ]
    if place is not None:
        venue_scope.append(near_condition(models.Venue.location, place))
        media_scope.append(near_condition(models.Media.location, place))
    found = or_(text_found(VENUES, text, *venue_scope), text_found(MEDIA, text, *media_scope))
    branches: list[tuple[Branch, Any]] = []
    for entity, target, table, scope in (
        ("Venue", VENUES, models.Venue, venue_scope),
        ("Media", MEDIA, models.Media, media_scope),
    ):
        match = search_match(target, text, *scope, found=found)
        kind = literal(entity, type_=String)
        for rank, condition in match.classes:
            columns = (kind.label("kind"), table.id.label("id"), rank_value(rank).label("rank"))
            rows = select(*columns, true().label("by_text")).where(*scope, condition)
            branch = Branch((rank_value(rank), kind), (rank, entity), rows, gate=found)
            branches.append((branch, table.id))
        typed_like = similarity(target, text)
        columns = (kind.label("kind"), table.id.label("id"), typed_like.label("rank"))
        rows = select(*columns, false().label("by_text")).where(*scope, match.similar)
        branches.append((Branch((typed_like, kind), None, rows), table.id))
    parts = branch_pages(
        [(branch, id_.expression) for branch, id_ in branches], RESULT_ORDERING, window
    )
    # Each branch's best page in rank order (no match is ranked to find them), then the
    # best of those: the true first page of the ranking.
    hits = union_all(*parts).subquery("hits")
    is_venue = hits.c.kind == "Venue"
    extras: dict[str, ColumnElement[Any]] = {"rank": hits.c.rank, "by_text": hits.c.by_text}
    if highlight:
        by_text = hits.c.by_text
        extras["highlight"] = case(
            (is_venue, headline(VENUES, text, by_text)), else_=headline(MEDIA, text, by_text)
        )
    if place is not None:
        latitude, longitude = place.latitude, place.longitude
        extras["distance"] = case(
            (is_venue, distance_meters(models.Venue.location, latitude, longitude)),
            else_=distance_meters(models.Media.location, latitude, longitude),
        )
    venue_on = and_(is_venue, models.Venue.id == hits.c.id)
    media_on = and_(hits.c.kind == "Media", models.Media.id == hits.c.id)
    ordering = RESULT_ORDERING.on(hits.c.rank, hits.c.kind, hits.c.id)
    return ResultsQuery(hits, venue_on, media_on, ordering, window, extras)


def _result_edge(row: Any) -> SearchResultEdge:  # noqa: ANN401 - a result row
    node: Venue | Media = (
        Venue.from_model(row.Venue) if row.kind == "Venue" else Media.from_model(row.Media)
    )
    values = found_values(row._asdict())
    return SearchResultEdge(
        cursor=RESULT_ORDERING.cursor((row.rank, row.kind, row.id)),
        node=node,
        **values,
    )
