"""The `Media` GraphQL type."""

import datetime as dt
from decimal import Decimal
from typing import Self

import strawberry

import models
from graph.core.enums import ResourceType
from graph.core.geo import GeoJSON, geojson_point
from graph.core.global_id import encode_global_id
from graph.core.node import Node
from graph.entities.audit.history import history_field


@strawberry.type(description="Metadata of one stored image or video.")
class Media(Node):
    """A media item; the file itself lives in object storage under `storageKey`."""

    row: strawberry.Private[models.Media]
    title: str = strawberry.field(description="Short title.")
    resource_type: ResourceType = strawberry.field(description="Image or video.")
    storage_key: str = strawberry.field(description="Key of the file in object storage.")
    extension: str = strawberry.field(description="File extension, lowercase, e.g. `jpg`.")
    file_size: int = strawberry.field(description="File size in bytes.")
    width: int | None = strawberry.field(description="Width in pixels.")
    height: int | None = strawberry.field(description="Height in pixels.")
    duration_seconds: Decimal | None = strawberry.field(description="Length of a video, seconds.")
    dominant_color: str | None = strawberry.field(description="Dominant colour as `#rrggbb`.")
    alt_text: str | None = strawberry.field(description="Text alternative for screen readers.")
    caption: str | None = strawberry.field(description="Caption shown with the media.")
    tags: list[str] = strawberry.field(description="Free-form tags.")
    captured_at: dt.datetime | None = strawberry.field(description="When it was shot.")
    location: GeoJSON | None = strawberry.field(
        description='Where it was shot, as a GeoJSON Point: `{"type": "Point", "coordinates":'
        " [longitude, latitude]}` (WGS 84); null when unknown."
    )
    latitude: float | None = strawberry.field(
        description="Latitude where it was shot, in degrees (WGS 84); null when unknown."
    )
    longitude: float | None = strawberry.field(
        description="Longitude where it was shot, in degrees (WGS 84); null when unknown."
    )
    created_at: dt.datetime = strawberry.field(description="When it was uploaded.")
    deleted_at: dt.datetime | None = strawberry.field(
        description="When the item was deleted; null while live (admins list deleted ones)."
    )

    history = history_field("the item's owner, its venue's host")

    @classmethod
    def from_model(cls, row: models.Media) -> Self:
        """Map a `media` row."""
        location = geojson_point(row.location) if row.location is not None else None
        return cls(
            row=row,
            id=strawberry.ID(encode_global_id("Media", row.id)),
            title=row.title,
            resource_type=ResourceType(row.resource_type),
            storage_key=row.storage_key,
            extension=row.extension,
            file_size=row.file_size,
            width=row.width,
            height=row.height,
            duration_seconds=row.duration_seconds,
            dominant_color=row.dominant_color,
            alt_text=row.alt_text,
            caption=row.caption,
            tags=list(row.tags),
            captured_at=row.captured_at,
            location=location,
            latitude=location["coordinates"][1] if location else None,
            longitude=location["coordinates"][0] if location else None,
            created_at=row.created_at,
            deleted_at=row.deleted_at,
        )
