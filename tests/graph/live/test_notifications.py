"""The triggers of migration 0012: what each change announces on `sartiq_live`, at commit.

Read with a plain asyncpg LISTEN connection, so these check the database side alone.
"""

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import text

from graph.live.events import CHANNEL, BookingEvent, Resync, SessionRevoked, parse_event
from tests.graph.live.live import slot, world

MAX_PAYLOAD_BYTES = 8_000


@asynccontextmanager
async def listening(test_database) -> AsyncIterator[asyncio.Queue[str]]:
    """A LISTEN connection on the test database; its payloads, in order."""
    dsn = test_database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    payloads: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(CHANNEL, lambda *args: payloads.put_nowait(args[3]))
    try:
        yield payloads
    finally:
        await connection.close()


async def _next(payloads: asyncio.Queue[str]) -> dict[str, Any]:
    payload = await asyncio.wait_for(payloads.get(), 5)
    assert len(payload.encode()) < MAX_PAYLOAD_BYTES
    return json.loads(payload)


async def test_each_booking_change_is_announced_with_ids_kind_and_span(engine, test_database):
    async with world(engine) as made, listening(test_database) as payloads:
        host, _ = await made.user("host")
        guest, _ = await made.user()
        venue = await made.venue(host)
        start, end = slot(40)
        booking_id = uuid.uuid4()
        statements = [
            (
                (
                    "INSERT INTO bookings"
                    " (id, user_id, venue_id, starts_at, ends_at, amount, currency)"
                    " VALUES (:id, :user, :venue, :start, :end, 100, 'EUR')"
                ),
                "created",
            ),
            ("UPDATE bookings SET notes = 'hi' WHERE id = :id", None),
            ("UPDATE bookings SET status = 'confirmed' WHERE id = :id", "confirmed"),
            (
                "UPDATE bookings SET ends_at = ends_at + interval '1 hour' WHERE id = :id",
                "rescheduled",
            ),
            ("UPDATE bookings SET deleted_at = now() WHERE id = :id", "deleted"),
            ("UPDATE bookings SET deleted_at = NULL WHERE id = :id", "restored"),
            ("DELETE FROM bookings WHERE id = :id", "deleted"),
        ]
        values = {"id": booking_id, "user": guest.id, "venue": venue.id, "start": start, "end": end}
        kinds = []
        for statement, expected in statements:
            async with engine.begin() as connection:
                await connection.execute(text(statement), values)
            if expected is None:
                continue
            data = await _next(payloads)
            kinds.append(data["k"])
            event = parse_event(json.dumps(data))
            assert isinstance(event, BookingEvent)
            assert (event.booking_id, event.venue_id, event.user_id) == (
                booking_id,
                venue.id,
                guest.id,
            )
            assert event.starts_at == start
            assert event.ends_at >= end
        assert kinds == [expected for _, expected in statements if expected]
        # A note changed nothing anyone subscribes to: no payload for it.
        assert payloads.empty()


async def test_a_rolled_back_change_is_never_announced(engine, test_database):
    async with world(engine) as made, listening(test_database) as payloads:
        host, _ = await made.user("host")
        guest, _ = await made.user()
        venue = await made.venue(host)
        start, end = slot(41)
        async with engine.connect() as connection:
            await connection.execute(
                text(
                    "INSERT INTO bookings (user_id, venue_id, starts_at, ends_at, amount, currency)"
                    " VALUES (:user, :venue, :start, :end, 100, 'EUR')"
                ),
                {"user": guest.id, "venue": venue.id, "start": start, "end": end},
            )
            await connection.rollback()
        await asyncio.sleep(0.3)
        assert payloads.empty()


async def test_a_bulk_change_sends_one_resync(engine, test_database):
    async with world(engine) as made, listening(test_database) as payloads:
        host, _ = await made.user("host")
        guest, _ = await made.user()
        venue = await made.venue(host)
        first = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO bookings (user_id, venue_id, starts_at, ends_at, amount, currency)"
                    " SELECT :user, :venue, day, day + interval '1 hour', 10, 'EUR'"
                    " FROM generate_series(1, 1001) AS n,"
                    " LATERAL (SELECT CAST(:first AS timestamptz) + n * interval '1 day' AS day) d"
                ),
                {"user": guest.id, "venue": venue.id, "first": first},
            )
        assert isinstance(parse_event(json.dumps(await _next(payloads))), Resync)
        await asyncio.sleep(0.2)
        assert payloads.empty()


async def test_a_revoked_session_is_announced_once(engine, test_database):
    async with world(engine) as made, listening(test_database) as payloads:
        user, _ = await made.user()
        for _ in range(2):  # revoking again changes nothing
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE sessions SET revoked_at = coalesce(revoked_at, now())"
                        " WHERE user_id = :user"
                    ),
                    {"user": user.id},
                )
        event = parse_event(json.dumps(await _next(payloads)))
        assert isinstance(event, SessionRevoked)
        assert event.user_id == user.id
        await asyncio.sleep(0.2)
        assert payloads.empty()
