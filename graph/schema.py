"""The Strawberry schema: root query and the extensions every operation runs through."""

from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from graph.context import Context
from graph.error_codes import MaskUnexpectedErrors, assign_code
from graph.global_id import decode_typed_id
from graph.node_lookup import load_node, load_nodes
from graph.resolvers.venue_list import venues
from graph.types.booking import Booking
from graph.types.connection import Connection
from graph.types.media import Media
from graph.types.node import Node
from graph.types.user import User
from graph.types.venue import Venue

# Distinct operation documents kept parsed and validated; clients send a few dozen.
PARSED_DOCUMENTS_CACHED = 512


@strawberry.type(description="Everything a client can read.")
class Query:
    """Root query."""

    @strawberry.field(
        description="One venue by its ID; null when it does not exist or was deleted."
    )
    async def venue(
        self,
        info: strawberry.Info[Context],
        id: Annotated[strawberry.ID, strawberry.argument(description="The venue's global ID.")],  # noqa: A002 - `id` is the GraphQL contract
    ) -> Venue | None:
        """Load a venue through the request's venue loader."""
        row = await info.context.loaders.venue.load(decode_typed_id(id, "Venue", field="id"))
        return Venue.from_model(row) if row else None

    venues: Connection[Venue] = strawberry.field(
        resolver=venues, description="Live venues, oldest listing first, one page at a time."
    )

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


class Schema(strawberry.Schema):
    """Strawberry's schema, with our error codes."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its `extensions.code`.

        Strawberry calls this for every result with errors, parse failures included (which
        end before extensions see the result). Unexpected exceptions are logged, with the
        request id, where they are masked.
        """
        del execution_context
        for error in errors:
            assign_code(error)


schema = Schema(
    query=Query,
    # Reachable only through the `Node` interface from the root, so listed explicitly.
    types=[Booking, Media, User, Venue],
    extensions=[
        lambda: ParserCache(maxsize=PARSED_DOCUMENTS_CACHED),
        lambda: ValidationCache(maxsize=PARSED_DOCUMENTS_CACHED),
        MaskUnexpectedErrors,
    ],
)
