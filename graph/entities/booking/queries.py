"""The root `bookings` list: the bookings the viewer may see, filtered, sorted and paged."""

from typing import Annotated

import strawberry

import models
from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.list_page import list_page
from graph.core.pagination import After, Before, First, IncludeDeleted, Last
from graph.core.permissions import visible_bookings
from graph.entities.booking.inputs import (
    BOOKING_ORDERINGS,
    BookingFilter,
    BookingOrder,
    booking_conditions,
)
from graph.entities.booking.type import Booking


async def bookings(  # noqa: PLR0913 - Relay arguments plus filter, order and includeDeleted
    info: strawberry.Info[Context],
    *,
    first: First = None,
    after: After = None,
    last: Last = None,
    before: Before = None,
    filter_: Annotated[
        BookingFilter | None,
        strawberry.argument(name="filter", description="Only bookings matching all of this."),
    ] = None,
    order_by: Annotated[
        BookingOrder | None,
        strawberry.argument(description="Sort order; earliest start first when not given."),
    ] = None,
    include_deleted: IncludeDeleted = False,
) -> Connection[Booking]:
    """Page through the bookings the viewer may see; anonymous requests are refused."""
    viewer = info.context.require_viewer()
    return await list_page(
        info,
        models.Booking,
        conditions=lambda: [visible_bookings(viewer), *booking_conditions(filter_)],
        order=order_by,
        default_order=BookingOrder.STARTS_AT_ASC,
        orderings=BOOKING_ORDERINGS,
        first=first,
        after=after,
        last=last,
        before=before,
        include_deleted=include_deleted,
        node=Booking.from_model,
    )


@strawberry.type
class BookingListQueries:
    """The bookings list."""

    bookings: Connection[Booking] = strawberry.field(
        resolver=bookings,
        description=(
            "Bookings the viewer may see, one page at a time: members their own, hosts also "
            "their venues', admins all. Requires signing in."
        ),
    )
