"""Media: the `Media` type, its filters and orders, the `media` root and the media mutations."""

import models
from graph.core.node_lookup import register_node_type
from graph.entities.media.type import Media

# Importing the package (as the schema assembly does) makes `Media` reachable by global ID and
# its rows mappable by `to_node`.
register_node_type(
    "Media",
    model=models.Media,
    load=lambda context, row_id: context.loaders.media.load(row_id),
    to_node=Media.from_model,
)
