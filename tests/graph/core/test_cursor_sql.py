"""Cursors written in SQL (for the compiled path) are byte for byte the cursors Python writes.

The compiled statement writes each row's cursor in SQL; the loader path writes it with
`encode_cursor`. A client pages with either, so they must be the same text, for every kind
of sort key and the awkward values: non-ASCII (escaped as `json.dumps` escapes it, astral
characters as surrogate pairs), quotes, backslashes, control characters, NULL keys, a
numeric's scale, whole floats.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Float, Numeric, Text, literal, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import DateTime

from graph.core.cursors import KeyKind, encode_cursor, encode_cursor_sql

TIMESTAMPTZ = DateTime(timezone=True)
ROW_ID = uuid.UUID("019bd5a0-0000-7000-8000-000000000000")
TEXTS = ["Café Ünïcode ☕", 'x"y\\z\n\t\x01\x7f 😀 \u2028', "", "plain", "<b>&amp;</b>"]
VALUES: list[tuple[KeyKind, Any, Any]] = [
    *((KeyKind.TEXT, text, Text()) for text in TEXTS),
    (KeyKind.DECIMAL, Decimal("50.00"), Numeric(12, 2)),
    (KeyKind.DECIMAL, Decimal("0.10"), Numeric(12, 2)),
    (KeyKind.FLOAT, 3.0, Float()),
    (KeyKind.FLOAT, 0.1, Float()),
    (KeyKind.FLOAT, -1234.5678, Float()),
    (
        KeyKind.DATETIME,
        dt.datetime(2030, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
        DateTime(timezone=True),
    ),
    (KeyKind.DATETIME, dt.datetime(2030, 3, 1, 9, 30, tzinfo=dt.UTC), DateTime(timezone=True)),
]


@pytest.mark.parametrize(("kind", "value", "type_"), VALUES)
@pytest.mark.parametrize("nullable", [False, True])
async def test_sql_writes_the_cursor_python_writes(
    connection: AsyncConnection, kind: KeyKind, value: Any, type_: Any, *, nullable: bool
) -> None:
    keys = (kind, KeyKind.UUID)
    sql = encode_cursor_sql(
        "Any.ORDER",
        keys,
        (literal(value, type_), literal(ROW_ID, UUID(as_uuid=True))),
        [nullable, False],
    )

    written = (await connection.execute(select(sql))).scalar_one()

    assert written == encode_cursor("Any.ORDER", keys, (value, ROW_ID))


async def test_a_null_key_is_written_as_null(connection: AsyncConnection) -> None:
    keys = (KeyKind.TEXT, KeyKind.UUID)
    sql = encode_cursor_sql(
        "Any.ORDER",
        keys,
        (literal(None, Text()), literal(ROW_ID, UUID(as_uuid=True))),
        [True, False],
    )

    written = (await connection.execute(select(sql))).scalar_one()

    assert written == encode_cursor("Any.ORDER", keys, (None, ROW_ID))
