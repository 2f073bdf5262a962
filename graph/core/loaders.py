"""Per-request dataloaders: every relationship fetch is batched into one statement per level.

Built by `create_loaders` when a request's context is made, never at module level, so caches
live exactly as long as one request. Batch functions return one result per key, in key order.
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Uuid,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased

from graph.core.cursors import KeyKind
from graph.core.paging import (
    Cut,
    Ordering,
    SortKey,
    Window,
    at_or_beyond,
    cut_page,
    outside_window,
    rows_exist,
    window_conditions,
)
from graph.core.permissions import visible_bookings, visible_login_sessions, visible_media
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from models import INCLUDE_DELETED, AuditLog, Booking, LoginSession, Media, User, Venue

Row = TypeVar("Row", User, Venue, Booking, Media, LoginSession)


@dataclass(frozen=True, slots=True)
class ChildFilter:
    """Which children a page or count takes: a filter argument's value and its SQL conditions.

    `value` is the argument as given, made hashable; keys whose values are equal load together.
    The resolver builds (and so checks) the `conditions` from that value, so they are the same
    for equal values and take no part in comparing keys.
    """

    value: Hashable = None
    conditions: tuple[ColumnElement[bool], ...] = field(default=(), compare=False)


NO_FILTER = ChildFilter()


@dataclass(frozen=True, slots=True)
class ChildArguments:
    """What a page of children asks for, whoever their parent: order, window and filter.

    The window's cursors hold the sort-key values of `ordering` (`ordering.decode` of them).
    """

    ordering: Ordering
    window: Window
    filter: ChildFilter = NO_FILTER


@dataclass(frozen=True, slots=True)
class PageKey:
    """A key for a paged one-to-many loader: which parent, and what page of its children."""

    parent_id: uuid.UUID
    arguments: ChildArguments


@dataclass(frozen=True, slots=True)
class CountKey:
    """A key for a child count loader: which parent, and which of its children to count."""

    parent_id: uuid.UUID
    filter: ChildFilter = NO_FILTER


class ByIdLoader(DataLoader[uuid.UUID, Row | None]):
    """Live rows of one model by primary key; missing, hidden or soft-deleted ids give None."""

    def __init__(
        self, db: RequestDatabase, model: type[Row], visible: ColumnElement[bool] | None = None
    ) -> None:
        """Load `model` rows through `db`, only those matching `visible` when given."""
        super().__init__()
        self._db = db
        self._model: type[Row] = model
        self._visible = visible

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[Row | None]:
        """Fetch every requested id in one `SELECT ... WHERE id IN (...)`."""
        statement = select(self._model).where(self._model.id.in_(set(keys)))
        if self._visible is not None:
            statement = statement.where(self._visible)
        rows = (await self._db.execute(statement)).scalars().all()
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class PreferencesLoader(DataLoader[uuid.UUID, dict[str, Any]]):
    """Users' `preferences` by user id, read only when a field asks for them.

    The column is deferred on `User` (up to 64 KiB a row), so the user loader and the lists
    that show users never read it; this loader does, for the users whose preferences a
    request selects, in one statement. The rows were already found visible by whoever
    resolved them, deleted ones included (admins list those).
    """

    def __init__(self, db: RequestDatabase) -> None:
        """Load preferences through `db`."""
        super().__init__()
        self._db = db

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        """Fetch every requested user's preferences at once; `{}` for an id that is gone."""
        statement = (
            select(User.id, User.preferences)
            .where(User.id.in_(set(keys)))
            .execution_options(**{INCLUDE_DELETED: True})
        )
        found = {row.id: row.preferences for row in await self._db.execute(statement)}
        return [found.get(key, {}) for key in keys]


class FirstChildrenLoader(DataLoader[PageKey, Cut[Any]]):
    """One page of live children of many parents in one statement (a window function).

    Keys asking for different arguments (order, window, filter) in the same batch are grouped;
    each group is one statement whatever its cursors, so a query shape still maps to a fixed
    number of statements. Pages are those of the root list of the same ordering and filter,
    narrowed to the parent: the same rows, cursors and `hasNextPage`/`hasPreviousPage`.
    """

    def __init__(
        self,
        db: RequestDatabase,
        model: type[Booking | Media | LoginSession],
        *,
        parent_key: str,
        visible: ColumnElement[bool] | None = None,
    ) -> None:
        """Page `model` rows by the foreign key `parent_key`, only those matching `visible`."""
        super().__init__()
        self._db = db
        self._model: type[Booking | Media | LoginSession] = model
        self._parent_key = parent_key
        self._visible = visible

    async def batch_load_fn(self, keys: Sequence[PageKey]) -> list[Cut[Any]]:
        """Load the keys asking for the same arguments with one ranked query."""
        groups: dict[ChildArguments, set[uuid.UUID]] = defaultdict(set)
        for key in keys:
            groups[key.arguments].add(key.parent_id)
        pages: dict[PageKey, Cut[Any]] = {}
        for arguments, parent_ids in groups.items():
            found, outside = await self._load(parent_ids, arguments)
            for parent_id in parent_ids:
                pages[PageKey(parent_id, arguments)] = cut_page(
                    arguments.window, found.get(parent_id, []), outside.get(parent_id, {})
                )
        return [pages[key] for key in keys]

    async def _load(
        self, parent_ids: set[uuid.UUID], arguments: ChildArguments
    ) -> tuple[dict[uuid.UUID, list[Any]], dict[uuid.UUID, dict[str, bool | None]]]:
        """Each parent's rows in the window's reading order, and what lies outside its cursors.

        One `LATERAL` page per parent, `ORDER BY ... LIMIT`, so that each parent's page is read
        from the index on (parent, sort keys, id) and stops one row past the page: a window
        function over every parent's children (as before) read each parent's whole list.
        """
        model = self._model
        ordering, window = arguments.ordering, arguments.window
        parent = (
            func.unnest(bindparam(None, sorted(parent_ids), type_=ARRAY(Uuid)))
            .table_valued("id")
            .render_derived(name="parent")
        )
        parent_column = getattr(model, self._parent_key)
        scope = [parent_column == parent.c.id, *arguments.filter.conditions]
        if self._visible is not None:
            scope.append(self._visible)
        order_by = ordering.order_by(reverse=window.backward)
        # One row past the page tells whether more exist the way the page reads.
        page = (
            select(model, func.row_number().over(order_by=order_by).label("position"))
            .where(*scope, *window_conditions(ordering, window))
            .order_by(*order_by)
            .limit(window.size + 1)
            .lateral("page")
        )
        child = aliased(model, page)
        # Whether rows lie outside the cursors: one index probe per parent and cursor.
        outside = outside_window(ordering, window)
        flags = [
            rows_exist(select(model.id).where(*scope, condition), ordering, name=name).label(name)
            for name, condition in outside.items()
        ]
        statement = (
            select(child, parent.c.id, *flags)
            .select_from(parent)
            .outerjoin(page, true())
            .order_by(parent.c.id, page.c.position)
        )
        return self._split(await self._db.execute(statement), list(outside))

    def _split(
        self, result: Iterable[Sequence[Any]], names: list[str]
    ) -> tuple[dict[uuid.UUID, list[Any]], dict[uuid.UUID, dict[str, bool | None]]]:
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        outside: dict[uuid.UUID, dict[str, bool | None]] = {}
        for row in result:
            child, parent_id, flags = row[0], row[1], row[2:]
            outside[parent_id] = dict(zip(names, flags, strict=True))
            if child is not None:
                found[parent_id].append(child)
        return found, outside


class ChildCountLoader(DataLoader[CountKey, int]):
    """How many live children each of many parents has, in one `GROUP BY` statement.

    Keys counting by different filters in the same batch are grouped, one statement a group.
    """

    def __init__(
        self,
        db: RequestDatabase,
        model: type[Booking | Media | LoginSession],
        *,
        parent_key: str,
        visible: ColumnElement[bool] | None = None,
    ) -> None:
        """Count `model` rows per value of the foreign key `parent_key`, matching `visible`."""
        super().__init__()
        self._db = db
        self._model: type[Booking | Media | LoginSession] = model
        self._parent_key = parent_key
        self._visible = visible

    async def batch_load_fn(self, keys: Sequence[CountKey]) -> list[int]:
        """Count the matching children of every requested parent at once; 0 for none."""
        groups: dict[ChildFilter, set[uuid.UUID]] = defaultdict(set)
        for key in keys:
            groups[key.filter].add(key.parent_id)
        counts: dict[CountKey, int] = {}
        for child_filter, parent_ids in groups.items():
            found = await self._count(parent_ids, child_filter)
            for parent_id in parent_ids:
                counts[CountKey(parent_id, child_filter)] = found.get(parent_id, 0)
        return [counts[key] for key in keys]

    async def _count(
        self, parent_ids: set[uuid.UUID], child_filter: ChildFilter
    ) -> dict[uuid.UUID, int]:
        parent_column = getattr(self._model, self._parent_key)
        statement = (
            select(parent_column.label("parent_id"), func.count().label("children"))
            .where(parent_column.in_(parent_ids), *child_filter.conditions)
            .group_by(parent_column)
        )
        if self._visible is not None:
            statement = statement.where(self._visible)
        return {row.parent_id: row.children for row in await self._db.execute(statement)}


@dataclass(frozen=True, slots=True)
class HistoryKey:
    """A key for the history loader: which audited row, how many events, after which cursor."""

    table_name: str
    record_id: uuid.UUID
    first: int
    # The `seq` of the event the previous page ended on (`HISTORY_ORDERING.decode`).
    after: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a row's audit events, whether more follow, and how many it has in all."""

    rows: list[AuditLog]
    has_next_page: bool
    total_count: int


# A row's history, newest first: by `seq`, unique per event. Its name is part of every cursor.
HISTORY_ORDERING = Ordering(
    "AuditEvent.COMMITTED_DESC", (SortKey.column(AuditLog.seq, KeyKind.INTEGER, descending=True),)
)


class HistoryLoader(DataLoader[HistoryKey, HistoryPage]):
    """Audit events of many rows, newest first, in one window-function statement.

    Newest means highest `seq`: the order the changes committed, which timestamps taken at
    transaction start did not give when a writer waited for another's lock. Keys are grouped
    by table, page size and cursor; each group is one statement over the
    `(table_name, record_id, seq)` index, so a query shape maps to a fixed number of
    statements. Audit rows are never soft-deleted and carry no visibility rule of their own:
    the `history` resolvers check who may see them before loading.
    """

    def __init__(self, db: RequestDatabase) -> None:
        """Load `audit_log` rows through `db`."""
        super().__init__()
        self._db = db

    async def batch_load_fn(self, keys: Sequence[HistoryKey]) -> list[HistoryPage]:
        """Load each group of keys with one ranked query over all its records."""
        groups: dict[tuple[str, int, int | None], set[uuid.UUID]] = defaultdict(set)
        for key in keys:
            groups[key.table_name, key.first, key.after].add(key.record_id)
        pages: dict[HistoryKey, HistoryPage] = {}
        for (table_name, first, after), record_ids in groups.items():
            events, totals = await self._load(table_name, record_ids, first, after)
            for record_id in record_ids:
                rows = events.get(record_id, [])
                pages[HistoryKey(table_name, record_id, first, after)] = HistoryPage(
                    rows=rows[:first],
                    has_next_page=len(rows) > first,
                    total_count=totals.get(record_id, 0),
                )
        return [pages[key] for key in keys]

    async def _load(
        self,
        table_name: str,
        record_ids: set[uuid.UUID],
        first: int,
        after: int | None,
    ) -> tuple[dict[uuid.UUID, list[AuditLog]], dict[uuid.UUID, int]]:
        per_record = AuditLog.record_id
        # Events up to and including the cursor are skipped inside the window rather than
        # filtered out, so the same statement also counts each record's whole history.
        skipped = (
            func.count()
            .filter(at_or_beyond(HISTORY_ORDERING, (after,), forward=False))
            .over(partition_by=per_record)
            if after is not None
            else literal(0)
        )
        numbered = func.row_number().over(
            partition_by=per_record, order_by=HISTORY_ORDERING.order_by()
        )
        ranked = (
            select(
                AuditLog,
                numbered.label("n"),
                func.count().over(partition_by=per_record).label("total"),
                skipped.label("skipped"),
            )
            .where(AuditLog.table_name == table_name, AuditLog.record_id.in_(record_ids))
            .subquery()
        )
        event = aliased(AuditLog, ranked)
        on_page = and_(ranked.c.n > ranked.c.skipped, ranked.c.n <= ranked.c.skipped + first + 1)
        # One row past the page tells whether a next page exists; each record's newest row
        # comes too, so a record whose page is empty still reports its total.
        statement = (
            select(event, ranked.c.total, on_page.label("on_page"))
            .where(or_(on_page, ranked.c.n == 1))
            .order_by(event.record_id, ranked.c.n)
        )
        events: dict[uuid.UUID, list[AuditLog]] = defaultdict(list)
        totals: dict[uuid.UUID, int] = {}
        for found in await self._db.execute(statement):
            row: AuditLog = found[0]
            totals[row.record_id] = found.total
            if found.on_page:
                events[row.record_id].append(row)
        return events, totals


class AuditEventLoader(DataLoader[tuple[uuid.UUID, dt.datetime], AuditLog | None]):
    """Audit rows by their primary key `(id, created_at)`; unknown keys give None."""

    def __init__(self, db: RequestDatabase) -> None:
        """Load `audit_log` rows through `db`."""
        super().__init__()
        self._db = db

    async def batch_load_fn(
        self, keys: Sequence[tuple[uuid.UUID, dt.datetime]]
    ) -> list[AuditLog | None]:
        """Fetch every requested key in one statement (`created_at` prunes partitions)."""
        statement = select(AuditLog).where(tuple_(AuditLog.id, AuditLog.created_at).in_(set(keys)))
        rows = (await self._db.execute(statement)).scalars().all()
        by_key = {(row.id, row.created_at): row for row in rows}
        return [by_key.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class Loaders:
    """Every loader of one request."""

    user: ByIdLoader[User]
    preferences: PreferencesLoader
    venue: ByIdLoader[Venue]
    booking: ByIdLoader[Booking]
    media: ByIdLoader[Media]
    login_session: ByIdLoader[LoginSession]
    user_sessions: FirstChildrenLoader
    user_sessions_count: ChildCountLoader
    venue_bookings: FirstChildrenLoader
    venue_media: FirstChildrenLoader
    venue_bookings_count: ChildCountLoader
    venue_media_count: ChildCountLoader
    history: HistoryLoader
    audit_event: AuditEventLoader


def create_loaders(db: RequestDatabase, viewer: Viewer | None) -> Loaders:
    """Build a fresh set of loaders for one request, showing only what `viewer` may see."""
    bookings_seen = visible_bookings(viewer)
    media_seen = visible_media(viewer)
    sessions_seen = visible_login_sessions(viewer)
    return Loaders(
        user=ByIdLoader(db, User),
        preferences=PreferencesLoader(db),
        venue=ByIdLoader(db, Venue),
        booking=ByIdLoader(db, Booking, bookings_seen),
        media=ByIdLoader(db, Media, media_seen),
        login_session=ByIdLoader(db, LoginSession, sessions_seen),
        user_sessions=FirstChildrenLoader(
            db, LoginSession, parent_key="user_id", visible=sessions_seen
        ),
        user_sessions_count=ChildCountLoader(
            db, LoginSession, parent_key="user_id", visible=sessions_seen
        ),
        venue_bookings=FirstChildrenLoader(
            db, Booking, parent_key="venue_id", visible=bookings_seen
        ),
        venue_media=FirstChildrenLoader(db, Media, parent_key="venue_id", visible=media_seen),
        venue_bookings_count=ChildCountLoader(
            db, Booking, parent_key="venue_id", visible=bookings_seen
        ),
        venue_media_count=ChildCountLoader(db, Media, parent_key="venue_id", visible=media_seen),
        history=HistoryLoader(db),
        audit_event=AuditEventLoader(db),
    )
