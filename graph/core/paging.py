"""Keyset paging, once: page sizes, orderings, windows, the keyset condition and page fetching.

Relay's `first`/`after` and `last`/`before` over any filtered ORM select.

A list field builds `select(Model)` with its filters and the viewer's visibility condition,
picks an `Ordering` (sort keys ending with the primary key), and hands both to `paginate`.
The page is one statement: the rows after (or before) the cursor's sort-key values, one row
more than asked for to tell whether another page exists. Cursors hold those values, never an
offset, so rows inserted between two requests neither repeat nor get skipped.

A sort key is any SQL expression: a column, or a computed one such as a `ts_rank` or a
distance. Its value is selected next to the row, written into the cursor and compared as
`(k1, k2, ..., id) > (v1, v2, ..., id0)` on the next page, so a new ordering is a new
`Ordering`, not a change here. `extras` select further per-row values (for edge fields).
"""

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from sqlalchemy import (
    ColumnElement,
    Exists,
    Numeric,
    Select,
    UnaryExpression,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased

from graph.core.connection import Connection, Edge, TotalCount, page_of
from graph.core.cursors import KeyKind, decode_cursor, encode_cursor, encode_cursor_sql
from graph.core.errors import BadUserInputError
from graph.core.request_database import RequestDatabase

# Page sizes: every default and maximum a paged field has, here and nowhere else.
MAX_PAGE_SIZE = 100
# The page a list serves when neither `first` nor `last` is given (the query cost prices it).
DEFAULT_PAGE_SIZE = 20
# The page of a venue's bookings or media: smaller, as a list of venues multiplies it.
DEFAULT_CHILD_PAGE_SIZE = 10

RowType = TypeVar("RowType")
NodeType = TypeVar("NodeType")
OrderType = TypeVar("OrderType", bound=enum.Enum)


def first_argument(default: int) -> object:
    """The `first` argument of a connection that serves `default` items when given no size."""
    return Annotated[
        int | None,
        strawberry.argument(
            description=f"How many items from the start (or from `after`), 0 to "
            f"{MAX_PAGE_SIZE}; {default} when neither `first` nor `last` is given."
        ),
    ]


First = first_argument(DEFAULT_PAGE_SIZE)
After = Annotated[
    str | None,
    strawberry.argument(description="Only items after this cursor (an edge's `cursor`)."),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description=f"How many items from the end (or before `before`), 0 to {MAX_PAGE_SIZE}. "
        "Not together with `first`."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="Only items before this cursor (an edge's `cursor`)."),
]
IncludeDeleted = Annotated[
    bool | None,
    strawberry.argument(
        description="Admins only: also list soft-deleted items (their `deletedAt` is set)."
    ),
]


def checked_page_size(first: int, *, field: str = "first") -> int:
    """Return `first` if it is a page size we serve (0 to 100), else `BAD_USER_INPUT`."""
    if not 0 <= first <= MAX_PAGE_SIZE:
        message = f"`{field}` must be between 0 and {MAX_PAGE_SIZE}; got {first}."
        raise BadUserInputError(message, field=field)
    return first


# What a nullable key's nulls sort as, by direction: after every value either way.
_NULLS_LAST = {False: "'infinity'::timestamptz", True: "'-infinity'::timestamptz"}


@dataclasses.dataclass(frozen=True, slots=True)
class SortKey:
    """One key of an ordering: an SQL expression, its value type and direction.

    Nullable keys (date-times only) sort their nulls last in either direction: the list sorts by
    `sorted()`, the key with a null read as infinity (ascending) or minus infinity (descending),
    so that `(key, id)` stays one row comparison and one index range (an index on that
    `coalesce`) while cursors keep the null. `attribute` names the mapped attribute holding the
    value when the key is a plain column (see `Ordering.cursor_of`).
    """

    expression: ColumnElement[Any]
    kind: KeyKind
    descending: bool = False
    nullable: bool = False
    attribute: str | None = None

    def __post_init__(self) -> None:
        """Refuse nullable keys that `sorted` cannot place (only date-times have infinities)."""
        if self.nullable and self.kind is not KeyKind.DATETIME:
            message = f"a nullable sort key must be a date-time, not {self.kind}"
            raise ValueError(message)

    @classmethod
    def column(
        cls,
        attribute: InstrumentedAttribute[Any],
        kind: KeyKind,
        *,
        descending: bool = False,
        nullable: bool = False,
    ) -> "SortKey":
        """A key on a mapped column, readable from a loaded row."""
        return cls(attribute.expression, kind, descending, nullable, attribute.key)

    def sorted(self, expression: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
        """What the list sorts by: the key (or `expression`), a null past every value."""
        value = self.expression if expression is None else expression
        if not self.nullable:
            return value
        last = literal_column(_NULLS_LAST[self.descending], type_=self.expression.type)
        return func.coalesce(value, last, type_=self.expression.type)

    def order_by(self, expression: ColumnElement[Any], *, reverse: bool) -> UnaryExpression[Any]:
        """This key's ORDER BY clause on `expression`, reversed for backward paging."""
        value = self.sorted(expression)
        return value.desc() if self.descending != reverse else value.asc()


@dataclasses.dataclass(frozen=True, slots=True)
class Ordering:
    """A named total order: sort keys, the last one unique and never null (the primary key)."""

    name: str
    keys: tuple[SortKey, ...]

    def __post_init__(self) -> None:
        """Refuse orders that are not total: the tie-break must be unique and non-null."""
        if not self.keys or self.keys[-1].nullable:
            message = f"ordering {self.name} must end with a non-null unique key"
            raise ValueError(message)

    @property
    def kinds(self) -> tuple[KeyKind, ...]:
        """The value kind of each key, as a cursor of this ordering writes them."""
        return tuple(key.kind for key in self.keys)

    def on(self, *expressions: ColumnElement[Any]) -> "Ordering":
        """The same ordering (and cursors) over other expressions, one per key (a subquery's)."""
        keys = tuple(
            dataclasses.replace(key, expression=expression, attribute=None)
            for key, expression in zip(self.keys, expressions, strict=True)
        )
        return Ordering(self.name, keys)

    def order_by(self, *, reverse: bool = False) -> list[UnaryExpression[Any]]:
        """The ORDER BY clauses of this ordering, reversed for backward paging."""
        return [key.order_by(key.expression, reverse=reverse) for key in self.keys]

    def cursor(self, values: Sequence[Any]) -> str:
        """The cursor of a row whose sort-key values are `values`."""
        return encode_cursor(self.name, self.kinds, values)

    def cursor_sql(self, expressions: Sequence[ColumnElement[Any]]) -> ColumnElement[str]:
        """The cursor of a row as SQL text, from its sort-key `expressions` (the compiler's)."""
        return encode_cursor_sql(
            self.name, self.kinds, expressions, [key.nullable for key in self.keys]
        )

    def cursor_of(self, row: object) -> str:
        """The cursor of a loaded row, for orderings made only of column keys."""
        values = []
        for key in self.keys:
            if key.attribute is None:
                message = f"ordering {self.name} has computed keys: use the selected values"
                raise ValueError(message)
            values.append(getattr(row, key.attribute))
        return self.cursor(values)

    def decode(self, cursor: str, *, field: str) -> tuple[Any, ...]:
        """The sort-key values a cursor of this ordering holds; `BAD_USER_INPUT` otherwise."""
        return decode_cursor(
            cursor,
            ordering=self.name,
            kinds=self.kinds,
            nullable=[key.nullable for key in self.keys],
            field=field,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class SortedColumn(Generic[OrderType]):
    """A column a list sorts by both ways: its two orders, its value kind, whether it has nulls."""

    ascending: OrderType
    descending: OrderType
    attribute: InstrumentedAttribute[Any]
    kind: KeyKind
    nullable: bool = False


def column_orderings(
    entity: str,
    tie_break: InstrumentedAttribute[Any],
    columns: Iterable[SortedColumn[OrderType]],
) -> dict[OrderType, Ordering]:
    """Each column's ascending and descending `Ordering`, named `Entity.ORDER`, ties by `tie_break`.

    A descending ordering is its ascending one reversed, ties included (`tie_break` descending),
    so that both walk one index on `(column, tie_break)`, from either end. The name is part of
    every cursor, so it must stay what clients already hold.
    """
    orderings: dict[OrderType, Ordering] = {}
    for column in columns:
        for order, descending in ((column.ascending, False), (column.descending, True)):
            key = SortKey.column(
                column.attribute, column.kind, descending=descending, nullable=column.nullable
            )
            last = SortKey.column(tie_break, KeyKind.UUID, descending=descending)
            orderings[order] = Ordering(f"{entity}.{order.value}", (key, last))
    return orderings


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """Validated Relay arguments: how many rows, which way, between which positions."""

    size: int
    backward: bool = False
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None


def page_window(  # noqa: PLR0913 - the Relay arguments and the default page size
    ordering: Ordering,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    default_size: int = DEFAULT_PAGE_SIZE,
) -> Window:
    """Check Relay arguments against the rules every list shares; `BAD_USER_INPUT` if broken.

    Given neither `first` nor `last`, the window holds `default_size` rows from the start.
    """
    if first is not None and last is not None:
        message = "Pass `first` or `last`, not both."
        raise BadUserInputError(message, field="last")
    for name, value in (("first", first), ("last", last)):
        if value is not None:
            checked_page_size(value, field=name)
    return Window(
        size=first if first is not None else last if last is not None else default_size,
        backward=last is not None,
        after=ordering.decode(after, field="after") if after is not None else None,
        before=ordering.decode(before, field="before") if before is not None else None,
    )


def window_conditions(ordering: Ordering, window: Window) -> list[ColumnElement[bool]]:
    """The keyset conditions of `window`'s cursors: rows after `after`, rows before `before`."""
    conditions: list[ColumnElement[bool]] = []
    if window.after is not None:
        conditions.append(beyond(ordering, window.after, forward=True))
    if window.before is not None:
        conditions.append(beyond(ordering, window.before, forward=False))
    return conditions


# The names of `outside_window`'s conditions, as `cut_page` reads whether rows meet them.
ROWS_BEFORE = "_rows_before"
ROWS_AFTER = "_rows_after"


def outside_window(ordering: Ordering, window: Window) -> dict[str, ColumnElement[bool]]:
    """Rows at or beyond each cursor, on the side the page does not read towards.

    Whether any exist tells `hasPreviousPage` past `after` and `hasNextPage` past `before`.
    """
    outside: dict[str, ColumnElement[bool]] = {}
    if window.after is not None:
        outside[ROWS_BEFORE] = at_or_beyond(ordering, window.after, forward=False)
    if window.before is not None:
        outside[ROWS_AFTER] = at_or_beyond(ordering, window.before, forward=True)
    return outside


def rows_exist(statement: Select[Any], ordering: Ordering, *, name: str) -> Exists:
    """Whether `statement` (rows outside a cursor, flag `name`) has any, as one index probe.

    PostgreSQL drops an `EXISTS` subquery's ORDER BY and LIMIT, and then may scan the table
    sequentially for a first match, which for rows clustered at the table's far end (the
    newest, before a newest-first cursor) reads all of it. `OFFSET 0` keeps them: the plan
    walks the ordering's index from the cursor outwards and stops at the first row.
    """
    toward_start = name == ROWS_BEFORE
    nearest = statement.order_by(None).order_by(*ordering.order_by(reverse=toward_start))
    return nearest.limit(1).offset(0).exists()


@dataclasses.dataclass(frozen=True, slots=True)
class Cut(Generic[RowType]):
    """The rows of one page in list order, and whether rows exist on either side."""

    rows: list[RowType]
    has_next_page: bool
    has_previous_page: bool


def cut_page(
    window: Window, found: Sequence[RowType], outside: Mapping[str, bool | None]
) -> Cut[RowType]:
    """The page `found` makes: up to one row past `window`, read in its direction.

    `outside` says whether rows meet each condition of `outside_window` (absent: none do).
    """
    more = len(found) > window.size
    rows = list(found[: window.size])
    if window.backward:
        rows.reverse()
    return Cut(
        rows=rows,
        has_next_page=(more and not window.backward) or bool(outside.get(ROWS_AFTER)),
        has_previous_page=(more and window.backward) or bool(outside.get(ROWS_BEFORE)),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PageRow(Generic[RowType]):
    """One row of a page, its cursor and the `extras` selected with it."""

    row: RowType
    cursor: str
    extras: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Page(Generic[RowType]):
    """The rows of one page in list order, and whether rows exist on either side."""

    rows: list[PageRow[RowType]]
    has_next_page: bool
    has_previous_page: bool


def _bound(key: SortKey, value: Any) -> ColumnElement[Any]:  # noqa: ANN401 - any key's value
    """A cursor's value of `key`, as the list sorts it (`SortKey.sorted`)."""
    if isinstance(value, ColumnElement):  # a parameter bound later (the compiled path's plans)
        bound = value
    else:
        type_ = key.expression.type
        # As unconstrained numeric: a cursor's amount past the column's precision compares
        # instead of overflowing `numeric(12, 2)`.
        bound = bindparam(None, value, type_=Numeric() if isinstance(type_, Numeric) else type_)
    return key.sorted(bound)


def _beyond(key: SortKey, value: Any, *, forward: bool) -> ColumnElement[bool]:  # noqa: ANN401
    """Rows strictly after (`forward`) or before `value` on this one key."""
    larger = key.descending != forward
    comparison: ColumnElement[bool] = (
        key.sorted() > _bound(key, value) if larger else key.sorted() < _bound(key, value)
    )
    return comparison


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:  # noqa: ANN401
    equal: ColumnElement[bool] = key.sorted() == _bound(key, value)
    return equal


def _leading_range(key: SortKey, value: Any, *, forward: bool) -> ColumnElement[bool]:  # noqa: ANN401
    """The range of the first key holding the cursor's row and every row beyond it.

    Redundant beside the keyset condition, it gives an index on the keys a place to start:
    `k < v OR (k = v AND kind > k0)` (the root search's rank descending, ties by kind and id
    ascending) bounds no index scan, `k <= v AND (...)` does.
    """
    at_or_larger = key.descending != forward
    bound: ColumnElement[bool] = (
        key.sorted() >= _bound(key, value) if at_or_larger else key.sorted() <= _bound(key, value)
    )
    return bound


def _keyset_terms(
    ordering: Ordering, values: Sequence[Any], *, forward: bool
) -> tuple[list[ColumnElement[bool]], bool]:
    """The OR-ed terms of `beyond`, and whether they are one row comparison on every key."""
    keys = ordering.keys
    start = len(keys) - 1
    while start > 0 and keys[start - 1].descending == keys[-1].descending:
        start -= 1
    if start == len(keys) - 1:
        start = len(keys)  # one trailing key: compared like the keys before it
    terms = [
        and_(
            *(_equal(k, v) for k, v in zip(keys[:i], values[:i], strict=True)),
            _beyond(key, values[i], forward=forward),
        )
        for i, key in enumerate(keys[:start])
    ]
    if start < len(keys):
        tail = keys[start:]
        left = tuple_(*(key.sorted() for key in tail))
        right = tuple_(
            *(_bound(key, value) for key, value in zip(tail, values[start:], strict=True))
        )
        row = left > right if tail[0].descending != forward else left < right
        if start == 0:
            return [row], True
        prefix = (_equal(k, v) for k, v in zip(keys[:start], values[:start], strict=True))
        terms.append(and_(*prefix, row))
    return terms, False


def beyond(ordering: Ordering, values: Sequence[Any], *, forward: bool) -> ColumnElement[bool]:
    """The keyset condition: rows strictly after (`forward`) or strictly before `values`.

    The trailing keys that run the same way (two or more) are compared as one row,
    `(k, id) > (v, id0)`, a condition an index on them can serve; each key before them adds
    "beyond on this key, equal on those before it", and the whole is then bounded by a range
    on the first key (`_leading_range`), so that an index scan starts at the cursor instead of
    at an end of the index.
    """
    terms, single_row = _keyset_terms(ordering, values, forward=forward)
    condition = terms[0] if len(terms) == 1 else or_(*terms)
    if single_row or len(ordering.keys) == 1:
        return condition
    return and_(_leading_range(ordering.keys[0], values[0], forward=forward), condition)


def at_or_beyond(
    ordering: Ordering, values: Sequence[Any], *, forward: bool
) -> ColumnElement[bool]:
    """Rows at the position `values` or beyond it (after it when `forward`).

    Bounded like `beyond`, so that whether any such row exists is one index probe.
    """
    terms, single_row = _keyset_terms(ordering, values, forward=forward)
    keys = ordering.keys
    if single_row:
        # `(k, id) >= (v, id0)`: the row comparison an index scan starts from.
        left = tuple_(*(key.sorted() for key in keys))
        right = tuple_(*(_bound(key, value) for key, value in zip(keys, values, strict=True)))
        return left >= right if keys[0].descending != forward else left <= right
    at = and_(*(_equal(key, value) for key, value in zip(keys, values, strict=True)))
    return and_(_leading_range(keys[0], values[0], forward=forward), or_(at, *terms))


async def fetch_page(  # noqa: PLR0913 - the page, its extras and a branched read's parts
    db: RequestDatabase,
    statement: Select[RowType],
    *,
    ordering: Ordering,
    window: Window,
    extras: Mapping[str, ColumnElement[Any]] | None = None,
    among: ColumnElement[bool] | None = None,
    outside: Mapping[str, ColumnElement[bool]] | None = None,
    plan_as_search: bool = False,
) -> Page[RowType]:
    """Run one statement for one page of `statement` (a filtered `select(Model)`).

    `among` narrows the page's read to the rows that can be on it, and `outside` says instead
    of `statement` whether rows lie beyond the cursors (a `graph.core.ranked_page.BranchedPage`
    gives both). `plan_as_search`: see `RequestDatabase.run`.
    """
    extras = extras or {}
    keys = ordering.keys
    sort_labels = [f"_sort_{i}" for i in range(len(keys))]
    page = statement.order_by(None).add_columns(
        *(key.expression.label(label) for key, label in zip(keys, sort_labels, strict=True)),
        *(expression.label(name) for name, expression in extras.items()),
    )
    page = page.where(*window_conditions(ordering, window))
    if among is not None:
        page = page.where(among)
    page = page.order_by(*ordering.order_by(reverse=window.backward))
    page = page.limit(window.size + 1)

    base = statement.order_by(None)
    flags: Mapping[str, ColumnElement[bool]] = (
        {
            name: rows_exist(base.where(condition), ordering, name=name)
            for name, condition in outside_window(ordering, window).items()
        }
        if outside is None
        else outside
    )

    options = statement.get_execution_options()
    if flags:
        # The flags must arrive even when the page is empty: one flags row, the page joined on.
        page_rows = page.subquery("page")
        flag_row = select(*(flag.label(name) for name, flag in flags.items())).subquery("flags")
        entity = aliased(statement.column_descriptions[0]["entity"], page_rows)
        executed: Select[Any] = (
            select(
                entity,
                *(page_rows.c[label] for label in sort_labels),
                *(page_rows.c[name] for name in extras),
                *(flag_row.c[name] for name in flags),
            )
            .select_from(flag_row)
            .outerjoin(page_rows, true())
            .order_by(
                *(
                    key.order_by(page_rows.c[label], reverse=window.backward)
                    for key, label in zip(keys, sort_labels, strict=True)
                )
            )
        )
    else:
        executed = page
    result = list(
        await db.execute(executed.execution_options(**options), plan_as_search=plan_as_search)
    )

    flag_values = dict(zip(flags, result[0][-len(flags) :], strict=True)) if flags else {}
    cut = cut_page(window, [row for row in result if row[0] is not None], flag_values)
    rows = [
        PageRow(
            row=row[0],
            cursor=ordering.cursor(row[1 : len(keys) + 1]),
            extras=dict(zip(extras, row[len(keys) + 1 : len(keys) + 1 + len(extras)], strict=True)),
        )
        for row in cut.rows
    ]
    return Page(rows=rows, has_next_page=cut.has_next_page, has_previous_page=cut.has_previous_page)


def counter(db: RequestDatabase, statement: Select[Any]) -> TotalCount:
    """A `totalCount` for `statement`: one `count(*)` of the same rows, run only when awaited."""
    counted = (
        select(func.count())
        .select_from(statement.order_by(None).subquery("counted"))
        .execution_options(**statement.get_execution_options())
    )

    async def count() -> int:
        return int((await db.execute(counted)).scalar_one())

    return count


async def paginate(
    db: RequestDatabase,
    statement: Select[RowType],
    *,
    ordering: Ordering,
    window: Window,
    node: Callable[[RowType], NodeType],
) -> Connection[NodeType]:
    """One page of `statement` as a connection; `totalCount` counts the same rows if selected.

    The page's rows are not primed into the by-id loaders: whether a later lookup finds its
    row cached would then depend on the data, and the statements a query runs must depend
    only on its shape.
    """
    page = await fetch_page(db, statement, ordering=ordering, window=window)
    edges = [Edge(cursor=row.cursor, node=node(row.row)) for row in page.rows]
    return page_of(
        edges,
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        total_count=counter(db, statement),
    )
