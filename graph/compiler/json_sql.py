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

from sqlalchemy import ColumnElement, Text, case, cast, func, literal, literal_column

from graph.core.cursors import base64url_sql, float_repr_sql, isoformat_sql, sql_constant

# PostgreSQL accepts at most 100 arguments per function call; concat is chunked below it.
_CONCAT_CHUNK = 90


def const(text: str) -> ColumnElement[str]:
    """A constant piece of JSON structure (a key, a bracket), inlined as a SQL string literal."""
    return sql_constant(text)


NULL = const("null")


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


# Patterns bound, not inlined (they have backslashes). Outside strings, what `json.loads` then
# `json.dumps` writes differently from jsonb's text: a space after `,` and `:`, and a fraction's
# trailing zeros (a numeric's scale: 25.00 is 25.0).
_JSON_REWRITE = r'("(?:[^"\\]|\\.)*")| |(\.[0-9]*[1-9])0+(?![0-9])|(\.0)0+(?![0-9])'
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
# Numbers whose float `repr` may differ from their digits (below 1e-4, or 16 digits and more).
_JSON_RISKY_NUMBER = r"(^|[^0-9.])0\.0000|[0-9.]{17}"
# Where a value cannot be rendered as the general path writes it: a character no rendered JSON
# holds unescaped. A response holding it is answered by the general path instead (`declined`).
FALL_BACK_MARK = "\x01"
FALL_BACK = literal_column("chr(1)", Text)


def declined(texts: Sequence[str]) -> bool:
    """Whether a statement's output holds `FALL_BACK`: the general path must answer."""
    return any(FALL_BACK_MARK in text for text in texts)


def json_object(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A jsonb value as `json.dumps` writes what asyncpg reads of it (its numbers as floats).

    jsonb's text has spaces only after `,` and `:` outside strings, and numbers as their
    digits; the pattern keeps each string whole, drops every space between them and a
    fraction's trailing zeros. A number whose float Python writes otherwise (1e-05, or more
    digits than a float keeps) makes the value `FALL_BACK`.
    """
    text = cast(expression, Text)
    rewritten = func.regexp_replace(
        text, literal(_JSON_REWRITE, Text), literal("\\1\\2\\3", Text), const("g"), type_=Text
    )
    numbers = func.regexp_replace(text, literal(_JSON_STRING, Text), const(""), const("g"))
    risky = numbers.regexp_match(literal(_JSON_RISKY_NUMBER, Text))
    return case((risky, FALL_BACK), else_=rewritten)


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


def json_inet(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """An IPv4 inet as the JSON string `str` gives of what asyncpg reads; IPv6: `FALL_BACK`.

    asyncpg reads an address for /32, an interface otherwise. Python and PostgreSQL write
    IPv6 with embedded IPv4 apart (`::ffff:102:304`, `::ffff:1.2.3.4`).
    """
    text = case(
        (func.masklen(expression) == 32, func.host(expression, type_=Text)),  # noqa: PLR2004 - one address
        else_=func.text(expression, type_=Text),
    )
    return case((func.family(expression) == 4, json_string(text)), else_=FALL_BACK)  # noqa: PLR2004 - IPv4


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


def timestamped_id(
    type_name: str, row_id: ColumnElement[Any], created_at: ColumnElement[Any]
) -> ColumnElement[str]:
    """The JSON string of `encode_timestamped_id(type_name, row_id, created_at)`."""
    payload = concat(
        [const(f"{type_name}:"), cast(row_id, Text), const(":"), isoformat_sql(created_at)]
    )
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
