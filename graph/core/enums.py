"""GraphQL enums, mapped one to one onto the models' value sets."""

import enum

import strawberry

import models


@strawberry.enum(description="Where a booking is in its life.")
class BookingStatus(enum.Enum):
    """Booking states; the GraphQL names are part of the client contract."""

    PENDING = strawberry.enum_value(
        models.BookingStatus.PENDING.value, description="Requested, not yet confirmed."
    )
    CONFIRMED = strawberry.enum_value(
        models.BookingStatus.CONFIRMED.value, description="Confirmed by the venue's host."
    )
    COMPLETED = strawberry.enum_value(
        models.BookingStatus.COMPLETED.value, description="Took place."
    )
    CANCELLED = strawberry.enum_value(
        models.BookingStatus.CANCELLED.value, description="Cancelled; frees the venue's slot."
    )


@strawberry.enum(description="What a user may do.")
class UserRole(enum.Enum):
    """User roles."""

    MEMBER = strawberry.enum_value(
        models.UserRole.MEMBER.value, description="Books venues; sees their own data."
    )
    HOST = strawberry.enum_value(
        models.UserRole.HOST.value, description="Also owns venues and sees their bookings."
    )
    ADMIN = strawberry.enum_value(models.UserRole.ADMIN.value, description="Sees everything.")


@strawberry.enum(description="The kind of file a media item describes.")
class ResourceType(enum.Enum):
    """Media resource types."""

    IMAGE = strawberry.enum_value(models.ResourceType.IMAGE.value, description="A still image.")
    VIDEO = strawberry.enum_value(models.ResourceType.VIDEO.value, description="A video.")
