"""The root `media` list: the media the viewer may see, filtered, searched, placed and paged."""

from typing import Annotated

import strawberry

import models
from graph.core.context import Context
from graph.core.pagination import After, Before, First, IncludeDeleted, Last
from graph.core.permissions import visible_media
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaFilter, MediaOrder, media_conditions
from graph.entities.media.type import Media
from graph.search.connections import MediaListConnection, MediaListEdge
from graph.search.list_page import searched_list_page
from graph.search.resolver import MEDIA_LIST, NearArgument, SearchArgument, WithinArgument


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
    return await searched_list_page(
        info,
        MEDIA_LIST,
        models.Media,
        search=search,
        near=near,
        within=within,
        conditions=lambda: [visible_media(info.context.viewer), *media_conditions(filter_)],
        order=order_by,
        default_order=MediaOrder.CREATED_AT_ASC,
        orderings=MEDIA_ORDERINGS,
        first=first,
        after=after,
        last=last,
        before=before,
        include_deleted=include_deleted,
        node=Media.from_model,
        edge=MediaListEdge,
        connection=MediaListConnection,
    )


@strawberry.type
class MediaListQueries:
    """The media list."""

    media: MediaListConnection = strawberry.field(
        resolver=media,
        description=(
            "Photos and videos the viewer may see, one page at a time: public venue media for "
            "everyone, plus their own (and, for hosts, their venues')."
        ),
    )
