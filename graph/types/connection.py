"""Relay cursor connections, generic over the node type."""

from typing import Generic, TypeVar

import strawberry

NodeType = TypeVar("NodeType")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    """Relay page information."""

    has_next_page: bool = strawberry.field(description="Whether items exist after this page.")
    has_previous_page: bool = strawberry.field(description="Whether items exist before this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the page's first item.")
    end_cursor: str | None = strawberry.field(description="Cursor of the page's last item.")


@strawberry.type(description="One item of a list, with the cursor that points at it.")
class Edge(Generic[NodeType]):
    """A node and its cursor."""

    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: NodeType = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list.")
class Connection(Generic[NodeType]):
    """A page of items and how to get the next one."""

    edges: list[Edge[NodeType]] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits in the list.")


def page_of(
    edges: list[Edge[NodeType]], *, has_next_page: bool, has_previous_page: bool = False
) -> Connection[NodeType]:
    """Wrap a page's edges in a connection whose cursors point at its first and last edge."""
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
