"""The root `node` and `nodes`: any registered object by its global ID (see `node_lookup`)."""

from typing import Annotated

import strawberry

from graph.core.context import Context
from graph.core.node import Node
from graph.core.node_lookup import load_node, load_nodes


@strawberry.type
class NodeQueries:
    """Objects by global ID."""

    @strawberry.field(description="Any object by its global ID; null when it does not exist.")
    async def node(
        self,
        info: strawberry.Info[Context],
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")],  # noqa: A002 - `id` is the GraphQL contract
    ) -> Node | None:
        """Refetch one object of any type."""
        return await load_node(info.context, id, field="id")

    @strawberry.field(
        description="Objects by their global IDs, in the same order; null for any that is gone."
    )
    async def nodes(
        self,
        info: strawberry.Info[Context],
        ids: Annotated[
            list[strawberry.ID], strawberry.argument(description="Up to 100 global IDs.")
        ],
    ) -> list[Node | None]:
        """Refetch many objects at once (one statement per type)."""
        return await load_nodes(info.context, ids, field="ids")
