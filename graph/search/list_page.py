"""The flow of the root lists that take `search`, `near` and `within` (`venues`, `media`).

The plain lists' flow is `graph.core.list_page.list_page`; this one adds the search's
conditions, extra columns and orders, so it lives with the search.
"""

from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, TypeVar

import strawberry
from sqlalchemy import ColumnElement, select

from graph.core.context import Context
from graph.core.geo import NearInput, WithinInput
from graph.core.pagination import Ordering, counter, deleted_rows_options, fetch_page, page_window
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

RowT = TypeVar("RowT")
OrderT = TypeVar("OrderT", bound=Enum)
ConnectionT = TypeVar("ConnectionT")


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
