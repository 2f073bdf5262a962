"""`bookingStats`: booking counts and completed revenue per bucket, over what the viewer sees."""

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy import TextualSelect
from sqlalchemy.ext.asyncio import AsyncSession

import models
from graph.core.context import Context
from graph.core.enums import BookingStatus
from graph.core.errors import BadUserInputError
from graph.core.global_id import encode_global_id
from graph.core.permissions import booking_stats_scope
from graph.core.ranges import aware
from graph.core.viewer import Viewer

# Five calendar years hold at most two leap days.
MAX_STATS_SPAN = dt.timedelta(days=5 * 365 + 2)


@strawberry.enum(description="How `bookingStats` buckets bookings.")
class StatsGrouping(enum.Enum):
    """Bucket kinds of `bookingStats`."""

    DAY = strawberry.enum_value(
        models.StatsGrouping.DAY.value, description="Per UTC day; key `YYYY-MM-DD`."
    )
    WEEK = strawberry.enum_value(
        models.StatsGrouping.WEEK.value,
        description="Per ISO week (Monday to Sunday, UTC); key: its Monday, `YYYY-MM-DD`.",
    )
    MONTH = strawberry.enum_value(
        models.StatsGrouping.MONTH.value, description="Per UTC month; key: its first day."
    )
    VENUE = strawberry.enum_value(
        models.StatsGrouping.VENUE.value,
        description="Per venue, busiest first; key: the venue's ID.",
    )
    STATUS = strawberry.enum_value(
        models.StatsGrouping.STATUS.value,
        description="Per booking status; key: a `BookingStatus` name such as `COMPLETED`.",
    )


@strawberry.type(description="Booking figures of one bucket of `bookingStats`.")
class BookingStatsBucket:
    """One bucket: its key and its figures."""

    key: str = strawberry.field(
        description="Which bucket: a date, a venue ID or a status name (see `StatsGrouping`)."
    )
    count: int = strawberry.field(description="Bookings starting in the bucket, any status.")
    completed_count: int = strawberry.field(description="Of those, how many were completed.")
    completed_revenue: Decimal = strawberry.field(
        description="Sum of the completed bookings' amounts (amounts in any currency are added)."
    )


def _key(grouping: StatsGrouping, raw: str) -> str:
    if grouping is StatsGrouping.VENUE:
        return encode_global_id("Venue", uuid.UUID(raw))
    if grouping is StatsGrouping.STATUS:
        return BookingStatus(raw).name
    return raw


@dataclasses.dataclass(frozen=True, slots=True)
class StatsPlan:
    """What one `bookingStats` reads: checked arguments and the viewer's scope."""

    starts_from: dt.datetime
    starts_before: dt.datetime
    grouping: models.StatsGrouping
    scope: models.StatsScope

    def query(self) -> TextualSelect:
        """The aggregate statement (`models.booking_stats_query`), its values bound."""
        return models.booking_stats_query(
            starts_from=self.starts_from,
            starts_before=self.starts_before,
            group_by=self.grouping,
            scope=self.scope,
        )


def plan_stats(
    viewer: Viewer, *, from_: dt.datetime, to: dt.datetime, group_by: StatsGrouping
) -> StatsPlan:
    """The arguments checked and the scope of `viewer`; `BAD_USER_INPUT` for a bad range.

    Both read paths call it: the resolver, and the compiler's slot (`graph.compiler`).
    """
    scope = booking_stats_scope(viewer)
    starts_from = aware(from_, field="from")
    starts_before = aware(to, field="to")
    if starts_before <= starts_from:
        message = "`to` must be after `from`."
        raise BadUserInputError(message, field="to")
    if starts_before - starts_from > MAX_STATS_SPAN:
        message = "`from` to `to` may span at most five years."
        raise BadUserInputError(message, field="to")
    return StatsPlan(starts_from, starts_before, models.StatsGrouping[group_by.name], scope)


async def booking_stats(
    info: strawberry.Info[Context],
    from_: Annotated[
        dt.datetime,
        strawberry.argument(name="from", description="Start (inclusive), with an offset."),
    ],
    to: Annotated[
        dt.datetime,
        strawberry.argument(description="End (exclusive), with an offset; after `from`."),
    ],
    group_by: Annotated[
        StatsGrouping, strawberry.argument(description="How to bucket the bookings.")
    ],
) -> list[BookingStatsBucket]:
    """Aggregate in one raw-SQL statement, scoped to the viewer."""
    planned = plan_stats(info.context.require_viewer(), from_=from_, to=to, group_by=group_by)

    async def run(session: AsyncSession) -> list[models.BookingStatsBucket]:
        return await models.booking_stats(
            session,
            starts_from=planned.starts_from,
            starts_before=planned.starts_before,
            group_by=planned.grouping,
            scope=planned.scope,
        )

    buckets = await info.context.db.run(run)
    return [
        BookingStatsBucket(
            key=_key(group_by, bucket.key),
            count=bucket.count,
            completed_count=bucket.completed_count,
            completed_revenue=bucket.completed_revenue,
        )
        for bucket in buckets
    ]


@strawberry.type
class StatsQueries:
    """Aggregates."""

    booking_stats: list[BookingStatsBucket] = strawberry.field(
        resolver=booking_stats,
        description=(
            "Bookings starting in [`from`, `to`) per bucket, with completed counts and revenue. "
            "Counts what the viewer may see: admins everything, hosts their venues' bookings "
            "and their own, members their own. The span may be at most five years."
        ),
    )
