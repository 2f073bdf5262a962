"""Opaque keyset cursors: the sort key of the row a page ended on, base64-encoded JSON.

A keyset cursor names its ordering and carries one typed value per sort key, so a cursor
from another ordering, or one edited by hand, is refused with `BAD_USER_INPUT` instead of
reaching SQL as a value of the wrong type.
"""

import base64
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

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


def encode_cursor(*values: object) -> str:
    """Encode a row's sort-key values (str()-able scalars) as an opaque cursor."""
    payload = json.dumps([str(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, size: int, field: str) -> list[str]:
    """Decode a cursor made by `encode_cursor` with `size` values; `BAD_USER_INPUT` otherwise."""
    values = _payload(cursor)
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(isinstance(value, str) and not text_problem(value) for value in values)
    ):
        message = f"`{field}` is not a valid cursor."
        raise BadUserInputError(message, field=field)
    return [str(value) for value in values]


def encode_newest_first_cursor(created_at: dt.datetime, row_id: uuid.UUID) -> str:
    """The cursor of a row in a newest-first list (sessions, history): its time and id."""
    return encode_cursor(created_at.isoformat(), row_id)


def decode_newest_first_cursor(cursor: str, *, field: str) -> tuple[dt.datetime, uuid.UUID]:
    """The (created_at, id) an `encode_newest_first_cursor` cursor holds; else `BAD_USER_INPUT`."""
    raw_created_at, raw_id = decode_cursor(cursor, size=2, field=field)
    try:
        created_at, row_id = dt.datetime.fromisoformat(raw_created_at), uuid.UUID(raw_id)
        checked_instant(created_at)
    except ValueError:
        created_at = None
    if created_at is None or created_at.tzinfo is None:
        message = f"`{field}` is not a valid cursor."
        raise BadUserInputError(message, field=field)
    return created_at, row_id


def encode_keyset_cursor(ordering: str, kinds: Sequence[KeyKind], values: Sequence[Any]) -> str:
    """Encode the sort-key `values` (of `kinds`, None allowed) of a row in `ordering`."""
    written = [
        None if value is None else _write(kind, value)
        for kind, value in zip(kinds, values, strict=True)
    ]
    payload = json.dumps([ordering, *written], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_keyset_cursor(
    cursor: str,
    *,
    ordering: str,
    kinds: Sequence[KeyKind],
    nullable: Sequence[bool],
    field: str,
) -> tuple[Any, ...]:
    """Decode a cursor made by `encode_keyset_cursor` for `ordering`; `BAD_USER_INPUT` otherwise."""
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
