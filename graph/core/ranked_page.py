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
"""

import dataclasses
import enum
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, false, func, or_, select, true, union_all

from graph.core.paging import ROWS_AFTER, ROWS_BEFORE, Ordering, Window, at_or_beyond, beyond


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
    conditions. `walk`: PostgreSQL may walk the primary key for a page of a constant branch
    (the first class of a search, whose estimates are sound); otherwise the branch's rows
    are read from their own indexes, then sorted (a later class: its conditions negate the
    better ones', which PostgreSQL estimates as if unrelated, and a walk through a table for
    a class that turns out nearly empty would read all of it).
    """

    leading: tuple[ColumnElement[Any], ...]
    values: tuple[Any, ...] | None
    rows: "Select[*tuple[Any, ...]]"
    walk: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class BranchedPage:
    """The branches of one list and where its ids are: what a page and its flags read."""

    branches: tuple[Branch, ...]
    id: ColumnElement[Any]

    def page(self, ordering: Ordering, window: Window) -> ColumnElement[bool]:
        """The ids that can be on the page: each branch's first `size + 1` from the cursor."""
        parts = branch_pages([(branch, self.id) for branch in self.branches], ordering, window)
        if not parts:
            return false()
        return self.id.in_(union_all(*parts))

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
            found = []
            for branch in self.branches:
                condition = _at_or_beyond(branch, ordering, self.id, values, forward=forward)
                if condition is not None:
                    found.append(branch.rows.where(condition).correlate(None).exists())
            flags[name] = or_(false(), *found)
        return flags


def branch_page(
    branch: Branch, ordering: Ordering, id_: ColumnElement[Any], window: Window
) -> "Select[*tuple[Any, ...]] | None":
    """The branch's rows that can be on the page (`branch.rows`' columns), or None if none.

    Its first `size + 1` between the cursors, in the ordering's order: by the id alone when
    its leading keys are constant (a range of an index on the branch's condition, or its few
    rows sorted), by every key otherwise.
    """
    conditions = _window(branch, ordering, id_, window)
    if conditions is None:
        return None
    rows = branch.rows.where(*conditions).correlate(None)  # apart from any enclosing read
    if branch.values is None:
        on = ordering.on(*branch.leading, id_)
        order = [key.order_by(key.expression, reverse=window.backward) for key in on.keys]
        return rows.order_by(*order).limit(window.size + 1)
    tail = ordering.keys[-1]
    if branch.walk:
        return rows.order_by(tail.order_by(id_, reverse=window.backward)).limit(window.size + 1)
    # OFFSET 0: planned on its own, for all its rows, so from its indexes; then sorted.
    read = rows.offset(0).subquery()
    return (
        select(*read.c)
        .order_by(tail.order_by(read.c.id, reverse=window.backward))
        .limit(window.size + 1)
    )


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
        part = branch_page(branch, ordering, id_, window)
        if part is None:
            continue
        if read:
            counts: list[ColumnElement[Any]] = [
                select(func.count()).select_from(earlier).scalar_subquery() for earlier in read
            ]
            total = functools.reduce(lambda left, right: left + right, counts)
            part = part.where(total < window.size + 1)
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
