"""Opaque keyset cursors: the sort key of the row a page ended on, base64-encoded JSON.

Every cursor the API hands out (root lists, child connections, history, search, and the
compiled path's) is `encode_cursor`'s and read back by `decode_cursor`; `encode_cursor_sql`
writes the same bytes in SQL for the compiler. A cursor names its ordering and carries one
typed value per sort key, so a cursor from another list, or one edited by hand, is refused
with `BAD_USER_INPUT` instead of reaching SQL as a value of the wrong type.
"""

import base64
import datetime as dt
import enum
import json
import math
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Float, Text, case, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from graph.core.errors import BadUserInputError
from graph.core.global_id import unbase64url
from graph.core.scalars import checked_decimal, checked_instant, text_problem

# Longer than any cursor this server hands out (the longest holds a 200-character title,
# JSON-escaped, in base64: about 3,300 characters); longer ones are refused undecoded.
MAX_CURSOR_CHARS = 4_096
# A cursor's sort-key integers are PostgreSQL bigints.
_BIGINT = 2**63


class KeyKind(enum.Enum):
    """The type of one sort-key value, which fixes how a cursor writes and reads it."""

    DATETIME = "datetime"
    UUID = "uuid"
    DECIMAL = "decimal"
    TEXT = "text"
    FLOAT = "float"
    INTEGER = "integer"


def encode_cursor(ordering: str, kinds: Sequence[KeyKind], values: Sequence[Any]) -> str:
    """Encode the sort-key `values` (of `kinds`, None allowed) of a row in `ordering`."""
    written = [
        None if value is None else _write(kind, value)
        for kind, value in zip(kinds, values, strict=True)
    ]
    payload = json.dumps([ordering, *written], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str,
    *,
    ordering: str,
    kinds: Sequence[KeyKind],
    nullable: Sequence[bool],
    field: str,
) -> tuple[Any, ...]:
    """Decode a cursor made by `encode_cursor` for `ordering`; `BAD_USER_INPUT` otherwise."""
    payload = _payload(cursor)
    if not isinstance(payload, list) or len(payload) != len(kinds) + 1 or payload[0] != ordering:
        raise _invalid(field)
    values: list[Any] = []
    for kind, may_be_null, raw in zip(kinds, nullable, payload[1:], strict=True):
        if raw is None and may_be_null:
            values.append(None)
            continue
        if not isinstance(raw, str):
            raise _invalid(field)
        try:
            values.append(_read(kind, raw))
        except (ValueError, InvalidOperation):
            raise _invalid(field) from None
    return tuple(values)


def encode_cursor_sql(
    ordering: str,
    kinds: Sequence[KeyKind],
    values: Sequence[ColumnElement[Any]],
    nullable: Sequence[bool] | None = None,
) -> ColumnElement[str]:
    """`encode_cursor(ordering, kinds, values)` as a SQL text expression, for the compiler.

    The payload is concatenated as `json.dumps` writes it: times, UUIDs, integers, decimals
    and floats need no escaping; a text key is PostgreSQL's JSON string with every non-ASCII
    character escaped as Python's `ensure_ascii` does; a nullable key writes `null` for NULL.
    """
    nullable = nullable or [False] * len(kinds)
    parts: list[ColumnElement[str]] = [sql_constant(f'["{ordering}"')]
    for kind, value, may_be_null in zip(kinds, values, nullable, strict=True):
        if kind is KeyKind.TEXT:
            quoted = _sql_concat(
                [sql_constant(","), ascii_json_sql(cast(func.to_json(value), Text))]
            )
        else:
            quoted = _sql_concat([sql_constant(',"'), _write_sql(kind, value), sql_constant('"')])
        if may_be_null:
            quoted = case((value.is_(None), sql_constant(",null")), else_=quoted)
        parts.append(quoted)
    parts.append(sql_constant("]"))
    return base64url_sql(_sql_concat(parts))


def base64url_sql(text: ColumnElement[str]) -> ColumnElement[str]:
    """URL-safe base64 of a text's UTF-8 bytes, without padding or line breaks."""
    encoded = func.encode(
        func.convert_to(text, sql_constant("UTF8")), sql_constant("base64"), type_=Text
    )
    unbroken = func.replace(encoded, func.chr(10), sql_constant(""), type_=Text)
    return func.rtrim(
        func.translate(unbroken, sql_constant("+/"), sql_constant("-_")),
        sql_constant("="),
        type_=Text,
    )


def isoformat_sql(expression: ColumnElement[Any]) -> ColumnElement[str]:
    """A timestamptz as Python's `isoformat()` of the UTC value (microseconds only if any)."""
    utc = func.timezone(sql_constant("UTC"), expression)
    seconds = func.to_char(utc, sql_constant('YYYY-MM-DD"T"HH24:MI:SS'), type_=Text)
    fraction = case(
        (
            func.extract("microseconds", expression) % 1_000_000 != 0,
            func.to_char(utc, sql_constant(".US"), type_=Text),
        ),
        else_=sql_constant(""),
    )
    return _sql_concat([seconds, fraction, sql_constant("+00:00")])


def _write_sql(kind: KeyKind, value: ColumnElement[Any]) -> ColumnElement[str]:
    """`_write(kind, value)` in SQL, for the kinds whose text SQL renders the same."""
    if kind is KeyKind.DATETIME:
        return isoformat_sql(value)
    if kind in {KeyKind.UUID, KeyKind.INTEGER, KeyKind.DECIMAL}:
        # A numeric's text keeps its scale, as `str(Decimal)` of the value asyncpg reads.
        return cast(value, Text)
    if kind is KeyKind.FLOAT:
        return float_repr_sql(value)
    message = f"no SQL writer for {kind.value} cursor keys"
    raise ValueError(message)


def ascii_json_sql(text: ColumnElement[str]) -> ColumnElement[str]:
    """JSON `text` with each non-ASCII character escaped as `json.dumps` (ensure_ascii) does.

    Characters beyond the Basic Multilingual Plane become a surrogate pair, as in Python.
    A subquery over the characters: used for the few rows of a page, never for a table.
    """
    character = (
        func.regexp_split_to_table(text, sql_constant(""))
        .table_valued("value", with_ordinality="position")
        .render_derived()
    )
    code = func.ascii(character.c.value)
    beyond = code - 65536
    escape = literal("\\u", Text)
    escaped = case(
        # json.dumps escapes DEL (127) too: it keeps printable ASCII only.
        (code < 127, character.c.value),  # noqa: PLR2004 - printable ASCII and controls
        (code < 65536, escape.concat(func.lpad(func.to_hex(code), 4, sql_constant("0")))),  # noqa: PLR2004 - the BMP
        else_=_sql_concat(
            [
                escape,
                func.to_hex(55296 + beyond.op(">>")(10)),
                escape,
                func.to_hex(56320 + beyond.op("&")(1023)),
            ]
        ),
    )
    return (
        select(func.string_agg(escaped, aggregate_order_by(sql_constant(""), character.c.position)))
        .select_from(character)
        .correlate_except(character)
        .scalar_subquery()
    )


def float_repr_sql(value: ColumnElement[Any]) -> ColumnElement[str]:
    """A float8 as Python's `repr`: PostgreSQL's shortest text, with `.0` on whole numbers."""
    text = cast(cast(value, Float), Text)
    return case((text.regexp_match("^-?[0-9]+$"), text.concat(sql_constant(".0"))), else_=text)


_SAFE_CONSTANT = re.compile(r"^[^'\\\x00]*$")


def sql_constant(text: str) -> ColumnElement[str]:
    """A constant piece of SQL text (a key, a bracket; never a value), inlined as a literal."""
    if not _SAFE_CONSTANT.match(text):
        message = f"not a safe SQL constant: {text!r}"
        raise ValueError(message)
    return literal_column(f"'{text}'", Text)


def _sql_concat(parts: Sequence[ColumnElement[Any]]) -> ColumnElement[str]:
    return func.concat(*parts, type_=Text)


def _payload(cursor: str) -> object:
    """The JSON array a cursor holds, or None for anything else (never deeper than one level)."""
    raw = unbase64url(cursor, max_chars=MAX_CURSOR_CHARS)
    try:
        text = raw.decode() if raw is not None else ""
    except UnicodeDecodeError:
        return None
    if not _is_flat(text):
        return None  # before json.loads, whose recursion a deeply nested array overflows
    try:
        return json.loads(text)
    except ValueError:
        return None


def _is_flat(text: str) -> bool:
    """Whether JSON `text` nests no array or object inside another (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > 1:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _invalid(field: str) -> BadUserInputError:
    return BadUserInputError(f"`{field}` is not a valid cursor for this list.", field=field)


def _write(kind: KeyKind, value: Any) -> str:  # noqa: ANN401 - one value of any key kind
    if kind is KeyKind.DATETIME:
        return str(value.isoformat())
    if kind is KeyKind.FLOAT:
        return repr(float(value))
    return str(value)


def _read(kind: KeyKind, raw: str) -> object:
    if problem := text_problem(raw):
        raise ValueError(problem)
    if kind is KeyKind.DATETIME:
        moment = dt.datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            message = "a cursor's time has an offset"
            raise ValueError(message)
        return checked_instant(moment)
    if kind is KeyKind.UUID:
        return uuid.UUID(raw)
    if kind is KeyKind.DECIMAL:
        return checked_decimal(Decimal(raw))
    if kind is KeyKind.FLOAT:
        real = float(raw)
        if not math.isfinite(real):
            message = "a cursor's number is finite"
            raise ValueError(message)
        return real
    if kind is KeyKind.INTEGER:
        whole = int(raw)
        if not -_BIGINT <= whole < _BIGINT:
            message = "a cursor's integer is a bigint"
            raise ValueError(message)
        return whole
    return raw
