"""The floor: what a Python server costs when it does nothing but run SQL and pass bytes through.

A bare ASGI callable (no framework) over an asyncpg pool, served by uvicorn with the API's
workers, loop and HTTP settings, so HTTP costs the same and only the GraphQL layer differs.
`POST /graphql` answers with the response of `bench.scenarios.NESTED_LIST` as an admin sees it
(every live booking and media), built by one hand-written SQL statement; `GET /readyz` says
when the pool is up.

With `BENCH_FLOOR_REPLAY` (a file bench/statement_capture.py wrote), a request whose body is one
it captured is answered by replaying the API's own statements for it instead: the same text
and arguments, in the same order, on one pooled connection, then the API's response bytes.
That is the floor of each read operation: the API's SQL, without the API's Python around it.

    BENCH_FLOOR_DSN=postgresql://postgres@127.0.0.1/sartiq_bench uvicorn bench.floor:app
"""

import os
import pickle
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import asyncpg

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# One statement as the API ran it: its text (asyncpg's `$n` style) and its arguments.
Statement = tuple[str, tuple[object, ...]]
# Request body -> (the API's statements for it, the API's response body).
Replay = dict[bytes, tuple[list[Statement], bytes]]

# Per worker: the 16 connections of the load spread over the workers, with room to spare.
POOL_SIZE = 10


def _global_id(type_name: str, column: str) -> str:
    """SQL for graph.core.global_id.encode_global_id: base64url of `Type:uuid`, no padding.

    `encode(..., 'base64')` wraps lines at 76 characters; `translate` drops the newlines
    (a character without a counterpart in the third argument is removed) and the padding.
    """
    return (
        f"translate(encode(convert_to('{type_name}:' || {column}::text, 'UTF8'), 'base64'),"
        " E'+/\\n=', '-_')"
    )


def _datetime(column: str) -> str:
    """SQL for Strawberry's DateTime of a UTC timestamptz: isoformat(), `+00:00`."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN ''"
        f" ELSE to_char({utc}, '.US') END || '+00:00'"
    )


# Same rows and order as the API: live venues oldest listing first (created_at, id), each with
# its first 10 live bookings by (starts_at, id) and their live guest, and its first 5 live media
# by (created_at, id); an admin's view, so no permission conditions beyond soft deletion.
NESTED_LIST_SQL = f"""
SELECT json_build_object('data', json_build_object('venues', json_build_object('edges',
  coalesce(json_agg(json_build_object('node', json_build_object(
    'id', {_global_id("Venue", "v.id")},
    'name', v.name,
    'bookings', json_build_object('edges', b.edges),
    'media', json_build_object('edges', m.edges)
  )) ORDER BY v.created_at, v.id), '[]'::json)
)))::text
FROM (
  SELECT id, name, created_at FROM venues
  WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT $1
) v
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object(
    'id', {_global_id("Booking", "b.id")},
    'startsAt', {_datetime("b.starts_at")},
    'amount', b.amount::text,
    'status', upper(b.status),
    'user', CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object(
      'id', {_global_id("User", "u.id")},
      'displayName', u.display_name,
      'email', u.email
    ) END
  )) ORDER BY b.starts_at, b.id), '[]'::json) AS edges
  FROM (
    SELECT id, user_id, starts_at, amount, status FROM bookings
    WHERE venue_id = v.id AND deleted_at IS NULL ORDER BY starts_at, id LIMIT $2
  ) b
  LEFT JOIN users u ON u.id = b.user_id AND u.deleted_at IS NULL
) b
CROSS JOIN LATERAL (
  SELECT coalesce(json_agg(json_build_object('node', json_build_object(
    'title', md.title,
    'width', md.width
  )) ORDER BY md.created_at, md.id), '[]'::json) AS edges
  FROM (
    SELECT title, width, created_at, id FROM media
    WHERE venue_id = v.id AND deleted_at IS NULL ORDER BY created_at, id LIMIT $3
  ) md
) m
"""  # noqa: S608 - fixed fragments, no input
# The page sizes of bench.scenarios.NESTED_LIST.
VENUES, BOOKINGS, MEDIA = 50, 10, 5


async def nested_list(connection: "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]") -> bytes:
    """The nested list's whole response body, as PostgreSQL wrote it."""
    body: str = await connection.fetchval(NESTED_LIST_SQL, VENUES, BOOKINGS, MEDIA)
    return body.encode()


class Floor:
    """The ASGI application: one pool per worker process, opened at lifespan startup."""

    def __init__(self) -> None:
        """No pool until the lifespan starts it; nothing to replay until it reads the file."""
        self.pool: asyncpg.Pool | None = None
        self.replay: Replay = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer `POST /graphql` (a replay or the nested list) and `GET /readyz` with ok."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # pragma: no cover - no websockets here
            return
        request = await _read_body(receive)
        if scope["path"] == "/graphql" and self.pool is not None:
            replayed = self.replay.get(request)
            async with self.pool.acquire() as connection:
                if replayed is None:
                    body = await nested_list(connection)
                else:
                    statements, body = replayed
                    for sql, arguments in statements:
                        await connection.fetch(sql, *arguments)
            await _respond(send, 200, body, b"application/json")
        elif scope["path"] == "/readyz" and self.pool is not None:
            await _respond(send, 200, b"ok", b"text/plain")
        else:
            await _respond(send, 404, b"not found", b"text/plain")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                replay = os.environ.get("BENCH_FLOOR_REPLAY")
                if replay:
                    self.replay = load_replay(Path(replay))
                self.pool = await asyncpg.create_pool(
                    os.environ["BENCH_FLOOR_DSN"],
                    min_size=POOL_SIZE,
                    max_size=POOL_SIZE,
                    reset=_no_reset,
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def load_replay(path: Path) -> Replay:
    """The statements and answers bench/statement_capture.py wrote to `path`."""
    replay: Replay = pickle.loads(path.read_bytes())  # noqa: S301 - written by this run's bench
    return replay


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Hand a connection back as the API's pool does: without a statement.

    asyncpg's pool resets a returned connection with one more round trip (advisory locks,
    cursors, LISTEN, settings); SQLAlchemy's pool, over the API's autocommit reads, sends
    nothing. With the reset, the floor of a small read was about half of what it is without.
    """


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


app = Floor()
