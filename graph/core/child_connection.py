"""A parent's first children as a connection field (`Venue.bookings`, `Venue.media`).

Each such field takes `first` and pages its children through two loaders, one statement each
for every parent of the request: the children (in the ordering its `Children` declaration
names, so their cursors continue in the root list of that ordering) and their count. Built here
once from the declaration, so two child connections cannot differ in how they page.
"""

from collections.abc import Callable
from typing import Annotated, Any, Protocol

import strawberry
from strawberry.types.field import StrawberryField

from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.declared_resolver import declare_arguments
from graph.core.loaders import ChildCountLoader, FirstChildrenLoader, Loaders, PageKey
from graph.core.node_lookup import to_node
from graph.core.paging import DEFAULT_CHILD_PAGE_SIZE, MAX_PAGE_SIZE, checked_page_size
from graph.core.read_model import Children


class _Parent(Protocol):
    row: Any


def child_connection(  # noqa: PLR0913 - the declaration, the loaders and the wording
    children: Children,
    node_type: object,
    *,
    pages: Callable[[Loaders], FirstChildrenLoader],
    counts: Callable[[Loaders], ChildCountLoader],
    description: str,
    items: str,
) -> StrawberryField:
    """The field: `first` (0 to 100, `items` names them) children of the parent, as a connection.

    `node_type` is the children's GraphQL type (referenced lazily by the parent's module).
    """

    async def resolve(self: _Parent, info: strawberry.Info[Context], first: int) -> Any:  # noqa: ANN401 - Connection[node_type]
        parent_id = self.row.id
        page = await pages(info.context.loaders).load(
            PageKey(parent_id, children.ordering, checked_page_size(first))
        )
        edges = [
            Edge(cursor=children.ordering.cursor_of(row), node=to_node(row)) for row in page.rows
        ]
        return page_of(
            edges,
            has_next_page=page.has_next_page,
            total_count=lambda: counts(info.context.loaders).load(parent_id),
        )

    connection = Connection[node_type]  # type: ignore[valid-type]
    first = Annotated[
        int, strawberry.argument(description=f"How many {items}, 0 to {MAX_PAGE_SIZE}.")
    ]
    declare_arguments(
        resolve,
        {"first": (first, DEFAULT_CHILD_PAGE_SIZE)},
        returns=connection,
        doc=f"Page through the parent's live {items}.",
        method=True,
    )
    field: StrawberryField = strawberry.field(resolver=resolve, description=description)
    return field
