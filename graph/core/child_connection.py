"""A parent's children as a connection field (`Venue.bookings`, `Venue.media`).

Each such field takes the Relay arguments of the root lists (`first`/`after`, `last`/`before`),
their `filter` and their `orderBy`, checked by the same rules, and pages its children through
two loaders, one statement each for every parent of the request asking the same arguments:
the children (in the ordering asked for, so their cursors are the root list's of that ordering
and continue in either) and their count. Built here once from the `Children` declaration, so
two child connections cannot differ in how they page.
"""

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import strawberry
from sqlalchemy import ColumnElement
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import SelectedField

from graph.core.connection import Connection, Edge, page_of
from graph.core.context import Context
from graph.core.declared_resolver import declare_arguments
from graph.core.loaders import (
    ChildArguments,
    ChildCountLoader,
    ChildFilter,
    CountKey,
    FirstChildrenLoader,
    Loaders,
    PageKey,
)
from graph.core.node_lookup import to_node
from graph.core.paging import (
    DEFAULT_CHILD_PAGE_SIZE,
    Ordering,
    Window,
    first_argument,
    page_window,
)
from graph.core.read_model import Children
from graph.core.root_list import list_arguments, order_argument
from graph.core.search import unsearched_order


class _Parent(Protocol):
    row: Any


def hashable(value: object) -> Hashable:
    """An argument's value as a hashable one (a `TypeError` for anything unhashable).

    It takes Strawberry's input objects and graphql-core's coerced dicts, lists and scalars.
    Equal inputs give equal values, so loader keys (and the compiler's cached pieces) made
    from them group as the inputs do. Scalars keep their type: `1`, `1.0` and `True` are
    equal in Python but different inputs (a JSON value may hold any of them).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value), tuple(hashable(getattr(value, item.name)) for item in fields))
    if isinstance(value, list | tuple):
        return (list, tuple(hashable(item) for item in value))
    if isinstance(value, dict):
        return (dict, tuple(sorted((key, hashable(item)) for key, item in value.items())))
    hash(value)
    return (type(value), value)  # scalars and enum members


def _ordering(children: Children[Any, Any], order: Any) -> Ordering:  # noqa: ANN401 - the enum
    """The ordering of `order`, refused as the root list refuses it without `search` or `near`.

    A child connection takes neither, so it offers only the root list's column orderings.
    """
    ordering = children.orderings.get(order)
    if ordering is None:
        raise unsearched_order(order.value)
    return ordering


@dataclasses.dataclass(frozen=True, slots=True)
class ChildPage:
    """A child connection's page for every parent: its ordering, window and filter's SQL."""

    ordering: Ordering
    window: Window
    conditions: Sequence[ColumnElement[bool]]


def plan_child_page(  # noqa: PLR0913 - the connection's arguments
    children: Children[Any, Any],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    filter_: Any,  # noqa: ANN401 - the declaration's filter input
    order_by: Any,  # noqa: ANN401 - the declaration's order enum
    passes_first: bool,
) -> ChildPage:
    """Check a child connection's arguments and plan its page (both paths read it here).

    `passes_first`: the query gives `first` a value, rather than leaving it to its default.
    """
    if last is not None and not passes_first:
        first = None  # `first` has a default page size; `last` alone pages from the end
    ordering = _ordering(children, order_by or children.default_order)
    window = page_window(
        ordering,
        first=first,
        after=after,
        last=last,
        before=before,
        default_size=DEFAULT_CHILD_PAGE_SIZE,
    )
    return ChildPage(ordering, window, tuple(children.conditions(filter_)))


def _passes_first(info: strawberry.Info[Context]) -> bool:
    """Whether the query gives `first` a value (rather than leaving it to its default)."""
    selected = info.selected_fields[0]
    return isinstance(selected, SelectedField) and selected.arguments.get("first") is not None


def child_connection(  # noqa: PLR0913 - the declaration, the loaders and the wording
    children: Children[Any, Any],
    node_type: object,
    *,
    pages: Callable[[Loaders], FirstChildrenLoader],
    counts: Callable[[Loaders], ChildCountLoader],
    description: str,
    filter_description: str,
    order_description: str,
) -> StrawberryField:
    """The field: a page of the parent's live children, filtered and sorted, as a connection.

    `node_type` is the children's GraphQL type (referenced lazily by the parent's module).
    """

    async def resolve(  # noqa: PLR0913 - the connection's arguments
        self: _Parent,
        info: strawberry.Info[Context],
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        filter_: Any,  # noqa: ANN401 - the declaration's filter input
        order_by: Any,  # noqa: ANN401 - the declaration's order enum
    ) -> Any:  # noqa: ANN401 - Connection[node_type]
        page_query = plan_child_page(
            children,
            first=first,
            after=after,
            last=last,
            before=before,
            filter_=filter_,
            order_by=order_by,
            passes_first=_passes_first(info),
        )
        ordering, window = page_query.ordering, page_query.window
        chosen = ChildFilter(hashable(filter_), tuple(page_query.conditions))
        parent_id = self.row.id
        loaders = info.context.loaders
        page = await pages(loaders).load(
            PageKey(parent_id, ChildArguments(ordering, window, chosen))
        )
        edges = [Edge(cursor=ordering.cursor_of(row), node=to_node(row)) for row in page.rows]
        return page_of(
            edges,
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            total_count=lambda: counts(loaders).load(CountKey(parent_id, chosen)),
        )

    if children.filter is None:
        message = "a child connection field takes its children's filter"
        raise TypeError(message)
    connection = Connection[node_type]  # type: ignore[valid-type]
    arguments = list_arguments(
        filter_type=children.filter,
        filter_description=filter_description,
        # A default in the schema, as before `last` was taken: clients omit it.
        first=(first_argument(DEFAULT_CHILD_PAGE_SIZE), DEFAULT_CHILD_PAGE_SIZE),
    )
    declare_arguments(
        resolve,
        arguments | {"order_by": order_argument(type(children.default_order), order_description)},
        returns=connection,
        doc="Page through the parent's live children, as the root list of their type pages.",
        method=True,
    )
    field: StrawberryField = strawberry.field(resolver=resolve, description=description)
    return field
