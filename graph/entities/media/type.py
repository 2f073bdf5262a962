"""The `Media` GraphQL type."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Self

import strawberry

import models
from graph.core.enums import ResourceType
from graph.core.geo import GeoJSON, geojson_point
from graph.core.node import Node
from graph.core.permissions import visible_media
from graph.core.read_model import column_field, computed_field, read_model, read_values
from graph.entities.audit.history import history_field


def _location(row: models.Media) -> GeoJSON | None:
    return geojson_point(row.location) if row.location is not None else None


def _coordinate(index: int) -> Callable[[models.Media], float | None]:
    def coordinate(row: models.Media) -> float | None:
        location = _location(row)
        return location["coordinates"][index] if location else None

    return coordinate


@read_model(models.Media, visible=visible_media)
@strawberry.type(description="Metadata of one stored image or video.")
class Media(Node):
    """A media item; the file itself lives in object storage under `storageKey`."""

    row: strawberry.Private[models.Media]
    title: str = column_field(models.Media.title, description="Short title.")
    resource_type: ResourceType = column_field(
        models.Media.resource_type, description="Image or video."
    )
    storage_key: str = column_field(
        models.Media.storage_key, description="Key of the file in object storage."
    )
    extension: str = column_field(
        models.Media.extension, description="File extension, lowercase, e.g. `jpg`."
    )
    file_size: int = column_field(models.Media.file_size, description="File size in bytes.")
    width: int | None = column_field(models.Media.width, description="Width in pixels.")
    height: int | None = column_field(models.Media.height, description="Height in pixels.")
    duration_seconds: Decimal | None = column_field(
        models.Media.duration_seconds, description="Length of a video, seconds."
    )
    dominant_color: str | None = column_field(
        models.Media.dominant_color, description="Dominant colour as `#rrggbb`."
    )
    alt_text: str | None = column_field(
        models.Media.alt_text, description="Text alternative for screen readers."
    )
    caption: str | None = column_field(
        models.Media.caption, description="Caption shown with the media."
    )
    tags: list[str] = column_field(models.Media.tags, description="Free-form tags.")
    captured_at: dt.datetime | None = column_field(
        models.Media.captured_at, description="When it was shot."
    )
    location: GeoJSON | None = computed_field(
        value=_location,
        description='Where it was shot, as a GeoJSON Point: `{"type": "Point", "coordinates":'
        " [longitude, latitude]}` (WGS 84); null when unknown.",
    )
    latitude: float | None = computed_field(
        value=_coordinate(1),
        description="Latitude where it was shot, in degrees (WGS 84); null when unknown.",
    )
    longitude: float | None = computed_field(
        value=_coordinate(0),
        description="Longitude where it was shot, in degrees (WGS 84); null when unknown.",
    )
    created_at: dt.datetime = column_field(
        models.Media.created_at, description="When it was uploaded."
    )
    deleted_at: dt.datetime | None = column_field(
        models.Media.deleted_at,
        description="When the item was deleted; null while live (admins list deleted ones).",
    )

    history = history_field("the item's owner, its venue's host")

    @classmethod
    def from_model(cls, row: models.Media) -> Self:
        """Map a `media` row, as its fields declare."""
        return cls(row=row, **read_values(cls, row))
