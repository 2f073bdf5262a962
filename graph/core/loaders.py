"""Per-request dataloaders: every relationship fetch is batched into one statement per level.

Built by `create_loaders` when a request's context is made, never at module level, so caches
live exactly as long as one request. Batch functions return one result per key, in key order.
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import aliased

from graph.core.cursors import KeyKind
from graph.core.paging import Ordering, SortKey, at_or_beyond, beyond
from graph.core.permissions import visible_bookings, visible_login_sessions, visible_media
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from models import INCLUDE_DELETED, AuditLog, Booking, LoginSession, Media, User, Venue

Row = TypeVar("Row", User, Venue, Booking, Media, LoginSession)


@dataclass(frozen=True, slots=True)
class ChildPage:
    """The first `first` children of one parent, plus whether more exist after them."""

    rows: list[Any]
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class PageKey:
    """A key for a paged one-to-many loader: which parent, in which order, how many, after which.

    `after` holds the sort-key values of the child the previous page ended on
    (`ordering.decode` of its cursor).
    """

    parent_id: uuid.UUID
    ordering: Ordering
    first: int
    after: tuple[Any, ...] | None = None


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


class FirstChildrenLoader(DataLoader[PageKey, ChildPage]):
    """The first N live children of many parents in one statement (a window function).

    Keys asking for different N, orderings or cursors in the same batch are grouped; each
    group is one statement, so a query shape still maps to a fixed number of statements.
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

    async def batch_load_fn(self, keys: Sequence[PageKey]) -> list[ChildPage]:
        """Load each distinct ordering, page size and cursor with one ranked query."""
        groups: dict[tuple[Ordering, int, tuple[Any, ...] | None], set[uuid.UUID]] = defaultdict(
            set
        )
        for key in keys:
            groups[key.ordering, key.first, key.after].add(key.parent_id)
        pages: dict[PageKey, ChildPage] = {}
        for (ordering, first, after), parent_ids in groups.items():
            children = await self._load(parent_ids, ordering, first, after)
            for parent_id in parent_ids:
                rows = children.get(parent_id, [])
                pages[PageKey(parent_id, ordering, first, after)] = ChildPage(
                    rows=rows[:first], has_next_page=len(rows) > first
                )
        return [pages[key] for key in keys]

    async def _load(
        self,
        parent_ids: set[uuid.UUID],
        ordering: Ordering,
        first: int,
        after: tuple[Any, ...] | None,
    ) -> dict[uuid.UUID, list[Any]]:
        model = self._model
        parent_column = getattr(model, self._parent_key)
        position = (
            func.row_number()
            .over(partition_by=parent_column, order_by=ordering.order_by())
            .label("position")
        )
        ranked_rows = select(model, position).where(parent_column.in_(parent_ids))
        if self._visible is not None:
            ranked_rows = ranked_rows.where(self._visible)
        if after is not None:
            ranked_rows = ranked_rows.where(beyond(ordering, after, forward=True))
        ranked = ranked_rows.subquery()
        child = aliased(model, ranked)
        # One row past the page tells whether a next page exists.
        statement = (
            select(child)
            .where(ranked.c.position <= first + 1)
            .order_by(getattr(child, self._parent_key), ranked.c.position)
        )
        children: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in (await self._db.execute(statement)).scalars():
            children[getattr(row, self._parent_key)].append(row)
        return children


class ChildCountLoader(DataLoader[uuid.UUID, int]):
    """How many live children each of many parents has, in one `GROUP BY` statement."""

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

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[int]:
        """Count the children of every requested parent at once; 0 for a parent without."""
        parent_column = getattr(self._model, self._parent_key)
        statement = (
            select(parent_column.label("parent_id"), func.count().label("children"))
            .where(parent_column.in_(set(keys)))
            .group_by(parent_column)
        )
        if self._visible is not None:
            statement = statement.where(self._visible)
        result = await self._db.execute(statement)
        counts: dict[uuid.UUID, int] = {row.parent_id: row.children for row in result}
        return [counts.get(key, 0) for key in keys]


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
