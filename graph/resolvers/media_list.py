"""The root `media` list: the media the viewer may see, filtered, searched, placed and paged."""

from typing import Annotated

import strawberry
from sqlalchemy import select

import models
from graph.context import Context
from graph.inputs.media import MEDIA_ORDERINGS, MediaFilter, MediaOrder, media_conditions
from graph.pagination import (
    After,
    Before,
    First,
    IncludeDeleted,
    Last,
    counter,
    deleted_rows_options,
    fetch_page,
    page_window,
)
from graph.permissions import visible_media
from graph.resolvers.search import (
    MEDIA_LIST,
    NearArgument,
    SearchArgument,
    WithinArgument,
    found_values,
    list_query,
    page_info,
    search_criteria,
    wants_highlight,
)
from graph.types.media import Media
from graph.types.search import MediaListConnection, MediaListEdge


async def media(  # noqa: PLR0913 - Relay arguments plus filter, search, place, order, includeDeleted
    info: strawberry.Info[Context],
    *,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
    filter_: Annotated[
        MediaFilter | None,
        strawberry.argument(name="filter", description="Only media matching all of this."),
    ] = None,
    search: SearchArgument = None,
    near: NearArgument = None,
    within: WithinArgument = None,
    order_by: Annotated[
        MediaOrder | None,
        strawberry.argument(
            description="Sort order; best match first with `search`, else oldest upload first."
        ),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> MediaListConnection:
    """Page through the media the viewer may see (anonymous viewers: public venue media).

    `near` and `within` leave out media without a location.
    """
    deleted_rows = deleted_rows_options(info.context, include_deleted)
    criteria = search_criteria(search, near, within)
    conditions = [visible_media(info.context.viewer), *media_conditions(filter_)]
    query = list_query(MEDIA_LIST, criteria, conditions, highlight=wants_highlight(info))
    order = order_by or (
        MediaOrder.RELEVANCE if criteria.search is not None else MediaOrder.CREATED_AT_ASC
    )
    ordering = (
        query.ordering(order.value)
        if order in {MediaOrder.RELEVANCE, MediaOrder.DISTANCE}
        else MEDIA_ORDERINGS[order]
    )
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(models.Media).where(*query.conditions).execution_options(**deleted_rows)

    page = await fetch_page(
        info.context.db, statement, ordering=ordering, window=window, extras=query.extras
    )
    edges = [
        MediaListEdge(cursor=row.cursor, node=Media.from_model(row.row), **found_values(row.extras))
        for row in page.rows
    ]
    return MediaListConnection(
        edges=edges, page_info=page_info(page), count_total=counter(info.context.db, statement)
    )
