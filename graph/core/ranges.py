"""Range inputs shared by filters, and the checks every range gets."""

import datetime as dt
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import ColumnElement, Numeric, SQLColumnExpression, bindparam

from graph.core.errors import BadUserInputError


@strawberry.input(
    description="A span of time, `from` inclusive, `to` exclusive; either may be open."
)
class DateTimeRangeInput:
    """A half-open time range."""

    from_: dt.datetime | None = strawberry.field(
        default=None, name="from", description="Earliest instant (inclusive), with an offset."
    )
    to: dt.datetime | None = strawberry.field(
        default=None, description="End of the span (exclusive), with an offset; after `from`."
    )


@strawberry.input(description="Bounds on an amount, both inclusive; either may be open.")
class DecimalRangeInput:
    """An inclusive range of non-negative amounts."""

    min: Decimal | None = strawberry.field(default=None, description="Smallest amount, 0 or more.")
    max: Decimal | None = strawberry.field(
        default=None, description="Largest amount, 0 or more, not below `min`."
    )


def aware(moment: dt.datetime, *, field: str) -> dt.datetime:
    """`moment` if it names an instant (has a UTC offset); `BAD_USER_INPUT` otherwise."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        message = f"`{field}` needs a UTC offset, e.g. `2030-01-31T09:00:00Z`."
        raise BadUserInputError(message, field=field)
    return moment


def within_times(
    expression: SQLColumnExpression[Any], span: DateTimeRangeInput, *, field: str
) -> list[ColumnElement[bool]]:
    """Conditions putting `expression` in `[from, to)`; `BAD_USER_INPUT` for a bad range."""
    conditions: list[ColumnElement[bool]] = []
    start = aware(span.from_, field=f"{field}.from") if span.from_ is not None else None
    end = aware(span.to, field=f"{field}.to") if span.to is not None else None
    if start is not None and end is not None and end <= start:
        message = f"`{field}.to` must be after `{field}.from`."
        raise BadUserInputError(message, field=field)
    if start is not None:
        conditions.append(expression >= start)
    if end is not None:
        conditions.append(expression < end)
    return conditions


def within_amounts(
    expression: SQLColumnExpression[Any], bounds: DecimalRangeInput, *, field: str
) -> list[ColumnElement[bool]]:
    """Conditions putting `expression` in `[min, max]`; `BAD_USER_INPUT` for a bad range."""
    conditions: list[ColumnElement[bool]] = []
    for name, value in (("min", bounds.min), ("max", bounds.max)):
        if value is not None and (not value.is_finite() or value < 0):
            message = f"`{field}.{name}` must be a number, 0 or more; got {value}."
            raise BadUserInputError(message, field=f"{field}.{name}")
    if bounds.min is not None and bounds.max is not None and bounds.max < bounds.min:
        message = f"`{field}.max` must not be below `{field}.min`."
        raise BadUserInputError(message, field=field)
    # Bound as unconstrained numeric: a bound past the column's precision (`numeric(12, 2)`)
    # matches nothing (or everything) instead of overflowing.
    if bounds.min is not None:
        conditions.append(expression >= bindparam(None, bounds.min, type_=Numeric()))
    if bounds.max is not None:
        conditions.append(expression <= bindparam(None, bounds.max, type_=Numeric()))
    return conditions
