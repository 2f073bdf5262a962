"""Media mutations: record an uploaded file's metadata, change it, delete and restore it.

The file itself is in object storage already; these mutations keep what we know about it.
Every check constraint of the `media` table is checked here first, so bad input is
`BAD_USER_INPUT` naming the field, never a database error.
"""

import datetime as dt
import functools
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from strawberry.scalars import JSON

import models
from graph.core.context import Context
from graph.core.enums import ResourceType
from graph.core.errors import (
    BadUserInputError,
    ClientError,
    ForbiddenError,
    NotFoundError,
    violated_constraint,
)
from graph.core.geo import LatLngInput, checked_point
from graph.core.global_id import decode_typed_id
from graph.core.permissions import may_change_media, may_change_venue, visible_media
from graph.core.soft_delete import SoftDeletion, replace_cached
from graph.core.validation import (
    Check,
    checked_json_object,
    checked_text,
    input_path,
    not_null,
    pattern_check,
    refuse_nul,
    text_check,
)
from graph.entities.media.type import Media
from models import media as media_data

MAX_TITLE_LENGTH = 200
MAX_STORAGE_KEY_LENGTH = 512
MAX_TEXT_LENGTH = 5_000
MAX_TAGS = 50
MAX_TAG_LENGTH = 50
# numeric(10, 3): seven digits before the point.
MAX_DURATION_SECONDS = Decimal("9999999.999")
MILLISECOND = Decimal("0.001")

# Constraints the checks below should make unreachable; mapped anyway, never shown as SQL.
_CONSTRAINT_FIELDS = {
    "uq_media_storage_key": "input.storageKey",
    "ck_media_resource_type": "input.resourceType",
    "ck_media_file_size_positive": "input.fileSize",
    "ck_media_width_positive": "input.width",
    "ck_media_height_positive": "input.height",
    "ck_media_duration_positive": "input.durationSeconds",
    "ck_media_duration_only_video": "input.durationSeconds",
    "ck_media_dominant_color": "input.dominantColor",
    "ck_media_extension": "input.extension",
    "ck_media_content_hash_sha256": "input.contentHash",
    "ck_media_exif_object": "input.exif",
}


def _positive(value: int, field: str) -> int:
    if value <= 0:
        message = f"`{field}` must be greater than 0; got {value}."
        raise BadUserInputError(message, field=field)
    return value


def _checked_duration(value: Decimal, field: str) -> Decimal:
    try:
        in_milliseconds = value.is_finite() and value == value.quantize(MILLISECOND)
    except InvalidOperation:  # more digits than a Decimal context holds
        in_milliseconds = False
    if not in_milliseconds or not Decimal(0) < value <= MAX_DURATION_SECONDS:
        message = (
            f"`{field}` must be more than 0 and at most {MAX_DURATION_SECONDS} seconds,"
            f" with at most 3 decimals; got {value}."
        )
        raise BadUserInputError(message, field=field)
    return value


def _checked_tags(tags: list[str], field: str) -> list[str]:
    if len(tags) > MAX_TAGS:
        message = f"`{field}` may hold at most {MAX_TAGS} tags; got {len(tags)}."
        raise BadUserInputError(message, field=field)
    checked = [checked_text(tag, field=field, max_length=MAX_TAG_LENGTH) for tag in tags]
    return list(dict.fromkeys(checked))  # duplicates dropped, order kept


def _checked_captured_at(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        message = f"`{field}` needs a time zone offset, e.g. `2031-05-01T09:00:00Z`."
        raise BadUserInputError(message, field=field)
    return value


def _storage_key(value: str, field: str) -> str:
    refuse_nul(value, field=field)
    if not value.strip() or len(value) > MAX_STORAGE_KEY_LENGTH:
        message = f"`{field}` must be 1 to {MAX_STORAGE_KEY_LENGTH} characters, not blank."
        raise BadUserInputError(message, field=field)
    return value


# How each column a client sets is checked, given the value and the input field's path.
_CHECKS: dict[str, Check] = {
    "storage_key": _storage_key,
    "content_hash": pattern_check("[0-9a-f]{64}", "a SHA-256 digest in lowercase hex"),
    "extension": pattern_check("[a-z0-9]{1,10}", "1 to 10 lowercase letters or digits"),
    "file_size": _positive,
    "width": _positive,
    "height": _positive,
    "duration_seconds": _checked_duration,
    "dominant_color": pattern_check("#[0-9a-f]{6}", "a colour such as `#1a2b3c` (lowercase)"),
    "alt_text": text_check(MAX_TEXT_LENGTH, blank_ok=True),
    "caption": text_check(MAX_TEXT_LENGTH, blank_ok=True),
    "title": text_check(MAX_TITLE_LENGTH),
    "tags": _checked_tags,
    "exif": checked_json_object,
    "captured_at": _checked_captured_at,
    "location": checked_point,
}
# Columns that may be null: a null input value stores null without a check.
_NULLABLE = {
    "width",
    "height",
    "duration_seconds",
    "dominant_color",
    "alt_text",
    "caption",
    "captured_at",
    "location",
}


def _checked_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Column values from input values (keyed by attribute name), each checked."""
    checked: dict[str, Any] = {}
    for column, value in values.items():
        if value is not None:
            checked[column] = _CHECKS[column](value, input_path(column))
        elif column in _NULLABLE:
            checked[column] = None
        else:
            not_null(value, field=input_path(column))
    return checked


# -- inputs and payloads --------------------------------------------------------------------------


@strawberry.input(
    description=(
        "Metadata of a file already in object storage. The viewer becomes its owner. Attach it"
        " to a venue (its host or an admin) or to a booking (its guest, the venue's host or an"
        " admin); media of a booking is also media of the booking's venue, shown only to them."
    )
)
class AddMediaInput:
    """Everything a new media item records."""

    resource_type: ResourceType = strawberry.field(description="Image or video.")
    storage_key: str = strawberry.field(
        description="Key of the file in object storage, 1 to 512 characters; unique."
    )
    content_hash: str = strawberry.field(
        description="SHA-256 of the file's bytes, 64 lowercase hex digits."
    )
    extension: str = strawberry.field(
        description="File extension without the dot: 1 to 10 lowercase letters or digits."
    )
    file_size: int = strawberry.field(description="File size in bytes, more than 0.")
    width: int | None = strawberry.field(default=None, description="Width in pixels, above 0.")
    height: int | None = strawberry.field(default=None, description="Height in pixels, above 0.")
    duration_seconds: Decimal | None = strawberry.field(
        default=None,
        description="Length in seconds, above 0, at most 3 decimals; videos only.",
    )
    dominant_color: str | None = strawberry.field(
        default=None, description="Dominant colour as `#rrggbb`, lowercase hex."
    )
    alt_text: str | None = strawberry.field(
        default=None, description="Text alternative for screen readers, up to 5,000 characters."
    )
    caption: str | None = strawberry.field(
        default=None, description="Caption, up to 5,000 characters."
    )
    title: str = strawberry.field(description="Short title, 1 to 200 characters.")
    tags: list[str] = strawberry.field(
        default_factory=list, description="Up to 50 tags of 1 to 50 characters; repeats dropped."
    )
    exif: JSON | None = strawberry.field(
        default=None,
        description="EXIF data as a JSON object (camera, lens, ...); null or left out for none.",
    )
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of the venue shown."
    )
    booking_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global ID of the booking it belongs to (its venue is implied).",
    )
    captured_at: dt.datetime | None = strawberry.field(
        default=None, description="When it was shot, with a time zone offset."
    )
    location: LatLngInput | None = strawberry.field(default=None, description="Where it was shot.")


@strawberry.input(
    description=(
        "Changes to a media item's metadata. Leave a field out to keep its value; null clears"
        " an optional field and is refused for `title`, `tags` and `exif`."
    )
)
class UpdateMediaInput:
    """The media item and the fields to change; facts about the file itself stay fixed."""

    id: strawberry.ID = strawberry.field(description="The media item's global ID.")
    title: str | None = strawberry.field(
        default=strawberry.UNSET, description="New title, 1 to 200 characters."
    )
    alt_text: str | None = strawberry.field(
        default=strawberry.UNSET, description="New text alternative, up to 5,000 characters."
    )
    caption: str | None = strawberry.field(
        default=strawberry.UNSET, description="New caption, up to 5,000 characters."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="New tags (replace the old ones)."
    )
    exif: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="New EXIF object (replaces the old one)."
    )
    dominant_color: str | None = strawberry.field(
        default=strawberry.UNSET, description="New dominant colour as `#rrggbb`."
    )
    captured_at: dt.datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New time it was shot."
    )
    location: LatLngInput | None = strawberry.field(
        default=strawberry.UNSET, description="New place it was shot."
    )


@strawberry.type(description="The result of `addMedia`.")
class AddMediaPayload:
    """The new media item."""

    media: Media = strawberry.field(description="The media item as recorded.")


@strawberry.type(description="The result of `updateMedia`.")
class UpdateMediaPayload:
    """The changed media item."""

    media: Media = strawberry.field(description="The media item with its new values.")


AddMediaArgument = Annotated[AddMediaInput, strawberry.argument(description="The file's metadata.")]
UpdateMediaArgument = Annotated[
    UpdateMediaInput, strawberry.argument(description="The media item and the fields to change.")
]

# -- resolvers ----------------------------------------------------------------------------------


def _input_error(error: IntegrityError) -> ClientError:
    """The client error for a constraint the media input broke; re-raise anything else."""
    field = _CONSTRAINT_FIELDS.get(violated_constraint(error) or "")
    if field is None:
        raise error
    if field == "input.storageKey":
        message = "`input.storageKey` is already recorded for another media item."
    else:
        message = f"`{field}` is not a valid value."
    return BadUserInputError(message, field=field)


async def _attachment(
    info: strawberry.Info[Context], data: AddMediaInput
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The venue and booking ids the new media belongs to, if the viewer may attach to them."""
    viewer = info.context.require_viewer()
    venue_id = (
        decode_typed_id(data.venue_id, "Venue", field="input.venueId")
        if data.venue_id is not None
        else None
    )
    if data.booking_id is not None:
        booking_id = decode_typed_id(data.booking_id, "Booking", field="input.bookingId")
        # Visible bookings are exactly those of the viewer, their venues' and (admins) all.
        booking = await info.context.loaders.booking.load(booking_id)
        if booking is None:
            message = "No booking has this ID."
            raise NotFoundError(message, field="input.bookingId")
        if venue_id is not None and venue_id != booking.venue_id:
            message = "`input.venueId` is not the venue of `input.bookingId`; leave it out."
            raise BadUserInputError(message, field="input.venueId")
        return booking.venue_id, booking_id
    if venue_id is not None:
        venue = await info.context.loaders.venue.load(venue_id)
        if venue is None:
            message = "No venue has this ID."
            raise NotFoundError(message, field="input.venueId")
        if not may_change_venue(viewer, venue):
            message = "Only the venue's host or an admin may add media to it."
            raise ForbiddenError(message)
    return venue_id, None


async def _media_to_manage(
    info: strawberry.Info[Context], global_id: str, *, live_only: bool
) -> models.Media:
    """The media item `global_id` names, if the viewer may change it.

    Its owner, the host of its venue and admins may; others get `FORBIDDEN` for media they
    can see and `NOT_FOUND` for media they cannot (or that is deleted).
    """
    viewer = info.context.require_viewer()
    media_id = decode_typed_id(global_id, "Media", field="input.id")
    statement = (
        select(models.Media, models.Venue.owner_id)
        .outerjoin(models.Venue, models.Venue.id == models.Media.venue_id)
        .where(models.Media.id == media_id, visible_media(viewer))
        .execution_options(include_deleted=True, populate_existing=True)
    )
    found = (await info.context.db.execute(statement)).one_or_none()
    media: models.Media | None = found.Media if found else None
    venue_owner_id: uuid.UUID | None = found.owner_id if found else None
    may_manage = media is not None and may_change_media(viewer, media, venue_owner_id)
    if media is None or (media.is_deleted and (live_only or not may_manage)):
        message = "No media item has this ID."
        raise NotFoundError(message, field="input.id")
    if not may_manage:
        message = "Only the media item's owner, the venue's host or an admin may change it."
        raise ForbiddenError(message)
    return media


def _refresh(info: strawberry.Info[Context], media: models.Media) -> None:
    """The request's cached copies after a write: the item's, and its venue's media pages."""
    replace_cached(info.context.loaders.media, media)
    info.context.loaders.venue_media.clear_all()


MEDIA_DELETION = SoftDeletion(
    type_name="Media",
    field="media",
    noun="media item",
    node=Media,
    to_node=Media.from_model,
    to_manage=functools.partial(_media_to_manage, live_only=False),
    refresh=_refresh,
    who="Its owner, the venue's host or an admin.",
    gone="it no longer appears in lists.",
    back="shown again.",
)


@strawberry.type
class MediaMutations:
    """Mutations of media items."""

    @strawberry.mutation(description="Record a stored file's metadata. Any signed-in user.")
    async def add_media(
        self,
        info: strawberry.Info[Context],
        input: AddMediaArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> AddMediaPayload:
        """Check the input and the attachment, then insert the row."""
        viewer = info.context.require_viewer()
        values = {column: getattr(input, column) for column in _CHECKS}
        if values["exif"] is None:
            values["exif"] = {}
        columns = _checked_columns(values)
        columns["resource_type"] = models.ResourceType[input.resource_type.name]
        if (
            columns["resource_type"] is not models.ResourceType.VIDEO
            and columns["duration_seconds"] is not None
        ):
            message = "`input.durationSeconds` is only for videos."
            raise BadUserInputError(message, field="input.durationSeconds")
        columns["venue_id"], columns["booking_id"] = await _attachment(info, input)
        try:
            media = await info.context.db.write(
                info.context.actor,
                lambda session: media_data.create(
                    session, owner_id=viewer.user_id, columns=columns
                ),
            )
        except IntegrityError as error:
            raise _input_error(error) from None
        _refresh(info, media)
        return AddMediaPayload(media=Media.from_model(media))

    @strawberry.mutation(
        description="Change a media item's metadata. Its owner, the venue's host or an admin."
    )
    async def update_media(
        self,
        info: strawberry.Info[Context],
        input: UpdateMediaArgument,  # noqa: A002 - `input` is the GraphQL contract
    ) -> UpdateMediaPayload:
        """Check the given fields, then update them in one statement."""
        media = await _media_to_manage(info, input.id, live_only=True)
        given = {
            column: getattr(input, column)
            for column in vars(input)
            if column != "id" and getattr(input, column) is not strawberry.UNSET
        }
        changes = _checked_columns(given)
        if not changes:
            return UpdateMediaPayload(media=Media.from_model(media))
        media_id = media.id
        try:
            updated = await info.context.db.write(
                info.context.actor,
                lambda session: media_data.update(session, media_id=media_id, changes=changes),
            )
        except IntegrityError as error:
            raise _input_error(error) from None
        if updated is None:  # deleted since it was read
            message = "No media item has this ID."
            raise NotFoundError(message, field="input.id")
        _refresh(info, updated)
        return UpdateMediaPayload(media=Media.from_model(updated))

    delete_media = MEDIA_DELETION.delete_mutation()
    restore_media = MEDIA_DELETION.restore_mutation()
