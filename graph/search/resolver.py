"""The root `search`: one ranked list across venues and media, for a global search box.

Both kinds are scored on one scale in one statement (a union of the two tables' matches), paged
by keyset on rank, kind and id; highlights are computed only when selected.
"""

from typing import Annotated, Any

import strawberry
from sqlalchemy import (
    REAL,
    ColumnElement,
    String,
    Uuid,
    and_,
    case,
    column,
    literal,
    select,
    union_all,
)

import models
from graph.core.connection import page_info_over
from graph.core.context import Context
from graph.core.cursors import KeyKind
from graph.core.geo import Near, NearInput, distance_meters, near_condition, validated_near
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
from graph.core.search import found_values, parsed_search, wants_highlight
from graph.entities.media.type import Media
from graph.entities.venue.type import Venue
from graph.search.connections import SearchResultConnection, SearchResultEdge
from models.search import MEDIA, VENUES, SearchText, found_any, headline, search_match, text_hits

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
                "matched as a prefix. When nothing matches, venues and media whose name or "
                "title is spelt like the words come back, marked `SIMILAR_NAME`. Empty text is "
                "refused."
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
    text = parsed_search(query, field="query")
    window = page_window(RESULT_ORDERING, first=first, after=after)
    place = validated_near(near, field="near") if near is not None else None
    rows = await info.context.db.execute(
        _results_statement(
            text,
            viewer_media=visible_media(info.context.viewer),
            near=place,
            window=window,
            highlight=wants_highlight(info),
        )
    )
    found = list(rows)
    edges = [_result_edge(row) for row in found[: window.size]]
    return SearchResultConnection(
        edges=edges,
        page_info=page_info_over(
            edges, has_next_page=len(found) > window.size, has_previous_page=False
        ),
    )


def _results_statement(
    text: SearchText,
    *,
    viewer_media: ColumnElement[bool],
    near: Near | None,
    window: Window,
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
    ordering = RESULT_ORDERING.on(results.c.rank, results.c.kind, results.c.id)
    statement = (
        select(*columns, models.Venue, models.Media)
        .select_from(results)
        .outerjoin(models.Venue, and_(is_venue, models.Venue.id == results.c.id))
        .outerjoin(models.Media, and_(results.c.kind == "Media", models.Media.id == results.c.id))
        .order_by(*ordering.order_by())
        .limit(window.size + 1)
    )
    if window.after is not None:
        statement = statement.where(beyond(ordering, window.after, forward=True))
    return statement


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
