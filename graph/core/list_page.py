"""The flow every root list shares: check the arguments, build the statement, fetch one page.

Each list keeps its own resolver, since GraphQL needs its explicit arguments and its own
connection type; what it does with them is written once here.
"""

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, select

from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.geo import NearInput, WithinInput
from graph.core.paging import (
    Ordering,
    counter,
    fetch_page,
    page_window,
    paginate,
)
from graph.search.resolver import (
    DISTANCE,
    RELEVANCE,
    SearchableList,
    found_values,
    list_query,
    page_info,
    search_criteria,
    wants_highlight,
)
from models import INCLUDE_DELETED

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")
OrderT = TypeVar("OrderT", bound=Enum)
ConnectionT = TypeVar("ConnectionT")


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


async def searched_list_page(  # noqa: PLR0913 - a list's Relay, search and order arguments
    info: strawberry.Info[Context],
    listed: SearchableList,
    model: type[RowT],
    *,
    search: str | None,
    near: NearInput | None,
    within: WithinInput | None,
    conditions: Callable[[], Sequence[ColumnElement[bool]]],
    order: OrderT | None,
    default_order: OrderT,
    orderings: Mapping[OrderT, Ordering],
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    include_deleted: bool | None,
    node: Callable[[RowT], Any],
    edge: Callable[..., Any],
    connection: Callable[..., ConnectionT],
) -> ConnectionT:
    """One page of a list that takes `search`, `near` and `within`, as `connection`.

    `conditions` (the list's filter and access rule) is called once the other arguments are
    checked, so a request with several bad arguments hears of them in the same order as before.

    With `search` and no `order`, the best match comes first; otherwise `default_order`.
    `RELEVANCE` and `DISTANCE` orderings come from the search, the others from `orderings`.
    """
    deleted_rows = deleted_rows_options(info.context, include_deleted)
    criteria = search_criteria(search, near, within)
    query = list_query(listed, criteria, conditions(), highlight=wants_highlight(info))
    if order is None:
        order = type(default_order)(RELEVANCE) if criteria.search is not None else default_order
    ordering = (
        query.ordering(order.value) if order.value in {RELEVANCE, DISTANCE} else orderings[order]
    )
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    statement = select(model).where(*query.conditions).execution_options(**deleted_rows)

    page = await fetch_page(
        info.context.db, statement, ordering=ordering, window=window, extras=query.extras
    )
    edges = [
        edge(cursor=row.cursor, node=node(row.row), **found_values(row.extras)) for row in page.rows
    ]
    return connection(
        edges=edges, page_info=page_info(page), count_total=counter(info.context.db, statement)
    )


def deleted_rows_options(context: Context, include_deleted: bool | None) -> dict[str, bool]:  # noqa: FBT001 - mirrors the GraphQL argument
    """Execution options for a list's statement: soft-deleted rows too, for admins who ask.

    Anyone else asking gets `FORBIDDEN` (`UNAUTHENTICATED` when signed out).
    """
    if not include_deleted:
        return {}
    context.require_admin()
    return {INCLUDE_DELETED: True}
