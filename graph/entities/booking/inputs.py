"""Arguments of the `bookings` list: `BookingFilter` and `BookingOrder`."""

import enum

import strawberry
from sqlalchemy import ColumnElement

import models
from graph.core.cursors import KeyKind
from graph.core.enums import BookingStatus
from graph.core.global_id import decode_typed_id
from graph.core.paging import Ordering, SortedColumn, column_orderings
from graph.core.ranges import DateTimeRangeInput, within_times


@strawberry.input(description="Which bookings to list; every field given must match.")
class BookingFilter:
    """Conditions on bookings, combined with AND."""

    status: list[BookingStatus] | None = strawberry.field(
        default=None, description="Bookings in any of these statuses."
    )
    starts_at: DateTimeRangeInput | None = strawberry.field(
        default=None, description="Bookings starting within this span (`from` <= start < `to`)."
    )
    venue_id: strawberry.ID | None = strawberry.field(
        default=None, description="Bookings of this venue (a `Venue` ID)."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="Bookings made by this user (a `User` ID)."
    )


@strawberry.enum(
    description="Orders of the `bookings` list. Ties go to the older booking in an `_ASC` order; "
    "each `_DESC` order is its `_ASC` order reversed, ties included."
)
class BookingOrder(enum.Enum):
    """How bookings are sorted."""

    STARTS_AT_ASC = strawberry.enum_value("STARTS_AT_ASC", description="Earliest start first.")
    STARTS_AT_DESC = strawberry.enum_value("STARTS_AT_DESC", description="Latest start first.")
    CREATED_AT_ASC = strawberry.enum_value("CREATED_AT_ASC", description="Oldest booking first.")
    CREATED_AT_DESC = strawberry.enum_value("CREATED_AT_DESC", description="Newest booking first.")
    AMOUNT_ASC = strawberry.enum_value("AMOUNT_ASC", description="Cheapest first.")
    AMOUNT_DESC = strawberry.enum_value("AMOUNT_DESC", description="Dearest first.")


BOOKING_ORDERINGS: dict[BookingOrder, Ordering] = column_orderings(
    "Booking",
    models.Booking.id,
    [
        SortedColumn(
            BookingOrder.STARTS_AT_ASC,
            BookingOrder.STARTS_AT_DESC,
            models.Booking.starts_at,
            KeyKind.DATETIME,
        ),
        SortedColumn(
            BookingOrder.CREATED_AT_ASC,
            BookingOrder.CREATED_AT_DESC,
            models.Booking.created_at,
            KeyKind.DATETIME,
        ),
        SortedColumn(
            BookingOrder.AMOUNT_ASC,
            BookingOrder.AMOUNT_DESC,
            models.Booking.amount,
            KeyKind.DECIMAL,
        ),
    ],
)


def booking_conditions(booking_filter: BookingFilter | None) -> list[ColumnElement[bool]]:
    """The SQL conditions of a `BookingFilter`; `BAD_USER_INPUT` naming any invalid field."""
    if booking_filter is None:
        return []
    conditions: list[ColumnElement[bool]] = []
    if booking_filter.status is not None:
        conditions.append(models.Booking.status.in_([s.value for s in booking_filter.status]))
    if booking_filter.starts_at is not None:
        conditions += within_times(
            models.Booking.starts_at, booking_filter.starts_at, field="filter.startsAt"
        )
    if booking_filter.venue_id is not None:
        venue_id = decode_typed_id(booking_filter.venue_id, "Venue", field="filter.venueId")
        conditions.append(models.Booking.venue_id == venue_id)
    if booking_filter.user_id is not None:
        user_id = decode_typed_id(booking_filter.user_id, "User", field="filter.userId")
        conditions.append(models.Booking.user_id == user_id)
    return conditions
