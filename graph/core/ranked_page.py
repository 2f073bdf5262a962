"""A page read branch by branch: orderings whose leading keys are constant within each branch.

A search's `RELEVANCE` order is its rank, then the id. The rank is a class of match (see
`models.search.RANK_CLASSES`), one constant per class, so the rows of one rank are a branch:
a select of the listed table's ids under its own condition (served by its own index), read in
id order. The page is then the first rows of the best branches: each branch gives at most a
page (plus one) from the cursor on, and the union of those is all the page can hold. No row
is ranked to find them, and a branch wholly before the cursor is not read at all.

The cursor's position is resolved in Python, against each branch's constant keys: a branch
after the cursor is read from its start, the branch holding it from the cursor's id, and the
branches before it not at all. So each branch's keyset condition is a plain range on the id,
which an index serves whatever plan PostgreSQL keeps for the statement. A branch whose leading
keys are expressions (the typo fallback's similarity) is paged with the whole keyset instead.

A constant branch is read in two steps whose cost is bounded whatever PostgreSQL guesses of
its size (`_BoundedRead`): it walks the table's next ids from the cursor (100 per row of the
page), keeping those in the branch; only when they hold less than the page does it read the
rest of the branch, past the walk, from the branch's own indexes. A dense branch fills the
page from the walk's first rows; a sparse one has few rows past it (about one in 100 of the
table where rows are spread evenly over ids), read and sorted. Left to itself, PostgreSQL
takes a common word it has no statistics for (in a description, not in any name) for one of
0.5 % of the rows, and either walked the whole table for a name class that held none of them
(500,000 media: 460 ms) or read every caption that held it to sort them (tens of thousands).
"""

import dataclasses
import enum
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    any_,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)

from graph.core.paging import (
    ROWS_AFTER,
    ROWS_BEFORE,
    Ordering,
    SortKey,
    Window,
    at_or_beyond,
    beyond,
)

# How many ids of the listed table a constant branch walks from the cursor, per row it looks
# for, before it reads the rest of the branch from its own indexes. Each walked id costs a
# primary-key lookup and the branch's test (about 1.5 µs); a branch that holds fewer than
# one row in this many is read whole past the walk, which over 500,000 media is at most about
# 5,000 rows (about as long as walking 2,000 ids) when its rows are spread evenly over ids.
WALKED_PER_ROW = 100


class _Side(enum.Enum):
    """Where a branch lies against a cursor, in the ordering's order."""

    BEFORE = enum.auto()
    HOLDS = enum.auto()  # its constant keys are the cursor's: the cursor is inside it
    AFTER = enum.auto()


@dataclasses.dataclass(frozen=True, slots=True)
class Branch:
    """Rows sharing the values of an ordering's keys but the last (the listed id).

    `leading` gives those keys' SQL expressions; `values` their values when constant (None:
    they vary by row). `rows` selects the listed id column (named `id`) under the branch's
    conditions, from the table that column belongs to. `gate`: a condition on no row
    (one-time) without which the branch is empty, such as "some row matches the search":
    when it fails, nothing of the branch is read.
    """

    leading: tuple[ColumnElement[Any], ...]
    values: tuple[Any, ...] | None
    rows: "Select[*tuple[Any, ...]]"
    gate: ColumnElement[bool] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class BranchedPage:
    """The branches of one list and where its ids are: what a page and its flags read."""

    branches: tuple[Branch, ...]
    id: ColumnElement[Any]

    def page(self, ordering: Ordering, window: Window) -> ColumnElement[bool]:
        """The ids that can be on the page: each branch's first `size + 1` from the cursor.

        They are gathered into an array first, then looked up by primary key: as an `IN`
        (a semi-join), PostgreSQL misjudged how many they are and sometimes walked the whole
        table in order, expecting to meet them soon.
        """
        parts = branch_pages([(branch, self.id) for branch in self.branches], ordering, window)
        if not parts:
            return false()
        ids = func.array(union_all(*parts).scalar_subquery())
        return self.id == any_(ids)

    def outside(self, ordering: Ordering, window: Window) -> dict[str, ColumnElement[bool]]:
        """Whether rows lie at or beyond each cursor, away from the page (`hasPreviousPage`...).

        Each branch answers with an EXISTS that stops at its first row.
        """
        flags: dict[str, ColumnElement[bool]] = {}
        for name, values, forward in (
            (ROWS_BEFORE, window.after, False),
            (ROWS_AFTER, window.before, True),
        ):
            if values is None:
                continue
            found: list[ColumnElement[bool]] = []
            for branch in self.branches:
                condition = _at_or_beyond(branch, ordering, self.id, values, forward=forward)
                if condition is None:
                    continue
                if branch.values is None:
                    found.append(branch.rows.where(condition).correlate(None).exists())
                    continue
                read = _BoundedRead(branch, self.id, ordering.keys[-1], [condition], forward)
                # Not an EXISTS of the rest: PostgreSQL drops an EXISTS' ORDER BY and LIMIT,
                # then plans its read to stop at a first row, walking the table for it.
                rest = read.rest(1).subquery()
                first_past = select(rest.c.id).scalar_subquery()
                found.append(or_(read.walked(1).exists(), first_past.is_not(None)))
            flags[name] = or_(false(), *found)
        return flags


@dataclasses.dataclass(frozen=True, slots=True)
class _BoundedRead:
    """A constant branch's rows from a cursor on, by id, read at a cost bounded by the walk.

    `conditions` place the cursor (on the id); `forward`: in the ordering's order, else
    against it (the rows before a cursor).
    """

    branch: Branch
    id: ColumnElement[Any]
    tail: SortKey
    conditions: list[ColumnElement[bool]]
    forward: bool

    def walked(self, limit: int, *gate: ColumnElement[bool]) -> "Select[*tuple[Any, ...]]":
        """The branch's first `limit` rows among the next `limit * WALKED_PER_ROW` table ids."""
        walk = (
            select(self.id.label("id"))
            .where(*self.conditions)
            .order_by(self._ordered(self.id))
            .limit(limit * WALKED_PER_ROW)
            .subquery()
        )
        # A lookup per walked id, in the walk's order, so the page stops the walk; OFFSET 0
        # keeps PostgreSQL from making it a join, which it could plan from the branch's index.
        found = self.branch.rows.where(self.id == walk.c.id).offset(0).correlate(walk).lateral()
        return (
            select(*found.c)
            .select_from(walk)
            .join(found, true())
            .where(*self._gates(gate))
            .order_by(self._ordered(walk.c.id))
            .limit(limit)
            .correlate(None)
        )

    def rest(self, limit: int, *gate: ColumnElement[bool]) -> "Select[*tuple[Any, ...]]":
        """The branch's first `limit` rows past the walk: all of them read, from its indexes."""
        last_walked = (
            select(self.id)
            .where(*self.conditions)
            .order_by(self._ordered(self.id))
            .offset(limit * WALKED_PER_ROW - 1)
            .limit(1)
            .correlate(None)
            .scalar_subquery()
        )
        # OFFSET 0: planned on its own, for all its rows, so from its indexes. The place past
        # the walk is applied after (inside, PostgreSQL would walk the primary key from it),
        # and so are the gates: outside, they stop the read before any of it starts.
        read = self.branch.rows.where(*self.conditions).offset(0).correlate(None).subquery()
        descending = self.tail.descending == self.forward
        # A table that ends within the walk has no last walked id: nothing is past it.
        past = read.c.id < last_walked if descending else read.c.id > last_walked
        return (
            select(*read.c)
            .where(*self._gates(gate), past)
            .order_by(self._ordered(read.c.id))
            .limit(limit)
        )

    def _gates(self, gate: Sequence[ColumnElement[bool]]) -> list[ColumnElement[bool]]:
        own = [] if self.branch.gate is None else [self.branch.gate]
        return [*own, *gate]

    def _ordered(self, expression: ColumnElement[Any]) -> Any:  # noqa: ANN401 - an ORDER BY term
        return self.tail.order_by(expression, reverse=not self.forward)


def branch_page(
    branch: Branch,
    ordering: Ordering,
    id_: ColumnElement[Any],
    window: Window,
    *gate: ColumnElement[bool],
) -> "Select[*tuple[Any, ...]] | None":
    """The branch's rows that can be on the page (`branch.rows`' columns), or None if none.

    Its first `size + 1` between the cursors, in the ordering's order: by the id alone when
    its leading keys are constant (`_BoundedRead`), by every key otherwise. `gate`: read
    only if these hold (one-time conditions).
    """
    conditions = _window(branch, ordering, id_, window)
    if conditions is None:
        return None
    size = window.size + 1
    if branch.values is None:
        # Correlated to nothing: apart from any enclosing read of the same table.
        rows = branch.rows.where(*conditions, *gate).correlate(None)
        on = ordering.on(*branch.leading, id_)
        order = [key.order_by(key.expression, reverse=window.backward) for key in on.keys]
        return rows.order_by(*order).limit(size)
    read = _BoundedRead(branch, id_, ordering.keys[-1], conditions, not window.backward)
    walked = read.walked(size, *gate).cte()
    short = select(func.count()).select_from(walked).scalar_subquery() < size
    both = union_all(select(*walked.c), read.rest(size, *gate, short)).subquery()
    return select(*both.c)


def branch_pages(
    branches: Sequence[tuple[Branch, ColumnElement[Any]]], ordering: Ordering, window: Window
) -> list["Select[*tuple[Any, ...]]"]:
    """Each branch's rows that can be on the page (`branch_page`), read only when needed.

    Branches of constant keys are read in the ordering's order, each only when those before
    it hold less than the page (a one-time filter on their counts): a word the names hold
    often enough fills the page from the first branch, and the later ones are never read.
    """

    def first(x: tuple[Branch, ColumnElement[Any]], y: tuple[Branch, ColumnElement[Any]]) -> int:
        return _compare(x[0], y[0], ordering)

    constant = sorted(
        (pair for pair in branches if pair[0].values is not None), key=functools.cmp_to_key(first)
    )
    varying = [pair for pair in branches if pair[0].values is None]
    parts: list[Select[*tuple[Any, ...]]] = []
    read: list[CTE] = []  # each read once, for the page and for the counts after it
    for branch, id_ in constant:
        gate: list[ColumnElement[bool]] = []
        if read:
            counts: list[ColumnElement[Any]] = [
                select(func.count()).select_from(earlier).scalar_subquery() for earlier in read
            ]
            total = functools.reduce(lambda left, right: left + right, counts)
            gate.append(total < window.size + 1)
        part = branch_page(branch, ordering, id_, window, *gate)
        if part is None:
            continue
        read.append(part.cte())
        parts.append(select(*read[-1].c))
    for branch, id_ in varying:
        if (part := branch_page(branch, ordering, id_, window)) is not None:
            parts.append(part)
    return parts


def _compare(mine: Branch, theirs: Branch, ordering: Ordering) -> int:
    """-1 when `mine`'s constant keys come first in the ordering, 1 when after, else 0."""
    assert mine.values is not None  # noqa: S101 - callers pass constant branches
    side = _side(theirs, ordering, mine.values)
    return {_Side.BEFORE: 1, _Side.AFTER: -1, _Side.HOLDS: 0}[side]


def _side(branch: Branch, ordering: Ordering, values: Sequence[Any]) -> _Side:
    """Where the constant keys of `branch` lie against a cursor's `values`."""
    assert branch.values is not None  # noqa: S101 - callers check
    for key, mine, theirs in zip(ordering.keys, branch.values, values, strict=False):
        if mine == theirs:
            continue
        later = mine < theirs if key.descending else mine > theirs
        return _Side.AFTER if later else _Side.BEFORE
    return _Side.HOLDS


def _window(
    branch: Branch, ordering: Ordering, id_: ColumnElement[Any], window: Window
) -> list[ColumnElement[bool]] | None:
    """The branch's conditions for the page between the cursors; None: none of it is."""
    conditions: list[ColumnElement[bool]] = []
    on = ordering.on(*branch.leading, id_)
    for values, forward in ((window.after, True), (window.before, False)):
        if values is None:
            continue
        if branch.values is None:
            conditions.append(beyond(on, values, forward=forward))
            continue
        side = _side(branch, ordering, values)
        if side is _Side.HOLDS:
            conditions.append(
                beyond(_tail(on, branch), values[len(branch.leading) :], forward=forward)
            )
        elif side is (_Side.BEFORE if forward else _Side.AFTER):
            return None
    return conditions


def _at_or_beyond(
    branch: Branch,
    ordering: Ordering,
    id_: ColumnElement[Any],
    values: Sequence[Any],
    *,
    forward: bool,
) -> ColumnElement[bool] | None:
    """The branch's rows at or beyond a cursor (after it when `forward`); None: it has none."""
    on = ordering.on(*branch.leading, id_)
    if branch.values is None:
        return at_or_beyond(on, values, forward=forward)
    side = _side(branch, ordering, values)
    if side is _Side.HOLDS:
        return at_or_beyond(_tail(on, branch), values[len(branch.leading) :], forward=forward)
    if side is (_Side.AFTER if forward else _Side.BEFORE):
        return true()
    return None


def _tail(on: Ordering, branch: Branch) -> Ordering:
    """The ordering's keys after the branch's constant ones (the id): how it reads inside."""
    return Ordering(on.name, on.keys[len(branch.leading) :])
