"""Arguments of the `media` list: `MediaFilter` and `MediaOrder`."""

import enum
import re

import strawberry
from sqlalchemy import ColumnElement

import models
from graph.core.cursors import KeyKind
from graph.core.enums import ResourceType
from graph.core.errors import BadUserInputError
from graph.core.global_id import decode_typed_id
from graph.core.paging import Ordering, SortedColumn, column_orderings
from graph.core.ranges import DateTimeRangeInput, within_times

_EXTENSION = re.compile(r"^[a-z0-9]{1,10}$")
MAX_TAGS = 20


@strawberry.input(description="Which media to list; every field given must match.")
class MediaFilter:
    """Conditions on media, combined with AND."""

    resource_type: ResourceType | None = strawberry.field(
        default=None, description="Only images, or only videos."
    )
    extension: str | None = strawberry.field(
        default=None, description="File extension, e.g. `jpg` (case and leading dot ignored)."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description=f"Media carrying every one of these tags (at most {MAX_TAGS})."
    )
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Media of this venue (a `Venue` ID)."
    )
    booking_id: strawberry.ID | None = strawberry.field(
        default=None, description="Media of this booking (a `Booking` ID)."
    )
    captured_at: DateTimeRangeInput | None = strawberry.field(
        default=None, description="Media shot within this span (`from` <= shot < `to`)."
    )


@strawberry.enum(
    description="Orders of the `media` list. Ties go to the older upload in an `_ASC` order; "
    "each `_DESC` order is its `_ASC` order reversed, ties included (media without a shot "
    "time stay last)."
)
class MediaOrder(enum.Enum):
    """How media are sorted."""

    CREATED_AT_ASC = strawberry.enum_value("CREATED_AT_ASC", description="Oldest upload first.")
    CREATED_AT_DESC = strawberry.enum_value("CREATED_AT_DESC", description="Newest upload first.")
    CAPTURED_AT_ASC = strawberry.enum_value(
        "CAPTURED_AT_ASC", description="Earliest shot first; media without a time last."
    )
    CAPTURED_AT_DESC = strawberry.enum_value(
        "CAPTURED_AT_DESC", description="Latest shot first; media without a time last."
    )
    TITLE_ASC = strawberry.enum_value("TITLE_ASC", description="By title, A to Z.")
    TITLE_DESC = strawberry.enum_value("TITLE_DESC", description="By title, Z to A.")
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE",
        description="Best match of `search` first (the default with `search`); needs `search`.",
    )
    DISTANCE = strawberry.enum_value(
        "DISTANCE", description="Nearest to the `near` point first; needs `near`."
    )


# `RELEVANCE` and `DISTANCE` sort by expressions of the request's search and place: see
# `graph.search.resolver.ListQuery.ordering`.
MEDIA_ORDERINGS: dict[MediaOrder, Ordering] = column_orderings(
    "Media",
    models.Media.id,
    [
        SortedColumn(
            MediaOrder.CREATED_AT_ASC,
            MediaOrder.CREATED_AT_DESC,
            models.Media.created_at,
            KeyKind.DATETIME,
        ),
        SortedColumn(
            MediaOrder.CAPTURED_AT_ASC,
            MediaOrder.CAPTURED_AT_DESC,
            models.Media.captured_at,
            KeyKind.DATETIME,
            nullable=True,
        ),
        SortedColumn(MediaOrder.TITLE_ASC, MediaOrder.TITLE_DESC, models.Media.title, KeyKind.TEXT),
    ],
)


def media_conditions(media_filter: MediaFilter | None) -> list[ColumnElement[bool]]:
    """The SQL conditions of a `MediaFilter`; `BAD_USER_INPUT` naming any invalid field."""
    if media_filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if media_filter.resource_type is not None:
        conditions.append(models.Media.resource_type == media_filter.resource_type.value)
    if media_filter.extension is not None:
        extension = media_filter.extension.strip().lower().removeprefix(".")
        if not _EXTENSION.match(extension):
            message = "`filter.extension` must be 1 to 10 letters or digits, e.g. `jpg`."
            raise BadUserInputError(message, field="filter.extension")
        conditions.append(models.Media.extension == extension)
    if media_filter.tags is not None:
        if len(media_filter.tags) > MAX_TAGS:
            message = f"`filter.tags` takes at most {MAX_TAGS} tags."
            raise BadUserInputError(message, field="filter.tags")
        conditions.append(models.Media.tags.contains(media_filter.tags))
    if media_filter.venue_id is not None:
        venue_id = decode_typed_id(media_filter.venue_id, "Venue", field="filter.venueId")
        conditions.append(models.Media.venue_id == venue_id)
    if media_filter.booking_id is not None:
        booking_id = decode_typed_id(media_filter.booking_id, "Booking", field="filter.bookingId")
        conditions.append(models.Media.booking_id == booking_id)
    if media_filter.captured_at is not None:
        conditions += within_times(
            models.Media.captured_at, media_filter.captured_at, field="filter.capturedAt"
        )
    return conditions
