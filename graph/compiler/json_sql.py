"""SQL expressions that render values as JSON text exactly as the general path's encoder does.

The general path serialises with `json.dumps(..., separators=(",", ":"))` (ASCII only, non-ASCII
escaped afterwards by `ascii_json`), so every value is rendered here as text: strings through
PostgreSQL's `to_json` (same escapes as Python for ASCII), datetimes as `datetime.isoformat()`
of a UTC value, numerics as their text, floats as Python's `repr`, and objects by concatenation
in selection order. Structural constants (keys, format strings) are inlined; values never are.
"""

import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, func, literal

from graph.core.cursors import base64url_sql, float_repr_sql, isoformat_sql, sql_constant

# PostgreSQL accepts at most 100 arguments per function call; concat is chunked below it.
_CONCAT_CHUNK = 90


def const(text: str) -> ColumnElement[str]:
    """A constant piece of JSON structure (a key, a bracket), inlined as a SQL string literal."""
    return sql_constant(text)


NULL = const("null")
# A JSON string literal, or one space outside them (bound, not inlined: it has backslashes).
_JSON_SPACES = r'("(?:[^"\\]|\\.)*")| '


def concat(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[str]:
    """`concat(...)` of `parts` (none of which may be NULL where NULL matters)."""
    if len(parts) <= _CONCAT_CHUNK:
        return func.concat(*parts, type_=Text)
    chunks = [parts[i : i + _CONCAT_CHUNK] for i in range(0, len(parts), _CONCAT_CHUNK)]
    return concat([func.concat(*chunk, type_=Text) for chunk in chunks])


def or_null(expression: ColumnElement[str]) -> ColumnElement[str]:
    """`expression`, or JSON `null` where it is SQL NULL."""
    return func.coalesce(expression, NULL, type_=Text)


def null_or(
    expression: ColumnElement[Any], render: Callable[[ColumnElement[Any]], ColumnElement[str]]
) -> ColumnElement[str]:
    """`render(expression)`, or JSON `null` where the value is SQL NULL."""
    return case((expression.is_(None), NULL), else_=render(expression))


def json_object(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A jsonb value as `json.dumps` writes what asyncpg reads of it: without spaces.

    jsonb's text has spaces only after `,` and `:` outside strings; the pattern keeps each
    string whole and drops every space between them. (A number the application wrote with an
    exponent, such as 1e-07, is stored as its digits and differs: the app writes none.)
    """
    return func.regexp_replace(
        cast(expression, Text),
        literal(_JSON_SPACES, Text),
        literal("\\1", Text),
        const("g"),
        type_=Text,
    )


def json_text_array(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A text[] as a JSON array of strings."""
    return cast(func.array_to_json(expression), Text)


def json_string(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A text value as a JSON string (NULL stays NULL)."""
    return cast(func.to_json(expression), Text)


def json_number(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """An integer as JSON."""
    return cast(expression, Text)


def json_decimal(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A numeric as the JSON string `str(Decimal)` gives (fixed scale: the column's text)."""
    return concat([const('"'), cast(expression, Text), const('"')])


def json_enum(expression: ColumnElement[Any], *, upper: bool) -> ColumnElement[str]:
    """A stored enum value as its GraphQL name in a JSON string."""
    value = func.upper(expression, type_=Text) if upper else cast(expression, Text)
    return concat([const('"'), value, const('"')])


def json_datetime(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A timestamptz as a JSON string (NULL stays NULL)."""
    iso = isoformat_sql(expression)
    return case((expression.is_(None), None), else_=concat([const('"'), iso, const('"')]))


def json_float(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A float8 as Python's `repr`: PostgreSQL's shortest text, with `.0` on whole numbers."""
    return float_repr_sql(expression)


def global_id(type_name: str, row_id: ColumnElement[Any]) -> ColumnElement[str]:
    """The JSON string of `encode_global_id(type_name, row_id)`."""
    payload = concat([const(f"{type_name}:"), cast(row_id, Text)])
    return concat([const('"'), base64url_sql(payload), const('"')])


def ascii_json(body: bytes) -> bytes:
    """`body` with every non-ASCII character escaped as `json.dumps` (ensure_ascii) does."""
    if body.isascii() and b"\x7f" not in body:
        return body
    return _NON_ASCII.sub(_escape, body.decode()).encode()


# What `ensure_ascii` escapes beyond PostgreSQL's JSON: DEL and everything past ASCII.
_NON_ASCII = re.compile(r"[^\x00-\x7e]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:  # noqa: PLR2004 - the Basic Multilingual Plane
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"
