"""The websocket's refusals: each closes with its documented code (or answers a coded error).

Bad `connection_init`, a subscribe before it, too many subscriptions on a connection, too many
connections on a worker, and the query limits (depth, cost, allow-list) applied to
subscription documents as to queries.
"""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from graph.http.app import create_app
from models.settings import Settings
from tests.graph.live.live import (
    AVAILABILITY,
    PROTOCOL,
    SESSION_REVOKED,
    LiveClient,
    gid,
    live_client,
    slot,
    world,
    ws_url,
)
from tests.graph.serving import served_over_tcp


@pytest.fixture(scope="module")
def strict_server(test_database) -> Iterator[str]:
    """The app with small limits, so that each is reached in a few messages."""
    settings = Settings(
        database_url=test_database.url,
        graphiql=False,
        live_max_subscriptions_per_connection=2,
        live_max_connections_per_worker=3,
        live_connection_init_timeout_seconds=0.5,
        max_query_depth=8,
        max_query_cost=50,
    )
    with served_over_tcp(create_app(settings)) as base_url:
        yield base_url


async def _closed_after(base_url: str, *messages: Any) -> tuple[int | None, str | None]:
    """Open a connection, send `messages` (objects as JSON), return the server's close."""
    async with connect(ws_url(base_url), subprotocols=[Subprotocol(PROTOCOL)]) as socket:
        client = LiveClient(socket)
        for message in messages:
            await socket.send(message if isinstance(message, str) else json.dumps(message))
        return await client.closed()


@pytest.mark.parametrize(
    ("messages", "code"),
    [
        pytest.param([{"type": "connection_init", "payload": []}], 4400, id="payload-not-object"),
        pytest.param(
            [{"type": "connection_init", "payload": {"Authorization": 42}}],
            4400,
            id="authorization-not-a-string",
        ),
        pytest.param(
            [{"type": "connection_init", "payload": {"Authorization": "Basic abc"}}],
            4400,
            id="authorization-not-bearer",
        ),
        pytest.param(
            [{"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}],
            4401,
            id="unknown-token",
        ),
        pytest.param(["not json"], 4400, id="not-json"),
        pytest.param([{"no": "type"}], 4400, id="no-type"),
        pytest.param(
            [{"id": "1", "type": "subscribe", "payload": {"query": SESSION_REVOKED}}],
            4401,
            id="subscribe-before-init",
        ),
        pytest.param(
            [{"type": "connection_init"}, {"type": "connection_init"}],
            4429,
            id="second-init",
        ),
        pytest.param(
            [{"type": "connection_init"}, {"id": "1", "type": "subscribe", "payload": "x"}],
            4400,
            id="subscribe-payload-not-object",
        ),
        pytest.param(
            [
                {"type": "connection_init"},
                {"id": "1", "type": "subscribe", "payload": {"query": 7}},
            ],
            4400,
            id="query-not-a-string",
        ),
        pytest.param([], 4408, id="no-init-in-time"),
    ],
)
async def test_a_bad_connection_closes_with_its_code(strict_server, messages, code, caplog):
    closed_code, reason = await _closed_after(strict_server, *messages)
    assert closed_code == code, reason
    assert reason
    assert [record for record in caplog.records if record.exc_info] == []


async def test_an_expired_session_is_refused_at_init(strict_server, engine):
    async with world(engine) as made:
        user, token = await made.user()
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1",
                (user.id,),
            )
        closed = await _closed_after(
            strict_server,
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}},
        )
    assert closed[0] == 4401


async def test_a_subscription_over_the_cap_closes_the_connection(strict_server, engine):
    async with world(engine) as made:
        host, _ = await made.user("host")
        venue = await made.venue(host)
        start, end = slot(3)
        variables = {
            "venueId": gid("Venue", venue.id),
            "from": start.isoformat(),
            "to": end.isoformat(),
        }
        async with live_client(strict_server) as client:
            for operation_id in ("1", "2"):
                await client.subscribe(operation_id, AVAILABILITY, variables)
                await client.next_data(operation_id)
            await client.subscribe("3", AVAILABILITY, variables)
            code, reason = await client.closed()
    assert code == 4430, reason


async def test_a_connection_over_the_worker_cap_is_closed_try_again_later(strict_server):
    async with (
        live_client(strict_server),
        live_client(strict_server),
        live_client(strict_server),
    ):
        code, reason = await _closed_after(strict_server)
    assert code == 1013, reason
    # Once one closes, there is room again.
    async with live_client(strict_server) as client:
        await client.nothing(0.1)


async def test_the_query_depth_limit_applies_to_subscriptions(strict_server):
    deep = """subscription Deep {
      bookingChanges { booking { venue { bookings(first: 1) { edges { node {
        venue { bookings(first: 1) { edges { node { id } } } }
      } } } } } }
    }"""
    async with live_client(strict_server) as client:
        await client.subscribe("d", deep)
        message = await client.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_the_cost_limit_applies_to_subscriptions(strict_server):
    costly = """subscription Costly {
      bookingChanges { booking { venue { bookings(first: 100) { edges { node { id } } } } } }
    }"""
    async with live_client(strict_server) as client:
        await client.subscribe("c", costly)
        message = await client.receive()
        complete = await client.receive()
    # Refused before it starts: one result with the error and no data, then `complete`.
    assert message["type"] == "next", message
    assert message["payload"]["data"] is None
    assert message["payload"]["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert complete == {"id": "c", "type": "complete"}


async def test_a_bad_window_is_a_coded_error_not_a_close(strict_server, engine):
    async with world(engine) as made:
        host, _ = await made.user("host")
        venue = await made.venue(host)
        start, end = slot(3)
        async with live_client(strict_server) as client:
            await client.subscribe(
                "w",
                AVAILABILITY,
                {
                    "venueId": gid("Venue", venue.id),
                    "from": end.isoformat(),
                    "to": start.isoformat(),
                },
            )
            message = await asyncio.wait_for(client.receive(), 5)
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
