"""The root `media` list: the media the viewer may see, filtered, sorted and paged."""

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
    deleted_rows_allowed,
    page_window,
    paginate,
)
from graph.permissions import visible_media
from graph.types.connection import Connection
from graph.types.media import Media


async def media(  # noqa: PLR0913 - Relay arguments plus filter, order and includeDeleted
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
    order_by: Annotated[
        MediaOrder | None,
        strawberry.argument(description="Sort order; oldest upload first when not given."),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> Connection[Media]:
    """Page through the media the viewer may see (anonymous viewers: public venue media)."""
    deleted = deleted_rows_allowed(info.context, include_deleted)
    ordering = MEDIA_ORDERINGS[order_by or MediaOrder.CREATED_AT_ASC]
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(models.Media).where(
        visible_media(info.context.viewer), *media_conditions(filter_)
    )
    if deleted:
        statement = statement.execution_options(**{models.INCLUDE_DELETED: True})

    return await paginate(
        info.context.db,
        statement,
        ordering=ordering,
        window=window,
        node=Media.from_model,
    )
