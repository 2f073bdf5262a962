"""Venues: the `Venue` type, filters and orders, `venue`/`venues`, nearby venues, mutations."""

import models
from graph.core.node_lookup import register_node_type
from graph.entities.venue.type import Venue

# Importing the package (as the schema assembly does) makes `Venue` reachable by global ID and
# its rows mappable by `to_node`.
register_node_type(
    "Venue",
    model=models.Venue,
    load=lambda context, row_id: context.loaders.venue.load(row_id),
    to_node=Venue.from_model,
)
