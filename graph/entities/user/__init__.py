"""Users: the `User` type, its filters, the `users` and `viewer` roots and the account mutations."""

import models
from graph.core.node_lookup import register_node_type
from graph.entities.user.type import User

# Importing the package (as the schema assembly does) makes `User` reachable by global ID and
# its rows mappable by `to_node`.
register_node_type(
    "User",
    model=models.User,
    load=lambda context, row_id: context.loaders.user.load(row_id),
    to_node=User.from_model,
)
