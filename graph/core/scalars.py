"""The `DateTime` and `Decimal` scalars, and the checks every input value gets.

Strawberry's own `DateTime` and `Decimal` accept values PostgreSQL and asyncpg cannot take:
a time that leaves the years 1 to 9999 once converted to UTC (`9999-12-31T23:00:00-14:00`),
`NaN`, `sNaN`, `Infinity`, `1e100000`. These two keep Strawberry's names and wire formats,
refuse such values with `BAD_USER_INPUT` before any resolver runs, and say in their
descriptions and `@specifiedBy` how they travel (docs/scalars.md has the whole contract).
The text and number checks are shared with `graph.schema.input_hygiene`, which applies them to
every string and number of a request, and with the cursor and ID decoders.
"""

import datetime as dt
import math
import re
import sys
from collections.abc import Callable
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

import dateutil.parser  # type: ignore[import-untyped]  # Strawberry's parser; no stubs
import strawberry

from graph.core.errors import BadUserInputError

# PostgreSQL text and JSONB cannot hold U+0000, and a UTF-16 surrogate on its own is not a
# character: UTF-8 (asyncpg, the JSON response) cannot encode it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Digits a `Decimal` computes with (its default context); more would be rounded silently.
MAX_DECIMAL_DIGITS = 28
_DATETIME, _DECIMAL = "DateTime", "Decimal"
# How much of a refused value an error message repeats.
_SHOWN_CHARS = 40


class ScalarValueError(BadUserInputError):
    """A value a scalar refuses; `problem` completes a sentence starting with the field."""

    def __init__(self, scalar: str, problem: str) -> None:
        """Refuse a value of `scalar` for `problem` (e.g. "is not a finite number")."""
        super().__init__(f"{scalar} value {problem}.")
        self.scalar = scalar
        self.problem = problem


def shown(value: object) -> str:
    """`value` for an error message: ASCII only and cut short, whatever the client sent."""
    text = ascii(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}..."


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored or sent back (a NUL or a lone surrogate); None if it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    code_point = f"U+{ord(found.group()):04X}"
    if code_point == "U+0000":
        return "contains a NUL character (U+0000), which text cannot hold"
    return f"contains a lone UTF-16 surrogate ({code_point}), which is not a Unicode character"


def number_problem(number: float) -> str | None:
    """Why a JSON number is refused (not finite, or beyond a double's range); None if fine."""
    if isinstance(number, float) and not math.isfinite(number):
        return "is not a finite number"
    if isinstance(number, int) and abs(number) > sys.float_info.max:
        return "is a number too large for a double (over 1.8e308)"
    return None


def literal_number_problem(digits: str) -> str | None:
    """`number_problem` of a GraphQL Int or Float literal, given as written."""
    # float() reads any number of digits (int() stops at 4,300); beyond a double it is inf.
    return None if math.isfinite(float(digits)) else "is a number too large for a double"


def checked_instant(moment: dt.datetime) -> dt.datetime:
    """`moment` if it stays within the years 1 to 9999 in UTC; `ValueError` otherwise."""
    if moment.utcoffset() is not None:
        try:
            moment.astimezone(dt.UTC)
        except OverflowError:
            message = "is outside the years 1 to 9999 once converted to UTC"
            raise ValueError(message) from None
    return moment


def parse_datetime(value: object) -> dt.datetime:
    """A `DateTime` input: an ISO 8601 string that stays in range in UTC."""
    example = "e.g. `2030-01-31T09:00:00Z`"
    if not isinstance(value, str):
        problem = f"must be an ISO 8601 string, {example}"
        raise ScalarValueError(_DATETIME, problem)
    if unstorable := text_problem(value):
        raise ScalarValueError(_DATETIME, unstorable)
    try:
        moment = dateutil.parser.isoparse(value)
    except (ValueError, OverflowError):
        problem = f"is not an ISO 8601 date and time, {example}; got {shown(value)}"
        raise ScalarValueError(_DATETIME, problem) from None
    try:
        return checked_instant(moment)
    except ValueError as error:
        problem = f"{error}; got {shown(value)}"
        raise ScalarValueError(_DATETIME, problem) from None


def checked_decimal(number: Decimal) -> Decimal:
    """`number` if finite and within `MAX_DECIMAL_DIGITS`; `ValueError` saying why not.

    A number with more trailing zeros after the point than that comes back without them.
    """
    if not number.is_finite():
        message = "is not a finite number"
        raise ValueError(message)
    digits = len(number.as_tuple().digits)
    # A context as precise as the number itself drops trailing zeros and never rounds.
    exact = Context(prec=max(digits, 1), Emax=MAX_EMAX, Emin=MIN_EMIN)
    reduced = number.normalize(exact)
    if len(reduced.as_tuple().digits) > MAX_DECIMAL_DIGITS:
        message = f"has more than {MAX_DECIMAL_DIGITS} significant digits"
        raise ValueError(message)
    if reduced.adjusted() >= MAX_DECIMAL_DIGITS:
        message = f"has more than {MAX_DECIMAL_DIGITS} digits before the decimal point"
        raise ValueError(message)
    if _exponent(reduced) < -MAX_DECIMAL_DIGITS:
        message = f"has more than {MAX_DECIMAL_DIGITS} decimal places"
        raise ValueError(message)
    return number if _exponent(number) >= -MAX_DECIMAL_DIGITS else reduced


def _exponent(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0  # only NaN and Infinity have a letter


def parse_decimal(value: object) -> Decimal:
    """A `Decimal` input: a string or JSON number, finite and of sane size."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problem = "must be a number or a string such as `12.50`"
        raise ScalarValueError(_DECIMAL, problem)
    if isinstance(value, str) and (unstorable := text_problem(value)):
        raise ScalarValueError(_DECIMAL, unstorable)
    if isinstance(value, float) and not math.isfinite(value):
        problem = "is not a finite number"
        raise ScalarValueError(_DECIMAL, problem)
    if isinstance(value, int) and abs(value) >= 10**MAX_DECIMAL_DIGITS:
        # Checked before str(), which refuses ints of over 4,300 digits with a ValueError.
        problem = f"has more than {MAX_DECIMAL_DIGITS} digits before the decimal point"
        raise ScalarValueError(_DECIMAL, problem)
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        problem = f"is not a number; got {shown(value)}"
        raise ScalarValueError(_DECIMAL, problem) from None
    try:
        return checked_decimal(number)
    except ValueError as error:
        problem = f"{error}; got {shown(value)}"
        raise ScalarValueError(_DECIMAL, problem) from None


def _isoformat(value: dt.datetime) -> str:
    return value.isoformat()


# The graph/compiler/ path writes the same strings in SQL (`isoformat_sql`, `json_decimal`):
# a change of format here is a change there too, and the differential tests compare both.
DATETIME_SPECIFIED_BY = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
# Python's `str(Decimal)` is this specification's to-scientific-string; on the schema's
# fixed-scale columns it is plain digits with the column's decimal places, as PostgreSQL writes.
DECIMAL_SPECIFIED_BY = "https://speleotrove.com/decimal/daconvs.html"

DATETIME_SCALAR = strawberry.scalar(
    name=_DATETIME,
    description=(
        "An instant, as an RFC 3339 `date-time` string that always has a UTC offset, with"
        " microseconds only when there are any: `2030-01-31T09:00:00+00:00`,"
        " `2030-01-31T09:00:00.250000+00:00`. Times read from storage come in UTC (`+00:00`);"
        " a mutation's payload may repeat the offset it was sent. Inputs take any offset"
        " (`2030-01-31T10:00:00+01:00`, `2030-01-31T09:00:00Z`) within the years 1 to 9999 in"
        " UTC, and a time without one is refused. Typed clients map it to a string"
        " (docs/scalars.md)."
    ),
    specified_by_url=DATETIME_SPECIFIED_BY,
    serialize=_isoformat,
    parse_value=parse_datetime,
)
"""`DateTime` for the schema's `scalar_map`, under Strawberry's name and wire format."""

DECIMAL_SCALAR = strawberry.scalar(
    name=_DECIMAL,
    description=(
        "An exact decimal number, sent as a JSON string so no digit is lost to floating point:"
        ' `"50.00"` (amounts have two decimal places, durations three). Inputs take a string'
        ' (`"12.50"`) or a JSON number (`12.5`), finite, with at most 28 significant digits and'
        " 28 decimal places. Typed clients map it to a string and compute with a decimal"
        " library, never a float (docs/scalars.md)."
    ),
    specified_by_url=DECIMAL_SPECIFIED_BY,
    serialize=str,
    parse_value=parse_decimal,
)
"""`Decimal` for the schema's `scalar_map`, under Strawberry's name and wire format."""

CHECKED_SCALARS: dict[str, Callable[[object], object]] = {
    _DATETIME: parse_datetime,
    _DECIMAL: parse_decimal,
}
"""The scalars above by name: each parser raises only `ScalarValueError` for a bad value."""


def scalar_problem(scalar: str, value: object) -> ScalarValueError | None:
    """The error `scalar` (one of `CHECKED_SCALARS`) raises for `value`, if any."""
    parse = CHECKED_SCALARS.get(scalar)
    if parse is None:
        return None
    try:
        parse(value)
    except ScalarValueError as error:
        return error
    return None
