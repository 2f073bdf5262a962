"""The root `bookings` list: the bookings the viewer may see, filtered, sorted and paged."""

import strawberry

import models
from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.permissions import visible_bookings
from graph.core.root_list import RootList
from graph.entities.booking.inputs import (
    BOOKING_ORDERINGS,
    BookingFilter,
    BookingOrder,
    booking_conditions,
)
from graph.entities.booking.type import Booking

BOOKINGS_LIST = RootList(
    model=models.Booking,
    node=Booking.from_model,
    connection=Connection[Booking],
    filter=BookingFilter,
    filter_description="Only bookings matching all of this.",
    conditions=lambda context, filter_: [
        visible_bookings(context.viewer),
        *booking_conditions(filter_),
    ],
    order=BookingOrder,
    order_description="Sort order; earliest start first when not given.",
    default_order=BookingOrder.STARTS_AT_ASC,
    orderings=BOOKING_ORDERINGS,
    authorize=Context.require_viewer,
    summary="Page through the bookings the viewer may see; anonymous requests are refused.",
)
bookings = BOOKINGS_LIST.resolver()


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
