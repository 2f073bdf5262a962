"""The flow every root list shares: check the arguments, build the statement, fetch one page.

Lists that also take `search`, `near` and `within` add to it in graph/core/search.py; each
list is declared once, with its arguments, in graph/core/root_list.py.
"""

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TypeVar

import strawberry
from sqlalchemy import ColumnElement, select

from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.paging import Ordering, page_window, paginate
from models import INCLUDE_DELETED

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")
OrderT = TypeVar("OrderT", bound=Enum)


async def list_page(  # noqa: PLR0913 - a list's Relay arguments and what it lists
    info: strawberry.Info[Context],
    model: type[RowT],
    *,
    conditions: Callable[[], Sequence[ColumnElement[bool]]],
    order: OrderT | None,
    default_order: OrderT,
    orderings: Mapping[OrderT, Ordering],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    include_deleted: bool | None,
    node: Callable[[RowT], NodeT],
) -> Connection[NodeT]:
    """One page of the `model` rows that meet `conditions`, in `order`, as a connection.

    `conditions` is called once the Relay arguments are checked, keeping the order of errors.
    """
    deleted_rows = deleted_rows_options(info.context, include_deleted)
    ordering = orderings[order or default_order]
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(model).where(*conditions()).execution_options(**deleted_rows)
    return await paginate(info.context.db, statement, ordering=ordering, window=window, node=node)


def deleted_rows_options(context: Context, include_deleted: bool | None) -> dict[str, bool]:  # noqa: FBT001 - mirrors the GraphQL argument
    """Execution options for a list's statement: soft-deleted rows too, for admins who ask.

    Anyone else asking gets `FORBIDDEN` (`UNAUTHENTICATED` when signed out).
    """
    if not include_deleted:
        return {}
    context.require_admin()
    return {INCLUDE_DELETED: True}
