"""The root `media` list: the media the viewer may see, filtered, searched, placed and paged."""

import strawberry

import models
from graph.core.permissions import visible_media
from graph.core.root_list import RootList, Searchable
from graph.core.search import SearchableList
from graph.entities.media.connection import MediaListConnection, MediaListEdge
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaFilter, MediaOrder, media_conditions
from graph.entities.media.type import Media
from models.search import MEDIA

MEDIA_LIST = SearchableList("Media", MEDIA, models.Media.location, models.Media.id)

MEDIA_ROOT_LIST = RootList(
    model=models.Media,
    node=Media.from_model,
    connection=MediaListConnection,
    filter=MediaFilter,
    filter_description="Only media matching all of this.",
    conditions=lambda context, filter_: [
        visible_media(context.viewer),
        *media_conditions(filter_),
    ],
    order=MediaOrder,
    order_description="Sort order; best match first with `search`, else oldest upload first.",
    default_order=MediaOrder.CREATED_AT_ASC,
    orderings=MEDIA_ORDERINGS,
    searchable=Searchable(listed=MEDIA_LIST, edge=MediaListEdge),
    summary="Page through the media the viewer may see (anonymous viewers: public venue "
    "media). `near` and `within` leave out media without a location.",
)
media = MEDIA_ROOT_LIST.resolver()


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
