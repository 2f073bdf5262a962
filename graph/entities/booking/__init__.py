"""Bookings: the `Booking` type, filters and orders, the `bookings` root, the mutations."""

import models
from graph.core.node_lookup import register_node_type
from graph.entities.booking.type import Booking

# Importing the package (as the schema assembly does) makes `Booking` reachable by global ID and
# its rows mappable by `to_node`.
register_node_type(
    "Booking",
    model=models.Booking,
    load=lambda context, row_id: context.loaders.booking.load(row_id),
    to_node=Booking.from_model,
)
