"""A root list declared once: what it lists, who may list it, how it filters and sorts.

The four root lists (`venues`, `media`, `bookings`, `users`) take the same Relay arguments,
`filter`, `orderBy` and `includeDeleted`, and the searchable ones `search`, `near` and `within`
too. Their resolvers were four copies of one signature and one call; each entity now declares a
`RootList` and takes its resolver from it, so the arguments, their order and their descriptions
cannot drift between lists.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import ColumnElement

from graph.core.context import Context
from graph.core.declared_resolver import declare_arguments
from graph.core.list_page import PageQuery, list_page, plan_list_page
from graph.core.paging import After, Before, First, IncludeDeleted, Last, Ordering
from graph.core.search import (
    NearArgument,
    SearchableList,
    SearchArgument,
    WithinArgument,
    plan_searched_page,
    searched_list_page,
    wants_highlight,
)

RowT = TypeVar("RowT")
FilterT = TypeVar("FilterT")
OrderT = TypeVar("OrderT", bound=Enum)


# Each root list's resolver -> its declaration, for the compiler (which reads the field's
# resolver off the schema).
_ROOT_LISTS: dict[Callable[..., Any], "RootList[Any, Any, Any]"] = {}


def root_list_of(resolver: object) -> "RootList[Any, Any, Any] | None":
    """The declaration behind a root list field's resolver, if it is one."""
    return _ROOT_LISTS.get(resolver) if callable(resolver) else None


def list_arguments(
    *, filter_type: type, filter_description: str, first: tuple[object, object] = (First, None)
) -> dict[str, tuple[object, object]]:
    """A list's Relay arguments and its `filter`, as `declare_arguments` takes them.

    `first` is the `first` argument's annotation and default (the root lists': none, serving
    `DEFAULT_PAGE_SIZE`).
    """
    return {
        "first": first,
        "after": (After, None),
        "last": (Last, None),
        "before": (Before, None),
        "filter_": (
            Annotated[
                filter_type | None,
                strawberry.argument(name="filter", description=filter_description),
            ],
            None,
        ),
    }


def order_argument(order: type[Enum], description: str) -> tuple[object, object]:
    """A list's `orderBy` argument, of the enum `order`, as `declare_arguments` takes it."""
    return Annotated[order | None, strawberry.argument(description=description)], None


def anyone(context: Context) -> None:
    """Every viewer may read the list (its conditions still say which rows)."""


@dataclass(frozen=True, kw_only=True)
class Searchable:
    """What a list that takes `search`, `near` and `within` adds: its table and edge types."""

    listed: SearchableList
    edge: Callable[..., Any]


@dataclass(frozen=True, kw_only=True)
class RootList(Generic[RowT, FilterT, OrderT]):
    """One root list's declaration; `resolver()` is the field's resolver.

    `authorize` runs first (it raises `UNAUTHENTICATED` or `FORBIDDEN`); `conditions` turn the
    viewer and the `filter` argument into SQL conditions (the access rule included) and are
    built once the other arguments are checked, keeping the order in which errors are reported.
    """

    model: type[RowT]
    node: Callable[[RowT], Any]
    connection: Any  # the field's GraphQL type: `Connection[Booking]`, `VenueListConnection`
    filter: type[FilterT]
    filter_description: str
    conditions: Callable[[Context, FilterT | None], Sequence[ColumnElement[bool]]]
    order: type[OrderT]
    order_description: str
    default_order: OrderT
    orderings: Mapping[OrderT, Ordering]
    authorize: Callable[[Context], object] = anyone
    searchable: Searchable | None = None
    summary: str

    def resolver(self) -> Callable[..., Awaitable[Any]]:
        """An async resolver whose signature declares the list's arguments to Strawberry."""

        async def resolve(info: strawberry.Info[Context], **arguments: Any) -> Any:  # noqa: ANN401 - the declared connection type
            return await self._page(info, **arguments)

        declare_arguments(resolve, self._arguments(), returns=self.connection, doc=self.summary)
        _ROOT_LISTS[resolve] = self
        return resolve

    def _arguments(self) -> dict[str, tuple[object, object]]:
        """Each argument's Python name, annotation and default, in the schema's order."""
        arguments = list_arguments(
            filter_type=self.filter, filter_description=self.filter_description
        )
        if self.searchable is not None:
            arguments |= {
                "search": (SearchArgument, None),
                "near": (NearArgument, None),
                "within": (WithinArgument, None),
            }
        return arguments | {
            "order_by": order_argument(self.order, self.order_description),
            "include_deleted": (IncludeDeleted, False),
        }

    def page_query(  # noqa: PLR0913 - the list's arguments, as the resolver receives them
        self,
        context: Context,
        *,
        highlight: bool,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        filter_: FilterT | None,
        order_by: OrderT | None,
        include_deleted: bool | None,
        **search: Any,  # noqa: ANN401 - `search`, `near`, `within` of a searchable list
    ) -> PageQuery[RowT]:
        """The page the arguments ask for, checked (errors as the field reports them).

        Both paths plan the list here: the resolver below, and the compiled path.
        `highlight`: the selection reads `edges { highlight }`.
        """
        self.authorize(context)

        def conditions() -> Sequence[ColumnElement[bool]]:
            return self.conditions(context, filter_)

        if self.searchable is None:
            return plan_list_page(
                context,
                self.model,
                conditions=conditions,
                order=order_by,
                default_order=self.default_order,
                orderings=self.orderings,
                first=first,
                after=after,
                last=last,
                before=before,
                include_deleted=include_deleted,
            )
        return plan_searched_page(
            context,
            self.searchable.listed,
            self.model,
            search=search["search"],
            near=search["near"],
            within=search["within"],
            conditions=conditions,
            order=order_by,
            default_order=self.default_order,
            orderings=self.orderings,
            first=first,
            after=after,
            last=last,
            before=before,
            include_deleted=include_deleted,
            highlight=highlight,
        )

    async def _page(self, info: strawberry.Info[Context], **arguments: Any) -> Any:  # noqa: ANN401 - the declared connection type
        highlight = self.searchable is not None and wants_highlight(info)
        query = self.page_query(info.context, highlight=highlight, **arguments)
        if self.searchable is None:
            return await list_page(info, query, node=self.node)
        return await searched_list_page(
            info,
            query,
            node=self.node,
            edge=self.searchable.edge,
            connection=self.connection,
        )
