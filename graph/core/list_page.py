"""The flow every root list shares: check the arguments, build the statement, fetch one page.

Lists that also take `search`, `near` and `within` add to it in graph/core/search.py; each
list is declared once, with its arguments, in graph/core/root_list.py.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, select

from graph.core.connection import Connection
from graph.core.context import Context
from graph.core.paging import Ordering, Window, page_window, paginate
from models import INCLUDE_DELETED

RowT = TypeVar("RowT")
NodeT = TypeVar("NodeT")
OrderT = TypeVar("OrderT", bound=Enum)


@dataclass(frozen=True, slots=True)
class PageQuery(Generic[RowT]):
    """One page of a list, planned: which rows, in which order, from where, with which extras.

    Both paths read a list through it: the loader path fetches it (`paginate`, `fetch_page`),
    the compiled path (graph/compiler/) writes it into its statement.
    """

    model: type[RowT]
    conditions: Sequence[ColumnElement[bool]]
    ordering: Ordering
    window: Window
    include_deleted: bool
    # Per-row values of the edges (a search's rank, a distance), by name.
    extras: Mapping[str, ColumnElement[Any]] = field(default_factory=dict)
    # What else the list's rows meet, left out of the page's read because `among` implies it
    # (a search by relevance, read branch by branch: `graph.core.ranked_page`).
    matched: Sequence[ColumnElement[bool]] = ()
    # The rows that can be on the page, narrowing its read (a ranked page's branches, the
    # horizon of a nearest-first page), and whether rows lie beyond its cursors when the
    # list's own test would read more than a page (`fetch_page`'s `among` and `outside`).
    among: ColumnElement[bool] | None = None
    outside: Mapping[str, ColumnElement[bool]] | None = None
    # Plan the page for its parameters each run (a search: `RequestDatabase.run`).
    plan_as_search: bool = False

    def statement(self) -> Select[RowT]:
        """The list's rows as an ORM select, soft-deleted ones included only when asked."""
        return self.scope().where(*self.matched)

    def scope(self) -> Select[RowT]:
        """The rows the page is read in: the list but for `matched`."""
        options = {INCLUDE_DELETED: True} if self.include_deleted else {}
        return select(self.model).where(*self.conditions).execution_options(**options)


def plan_list_page(  # noqa: PLR0913 - a list's Relay arguments and what it lists
    context: Context,
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
) -> PageQuery[RowT]:
    """Check a list's arguments and plan its page; `BAD_USER_INPUT` or `FORBIDDEN` if bad.

    `conditions` is called once the Relay arguments are checked, keeping the order of errors.
    """
    deleted_rows = deleted_rows_options(context, include_deleted)
    ordering = orderings[order or default_order]
    window = page_window(ordering, first=first, after=after, last=last, before=before)
    return PageQuery(model, conditions(), ordering, window, bool(deleted_rows))


async def list_page(
    info: strawberry.Info[Context], query: PageQuery[RowT], *, node: Callable[[RowT], NodeT]
) -> Connection[NodeT]:
    """The page `query` plans, as a connection of `node`s."""
    return await paginate(
        info.context.db, query.statement(), ordering=query.ordering, window=query.window, node=node
    )


def deleted_rows_options(context: Context, include_deleted: bool | None) -> dict[str, bool]:  # noqa: FBT001 - mirrors the GraphQL argument
    """Execution options for a list's statement: soft-deleted rows too, for admins who ask.

    Anyone else asking gets `FORBIDDEN` (`UNAUTHENTICATED` when signed out).
    """
    if not include_deleted:
        return {}
    context.require_admin()
    return {INCLUDE_DELETED: True}
