"""Per-request dataloaders: every relationship fetch is batched into one statement per level.

Built by `create_loaders` when a request's context is made, never at module level, so caches
live exactly as long as one request. Batch functions return one result per key, in key order.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased

from graph.permissions import visible_bookings, visible_media
from graph.request_session import RequestSession
from graph.viewer import Viewer
from models import Booking, Media, User, Venue

Row = TypeVar("Row", User, Venue, Booking, Media)


@dataclass(frozen=True, slots=True)
class ChildPage:
    """The first `first` children of one parent, plus whether more exist after them."""

    rows: list[Any]
    has_next_page: bool


@dataclass(frozen=True, slots=True)
class PageKey:
    """A key for a paged one-to-many loader: which parent, and how many children."""

    parent_id: uuid.UUID
    first: int


class ByIdLoader(DataLoader[uuid.UUID, Row | None]):
    """Live rows of one model by primary key; missing, hidden or soft-deleted ids give None."""

    def __init__(
        self, db: RequestSession, model: type[Row], visible: ColumnElement[bool] | None = None
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


class FirstChildrenLoader(DataLoader[PageKey, ChildPage]):
    """The first N live children of many parents in one statement (a window function).

    Keys asking for different N in the same batch are grouped; each group is one statement,
    so a query shape still maps to a fixed number of statements.
    """

    def __init__(
        self,
        db: RequestSession,
        model: type[Booking | Media],
        *,
        parent_key: str,
        order_by: tuple[str, ...],
        visible: ColumnElement[bool] | None = None,
    ) -> None:
        """Page `model` rows by the foreign key `parent_key`, sorted by the `order_by` columns."""
        super().__init__()
        self._db = db
        self._model: type[Booking | Media] = model
        self._parent_key = parent_key
        self._order_by = order_by
        self._visible = visible

    async def batch_load_fn(self, keys: Sequence[PageKey]) -> list[ChildPage]:
        """Load each distinct page size with one ranked query over all its parents."""
        parents_by_size: dict[int, set[uuid.UUID]] = defaultdict(set)
        for key in keys:
            parents_by_size[key.first].add(key.parent_id)
        pages: dict[PageKey, ChildPage] = {}
        for first, parent_ids in parents_by_size.items():
            children = await self._load(parent_ids, first)
            for parent_id in parent_ids:
                rows = children.get(parent_id, [])
                pages[PageKey(parent_id, first)] = ChildPage(
                    rows=rows[:first], has_next_page=len(rows) > first
                )
        return [pages[key] for key in keys]

    async def _load(self, parent_ids: set[uuid.UUID], first: int) -> dict[uuid.UUID, list[Any]]:
        model = self._model
        parent_column = getattr(model, self._parent_key)
        position = (
            func.row_number()
            .over(
                partition_by=parent_column,
                order_by=[getattr(model, column) for column in self._order_by],
            )
            .label("position")
        )
        ranked_rows = select(model, position).where(parent_column.in_(parent_ids))
        if self._visible is not None:
            ranked_rows = ranked_rows.where(self._visible)
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


@dataclass(frozen=True, slots=True)
class Loaders:
    """Every loader of one request."""

    user: ByIdLoader[User]
    venue: ByIdLoader[Venue]
    booking: ByIdLoader[Booking]
    media: ByIdLoader[Media]
    venue_bookings: FirstChildrenLoader
    venue_media: FirstChildrenLoader


def create_loaders(db: RequestSession, viewer: Viewer | None) -> Loaders:
    """Build a fresh set of loaders for one request, showing only what `viewer` may see."""
    bookings_seen = visible_bookings(viewer)
    media_seen = visible_media(viewer)
    return Loaders(
        user=ByIdLoader(db, User),
        venue=ByIdLoader(db, Venue),
        booking=ByIdLoader(db, Booking, bookings_seen),
        media=ByIdLoader(db, Media, media_seen),
        venue_bookings=FirstChildrenLoader(
            db, Booking, parent_key="venue_id", order_by=("starts_at", "id"), visible=bookings_seen
        ),
        venue_media=FirstChildrenLoader(
            db, Media, parent_key="venue_id", order_by=("created_at", "id"), visible=media_seen
        ),
    )
