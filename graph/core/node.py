"""The Relay `Node` interface: every object with an opaque global ID."""

import strawberry


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    """Anything refetchable by `node(id:)`."""

    id: strawberry.ID = strawberry.field(
        description="Opaque global ID; pass it back to `node(id:)` or any `id` argument."
    )
