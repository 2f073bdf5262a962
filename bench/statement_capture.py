"""The SQL the API runs for each read operation, captured for the floor to replay.

The API is built in this process in its production configuration (the compiled path on,
GraphiQL off) on the dataset, and each scenario's request goes to it as wrk sends it: the same
body bytes, the same headers. The first send warms it (the pool's first connection, prepared
statements, a stale session's `last_seen_at` write); the second is recorded: every statement
with its arguments, and the response body. bench/floor.py replays them.

Statements are recorded at two levels, so that none goes unseen: SQLAlchemy's
`before_cursor_execute` (every statement through the engine; SQLAlchemy runs them as prepared
statements, which asyncpg's query logger does not see) and asyncpg's query logger on each
connection the pool hands out (what is sent on the raw driver connection). Both append through
`loop.call_soon`, whose queue is first in, first out: a statement takes its turn when
SQLAlchemy starts it or when asyncpg has run it, and a request's statements run one after
another on its one connection, so the list keeps their order.

What was sent is then counted where it cannot be missed: the API reaches PostgreSQL through a
relay in this process (`Wire`) that counts the messages that make PostgreSQL run a statement.
A request recorded with no statement, or with another number than the relay counted, raises.
pg_stat_statements cannot tell: it counts per database, other clients of the dataset included.
"""

import asyncio
import contextlib
import json
import pickle
import re
import struct
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from asyncpg.connection import LoggedQuery
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, ExecutionContext
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from bench.floor import Replay, Statement
from bench.run import APPLICATION_STATEMENTS, PING, POOL_RESET, Ready
from graph.http.app import create_app
from models.settings import Settings

# Frontend messages that run a statement: Execute (extended protocol, one per statement) and
# Query (simple protocol: asyncpg's `execute` without arguments, BEGIN, COMMIT).
RUNS_A_STATEMENT = frozenset({b"E", b"Q"})
# Startup requests PostgreSQL answers with one byte before the real startup message.
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


def request_body(ready: Ready) -> bytes:
    """The body wrk sends for the scenario (`BENCH_BODY` in bench/graphql.lua)."""
    return json.dumps(ready.scenario.body).encode()


def request_headers(ready: Ready) -> dict[str, str]:
    """The headers wrk sends for the scenario, the bearer token when it has one."""
    headers = {"Content-Type": "application/json"}
    if ready.token:
        headers["Authorization"] = f"Bearer {ready.token}"
    return headers


def is_application_statement(sql: str) -> bool:
    """Whether bench.run's `application_statements` counts `sql` (the SQL/req column)."""
    return (
        re.search(APPLICATION_STATEMENTS, sql, re.IGNORECASE) is not None
        and sql != PING
        and POOL_RESET.strip("%") not in sql
        and "pg_stat_statements" not in sql.lower()
    )


class Recorder:
    """The statements run while `into` is a list, in the order they ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record nothing until `into` is set."""
        self.loop = loop
        self.into: list[Statement] | None = None

    def before_cursor_execute(
        self,
        _connection: Connection,
        _cursor: DBAPICursor,
        statement: str,
        parameters: object,
        _context: ExecutionContext | None,
        executemany: bool,  # noqa: FBT001 - SQLAlchemy passes it positionally
    ) -> None:
        """A statement SQLAlchemy is about to run (asyncpg's `$n` style, values bound)."""
        into = self.into
        if into is None:
            return
        if executemany or not isinstance(parameters, tuple | list | type(None)):
            message = f"cannot replay {type(parameters).__name__} parameters: {statement[:200]}"
            raise TypeError(message)
        self.loop.call_soon(into.append, (statement, tuple(parameters or ())))

    def checkout(
        self,
        dbapi_connection: DBAPIConnection,
        _record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        """Log what runs on the raw asyncpg connection too (added once: a set of callbacks)."""
        dbapi_connection.driver_connection.add_query_logger(self.logged)

    def logged(self, query: LoggedQuery) -> None:
        """A statement asyncpg ran itself (asyncpg calls this with `call_soon`)."""
        if self.into is not None:
            self.into.append((query.query, tuple(query.args)))


class Wire:
    """A TCP relay from the API to PostgreSQL that counts the statements the API sends."""

    def __init__(self, host: str, port: int) -> None:
        """Relay to PostgreSQL at `host`:`port`; count nothing until `counting`."""
        self.host, self.port = host, port
        self.counting = False
        self.sent = 0
        self._relays: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[int]:
        """Accept connections on a free loopback port (yielded) until the block ends."""
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        try:
            yield int(server.sockets[0].getsockname()[1])
        finally:
            server.close()
            for relay in self._relays:
                relay.cancel()
            await asyncio.gather(*self._relays, return_exceptions=True)

    async def _accept(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None  # noqa: S101 - asyncio runs each connection as a task
        self._relays.add(relay)
        server, to_server = await asyncio.open_connection(self.host, self.port)
        answering = asyncio.ensure_future(_copy(server, to_client))
        try:
            await self._from_client(client, to_server, to_client)
            await answering
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            answering.cancel()
            for writer in (to_server, to_client):
                writer.close()
            self._relays.discard(relay)

    async def _from_client(
        self,
        client: asyncio.StreamReader,
        to_server: asyncio.StreamWriter,
        to_client: asyncio.StreamWriter,
    ) -> None:
        while True:  # the startup message, after any request for encryption (refused: loopback)
            head = await client.readexactly(8)
            (length, code) = struct.unpack("!ii", head)
            if length == 8 and code in {SSL_REQUEST, GSSENC_REQUEST}:  # noqa: PLR2004 - length
                to_client.write(b"N")
                continue
            to_server.write(head + await client.readexactly(length - 8))
            break
        while True:  # typed messages: a type byte, then a length that counts itself
            try:
                head = await client.readexactly(5)
            except asyncio.IncompleteReadError:
                to_server.close()
                return
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            if self.counting and kind in RUNS_A_STATEMENT:
                self.sent += 1
            to_server.write(head + await client.readexactly(length - 4))
            await to_server.drain()


async def _copy(source: asyncio.StreamReader, to: asyncio.StreamWriter) -> None:
    while chunk := await source.read(65536):
        to.write(chunk)
        await to.drain()
    to.close()


async def capture(url: str, readies: Sequence[Ready]) -> Replay:
    """Each scenario's request body -> (the statements the API ran for it, its response body).

    `url`: the dataset's async URL (a TCP host: the API reaches it through `Wire`).
    """
    target = make_url(url)
    wire = Wire(target.host or "127.0.0.1", target.port or 5432)
    replay: Replay = {}
    async with wire.listening() as port:
        relayed = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        settings = Settings(
            database_url=relayed,
            environment="production",
            fast_path=True,
            graphiql=False,
            slow_statement_ms=10_000,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            recorder = Recorder(asyncio.get_running_loop())
            engine = app.state.engine.sync_engine
            event.listen(engine, "before_cursor_execute", recorder.before_cursor_execute)
            event.listen(engine.pool, "checkout", recorder.checkout)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for ready in readies:
                    body = request_body(ready)
                    await _answer(client, ready, body)  # the warm-up
                    statements: list[Statement] = []
                    recorder.into, wire.counting, wire.sent = statements, True, 0
                    try:
                        answer = await _answer(client, ready, body)
                        await asyncio.sleep(0)  # the last `call_soon` appends
                    finally:
                        recorder.into, wire.counting = None, False
                    _check_count(ready, statements, wire.sent)
                    replay[body] = (statements, answer)
    return replay


async def _answer(client: httpx.AsyncClient, ready: Ready, body: bytes) -> bytes:
    response = await client.post("/graphql", content=body, headers=request_headers(ready))
    answer: dict[str, Any] = json.loads(response.content)
    if response.status_code != 200 or answer.get("errors") or not answer.get("data"):  # noqa: PLR2004 - HTTP OK
        message = f"{ready.scenario.name}: {response.status_code} {response.text[:500]}"
        raise RuntimeError(message)
    return response.content


def _check_count(ready: Ready, statements: list[Statement], sent: int) -> None:
    if not statements or len(statements) != sent:
        message = (
            f"{ready.scenario.name}: recorded {len(statements)} statements, the API sent {sent}:"
            " the capture missed some or saw some twice"
        )
        raise RuntimeError(message)


def write(replay: Replay, path: Path) -> None:
    """Save `replay` where bench/floor.py reads it (`BENCH_FLOOR_REPLAY`)."""
    path.write_bytes(pickle.dumps(replay, protocol=pickle.HIGHEST_PROTOCOL))
