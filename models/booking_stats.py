"""Booking statistics: counts and completed revenue per bucket, in one aggregate query.

Aggregations are raw SQL through `text()` (our standard), every value a bound parameter; the
grouping picks one of a fixed set of statements, never text from the caller.
"""

import datetime as dt
import enum
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession


class StatsGrouping(enum.StrEnum):
    """How bookings are bucketed."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    VENUE = "venue"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class BookingStatsBucket:
    """One bucket: its key (period start, venue id or status) and its figures."""

    key: str
    count: int
    completed_count: int
    completed_revenue: Decimal


@dataclass(frozen=True, slots=True)
class StatsScope:
    """Whose bookings count: everyone's, or `user_id`'s own (plus their venues' for a host)."""

    user_id: uuid.UUID | None = None
    with_hosted_venues: bool = False

    @property
    def everything(self) -> bool:
        """Whether every booking counts (an admin's view)."""
        return self.user_id is None


EVERY_BOOKING = StatsScope()

_FIGURES = """
  count(*) AS booking_count,
  count(*) FILTER (WHERE status = 'completed') AS completed_count,
  coalesce(sum(amount) FILTER (WHERE status = 'completed'), 0) AS completed_revenue
FROM bookings
WHERE deleted_at IS NULL
  AND starts_at >= :starts_from AND starts_at < :starts_before
  AND (
    :everything
    OR user_id = :viewer_id
    OR (:with_hosted_venues AND venue_id IN (
      SELECT id FROM venues WHERE owner_id = :viewer_id AND deleted_at IS NULL
    ))
  )
"""

_BY_PERIOD = text(
    "SELECT to_char(date_trunc(:unit, starts_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS key,"
    + _FIGURES
    + "GROUP BY 1 ORDER BY 1"
)
_BY_VENUE = text("SELECT venue_id::text AS key," + _FIGURES + "GROUP BY 1 ORDER BY 2 DESC, 1")
_BY_STATUS = text("SELECT status AS key," + _FIGURES + "GROUP BY 1 ORDER BY 1")

_STATEMENTS: dict[StatsGrouping, TextClause] = {
    StatsGrouping.DAY: _BY_PERIOD,
    StatsGrouping.WEEK: _BY_PERIOD,
    StatsGrouping.MONTH: _BY_PERIOD,
    StatsGrouping.VENUE: _BY_VENUE,
    StatsGrouping.STATUS: _BY_STATUS,
}


async def booking_stats(
    session: AsyncSession,
    *,
    starts_from: dt.datetime,
    starts_before: dt.datetime,
    group_by: StatsGrouping,
    scope: StatsScope,
) -> list[BookingStatsBucket]:
    """Count live bookings starting in `[starts_from, starts_before)`, bucketed by `group_by`.

    Only bookings in `scope` count (`EVERY_BOOKING` for all). Periods are UTC days, ISO weeks
    (starting Monday) or months, keyed by their first day.
    """
    parameters: dict[str, object] = {
        "starts_from": starts_from,
        "starts_before": starts_before,
        "everything": scope.everything,
        "viewer_id": scope.user_id,
        "with_hosted_venues": scope.with_hosted_venues,
    }
    if group_by in (StatsGrouping.DAY, StatsGrouping.WEEK, StatsGrouping.MONTH):
        parameters["unit"] = group_by.value
    rows = await session.execute(_STATEMENTS[group_by], parameters)
    return [
        BookingStatsBucket(
            key=row.key,
            count=row.booking_count,
            completed_count=row.completed_count,
            completed_revenue=row.completed_revenue,
        )
        for row in rows
    ]
