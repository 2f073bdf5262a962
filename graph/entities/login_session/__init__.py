"""Login sessions: the `Session` type (a signed-in device of a user)."""

import models
from graph.core.node_lookup import register_node_type
from graph.entities.login_session.type import LoginSession

# Importing the package (as the schema assembly does) makes `Session` reachable by global ID and
# its rows mappable by `to_node`.
register_node_type(
    "Session",
    model=models.LoginSession,
    load=lambda context, row_id: context.loaders.login_session.load(row_id),
    to_node=LoginSession.from_model,
)
