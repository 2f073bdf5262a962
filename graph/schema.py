"""The Strawberry schema: root query and the extensions every operation runs through."""

from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from graph.context import Context
from graph.errors import ClientError
from graph.global_id import decode_typed_id
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


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask everything but errors made for clients and GraphQL's own validation errors."""
    original = error.original_error
    return original is not None and not isinstance(original, ClientError)


schema = strawberry.Schema(
    query=Query,
    extensions=[
        lambda: ParserCache(maxsize=PARSED_DOCUMENTS_CACHED),
        lambda: ValidationCache(maxsize=PARSED_DOCUMENTS_CACHED),
        lambda: MaskErrors(should_mask_error=_is_unexpected),
    ],
)
