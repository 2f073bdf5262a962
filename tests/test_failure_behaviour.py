"""The real app under a steady stream of bookings while its database connections die.

The app runs with its own pool (no test session). Its connections carry an application name
of their own, so `pg_terminate_backend` kills exactly them. For the outage the app reaches
PostgreSQL through a TCP relay in this process: stopping the relay cuts every connection and
refuses new ones, which is what a stopped server looks like from the app, without touching
the shared server. Rows are committed through the `engine` fixture and deleted afterwards.
"""

import asyncio
import datetime as dt
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.global_id import decode_typed_id, encode_global_id
from graph.http.app import create_app
from models.settings import Settings
from tests.factories import make_login_session, make_user, make_venue

POOL_TIMEOUT_SECONDS = 1.0
# A request may wait for the pool, then connect (refused at once) and answer.
MAX_REQUEST_SECONDS = POOL_TIMEOUT_SECONDS + 1.5
STREAMS = 4
KILLS = 3
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } }
}
"""


@dataclass
class Committed:
    """A venue and a guest with a bearer token, committed."""

    venue_id: uuid.UUID
    token: str


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        guest = await make_user(setup)
        venue = await make_venue(setup, owner=host)
        token = f"guest-{uuid.uuid4()}"
        await make_login_session(setup, user=guest, token=token)
        await setup.commit()
    try:
        yield Committed(venue_id=venue.id, token=token)
    finally:
        async with engine.begin() as connection:
            deleted = await connection.execute(
                text("DELETE FROM bookings WHERE venue_id = :venue RETURNING id"),
                {"venue": venue.id},
            )
            users = [host.id, guest.id]
            record_ids = [*deleted.scalars(), venue.id, *users]
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = ANY(:users)"), {"users": users}
            )
            await connection.execute(text("DELETE FROM venues WHERE id = :id"), {"id": venue.id})
            await connection.execute(
                text("DELETE FROM users WHERE id = ANY(:users)"), {"users": users}
            )
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = ANY(:ids)"), {"ids": record_ids}
            )


@dataclass
class Outcome:
    """One createBooking request: when it was sent, how long it took, what came back."""

    sent_at: float
    seconds: float
    status: int
    booking_id: uuid.UUID | None
    codes: list[str]


@dataclass
class Load:
    """A steady stream of bookings, each for an hour no other request asks for."""

    client: httpx.AsyncClient
    data: Committed
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)
    slots: int = 0

    async def stream(self) -> None:
        """Book one free slot after another until stopped."""
        base = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        while not self.stopped.is_set():
            self.slots += 1
            starts_at = base + dt.timedelta(days=30, hours=self.slots)
            variables = {
                "input": {
                    "venueId": encode_global_id("Venue", self.data.venue_id),
                    "startsAt": starts_at.isoformat(),
                    "endsAt": (starts_at + dt.timedelta(hours=1)).isoformat(),
                }
            }
            sent_at = time.monotonic()
            response = await self.client.post(
                "/graphql",
                json={"query": CREATE, "variables": variables},
                headers={"Authorization": f"Bearer {self.data.token}"},
            )
            self.outcomes.append(_outcome(sent_at, response))
            await asyncio.sleep(0.01)


def _outcome(sent_at: float, response: httpx.Response) -> Outcome:
    body: dict[str, Any] = response.json()
    booking = ((body.get("data") or {}).get("createBooking") or {}).get("booking")
    return Outcome(
        sent_at=sent_at,
        seconds=time.monotonic() - sent_at,
        status=response.status_code,
        booking_id=decode_typed_id(booking["id"], "Booking", field="id") if booking else None,
        codes=[error["extensions"]["code"] for error in body.get("errors", [])],
    )


async def _kill(admin_dsn: str, application_name: str) -> int:
    connection = await asyncpg.connect(admin_dsn)
    try:
        killed: int = await connection.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name LIKE $1",
            f"{application_name}%",
        )
    finally:
        await connection.close()
    return killed


class Relay:
    """A TCP relay to PostgreSQL that can be stopped (every link cut, connections refused)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen (again, on the same port once it has one)."""
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and drop the open ones, as a stopped server would."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            self.links.discard(writer)
            writer.transport.abort()


@dataclass
class Observed:
    """What the load saw: every outcome, the outage's span, readiness during and after."""

    outcomes: list[Outcome]
    killed: list[int]
    outage: tuple[float, float]
    unready: httpx.Response
    ready: httpx.Response


async def _drive(app: Any, data: Committed, relay: Relay, *, admin_dsn: str, name: str) -> Observed:
    """Book steadily; kill the app's connections KILLS times, then stop the database a while."""
    killed: list[int] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            load = Load(client=client, data=data)
            streams = [asyncio.create_task(load.stream()) for _ in range(STREAMS)]
            try:
                await asyncio.sleep(0.5)
                for _ in range(KILLS):
                    killed.append(await _kill(admin_dsn, name))
                    await asyncio.sleep(0.4)
                await relay.stop()
                outage_from = time.monotonic()
                await asyncio.sleep(0.8)
                unready = await client.get("/readyz")
                await asyncio.sleep(0.5)
                outage_to = time.monotonic()
                await relay.start()
                await asyncio.sleep(1.0)
            finally:
                load.stopped.set()
                await asyncio.gather(*streams)
            ready = await client.get("/readyz")
    return Observed(load.outcomes, killed, (outage_from, outage_to), unready, ready)


async def test_killed_connections_and_an_outage_fail_fast_then_recover_losing_nothing(
    test_database, committed, engine
):
    name = f"sartiq-failure-{secrets.token_hex(3)}"
    target = make_url(test_database.url)
    relay = Relay(target.host or "127.0.0.1", target.port or 5432)
    await relay.start()
    relayed = target.set(host="127.0.0.1", port=relay.port)
    settings = Settings(
        database_url=relayed.render_as_string(hide_password=False),
        db_application_name=name,
        db_pool_size=STREAMS,
        db_max_overflow=0,
        db_pool_timeout_seconds=POOL_TIMEOUT_SECONDS,
    )
    try:
        seen = await _drive(
            create_app(settings), committed, relay, admin_dsn=test_database.admin_dsn, name=name
        )
    finally:
        await relay.stop()

    outcomes = seen.outcomes
    outage_from, outage_to = seen.outage
    booked = [o for o in outcomes if o.booking_id is not None]
    refused = [o for o in outcomes if o.booking_id is None]
    during_outage = [o for o in outcomes if outage_from + 0.2 < o.sent_at < outage_to - 0.3]
    recovered = [o for o in outcomes if o.sent_at > outage_to + 0.5]

    assert sum(seen.killed) >= KILLS, seen.killed  # the app's connections really were killed
    # Every request answered in time; a refusal is SERVICE_UNAVAILABLE (see the end).
    assert max(o.seconds for o in outcomes) < MAX_REQUEST_SECONDS
    assert {o.status for o in booked} == {200}
    assert {o.status for o in refused} <= {200, 503}
    assert all(len(o.codes) == 1 for o in refused), refused
    # The outage was seen as one, by requests and by readiness.
    assert during_outage, "no request was sent during the outage"
    assert {o.codes[0] for o in during_outage} == {"SERVICE_UNAVAILABLE"}
    assert {o.status for o in during_outage} == {503}
    assert seen.unready.status_code == 503
    assert seen.unready.json() == {"status": "unavailable", "reason": "database unreachable"}
    # Back without a restart.
    assert seen.ready.status_code == 200
    assert recovered, "no request was sent after the outage"
    assert all(o.booking_id is not None for o in recovered), recovered
    # No booking that was answered as made is missing.
    async with engine.connect() as connection:
        stored = set(
            (
                await connection.execute(
                    text("SELECT id FROM bookings WHERE venue_id = :venue"),
                    {"venue": committed.venue_id},
                )
            ).scalars()
        )
    assert {o.booking_id for o in booked} <= stored
    assert len(booked) > 2 * STREAMS

    # A killed connection is the database being unavailable, never an internal error.
    assert [o for o in refused if o.codes != ["SERVICE_UNAVAILABLE"]] == []
