"""Reads on a real streaming replica, writes on the primary, and read-your-writes between them.

The module makes its own primary and replica (bench/replica_pair.py: `initdb`, then
`pg_basebackup -R`, each on a free port, stopped and deleted at the end), never the shared
cluster. Each server counts its own statements (pg_stat_statements), so "served by the
replica" is what the replica says it ran, not what the app believes it sent.
"""

import asyncio
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from bench.replica_pair import ReplicaPair, missing_tools, replica_pair
from graph.cli import main
from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models.provisioning import migrate_to_head
from models.settings import Settings, get_settings
from tests.factories import make_booking, make_login_session, make_user, make_venue
from tests.graph.live.live import AVAILABILITY, graphql, live_client
from tests.graph.serving import served_over_tcp

HEADER = "Sartiq-Consistency-Token"
# The app's tables: statements naming one are the app's work (not the monitor's polls).
APP_TABLES = r"\m(venues|bookings|users|sessions|media)\M"

VENUE_PAGE = """
query VenuePage($id: ID!) {
  venue(id: $id) { name bookings(first: 10) { totalCount } }
}
"""
MY_BOOKINGS = """
query Mine { bookings(first: 50) { totalCount edges { node { id } } } }
"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } }
}
"""


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    """A primary with the migrated schema and its streaming replica, for this module."""
    reason = missing_tools()
    if reason is not None:
        pytest.skip(f"cannot make a streaming replica on this machine: {reason}")
    with replica_pair(f"sartiq_replicas_{secrets.token_hex(4)}", migrate_to_head) as made:
        yield made


@dataclass(frozen=True)
class Data:
    """A venue, its host, and a guest with a bearer token."""

    venue_id: str
    guest_token: str
    bookings: int


@pytest.fixture(scope="module")
async def data(pair: ReplicaPair) -> Data:
    """Committed on the primary (the cluster is thrown away with the module)."""
    engine = create_async_engine(pair.url(pair.primary), poolclass=NullPool)
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        guest = await make_user(setup)
        venue = await make_venue(setup, owner=host)
        for _ in range(2):
            await make_booking(setup, user=guest, venue=venue)
        token = f"guest-{uuid.uuid4()}"
        await make_login_session(setup, user=guest, token=token)
        await setup.commit()
    await engine.dispose()
    await _caught_up(pair)
    return Data(encode_global_id("Venue", venue.id), token, 2)


async def _fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def _caught_up(pair: ReplicaPair) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    [[target]] = await _fetch(pair.url(pair.primary), "SELECT pg_current_wal_insert_lsn()")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [[replayed]] = await _fetch(pair.url(pair.replica), "SELECT pg_last_wal_replay_lsn()")
        if replayed >= target:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the replica did not catch up within 10 s")


class Counted:
    """The app's statements each server ran since `reset` (pg_stat_statements, per server)."""

    def __init__(self, pair: ReplicaPair) -> None:
        self.urls = {"primary": pair.url(pair.primary), "replica": pair.url(pair.replica)}

    async def reset(self, *servers: str) -> None:
        for server in servers or tuple(self.urls):
            await _fetch(self.urls[server], "SELECT pg_stat_statements_reset()")

    async def statements(self, server: str) -> dict[str, int]:
        """Query text -> calls, of the statements naming an app table."""
        rows = await _fetch(
            self.urls[server],
            "SELECT query, calls FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND query ~* $1 AND query !~* 'pg_stat_statements'",
            APP_TABLES,
        )
        return {row["query"]: row["calls"] for row in rows}

    async def count(self, server: str) -> int:
        return sum((await self.statements(server)).values())


@pytest.fixture
async def counted(pair: ReplicaPair) -> Counted:
    counter = Counted(pair)
    await counter.reset()
    return counter


def _settings(pair: ReplicaPair, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": pair.url(pair.primary),
        "database_replica_urls": (pair.url(pair.replica),),
        "replica_poll_interval_seconds": 0.2,
        "replica_max_lag_seconds": 3.0,
        "db_pool_size": 5,
        "graphiql": False,
    } | overrides
    return Settings(**values)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app as served, its own pools on the pair; waits for the replica to be in rotation."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            if settings.database_replica_urls:
                await _wait_rotation(client, in_rotation=True)
            yield application, client


async def _replicas(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    ready = await client.get("/readyz")
    replicas: list[dict[str, Any]] = ready.json().get("replicas", [])
    return replicas


async def _wait_rotation(
    client: httpx.AsyncClient, *, in_rotation: bool, within: float = 10
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        replicas = await _replicas(client)
        if replicas and all(replica["inRotation"] is in_rotation for replica in replicas):
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the replica was not {'in' if in_rotation else 'out of'} rotation in {within} s")


async def _post(  # noqa: PLR0913 - a request's parts, by keyword
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query, "variables": variables or {}}
    if extensions is not None:
        body["extensions"] = extensions
    return await client.post("/graphql", json=body, headers=sent)


async def _routing(client: httpx.AsyncClient) -> dict[str, float]:
    """`sartiq_db_read_routing_total` by reason, from /metrics."""
    text = (await client.get("/metrics")).text
    return {
        sample.labels["reason"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "sartiq_db_read_routing"
        for sample in family.samples
        if sample.name == "sartiq_db_read_routing_total"
    }


def _slot(days: int) -> dict[str, str]:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    return {"startsAt": start.isoformat(), "endsAt": (start + dt.timedelta(hours=2)).isoformat()}


async def test_reads_are_served_by_the_replica_and_writes_by_the_primary(
    pair: ReplicaPair, data: Data, counted: Counted
) -> None:
    async with serving(_settings(pair)) as (_, client):
        before = await _routing(client)
        pages = [await _post(client, VENUE_PAGE, {"id": data.venue_id}) for _ in range(5)]
        mine = await _post(client, MY_BOOKINGS, token=data.guest_token)
        on_replica, on_primary = await counted.count("replica"), await counted.count("primary")
        after_reads = await _routing(client)

        await counted.reset()
        booked = await _post(
            client,
            CREATE,
            {"input": {"venueId": data.venue_id} | _slot(days=40)},
            token=data.guest_token,
        )
        mutation_on_replica = await counted.statements("replica")
        mutation_on_primary = await counted.statements("primary")
        after_mutation = await _routing(client)

    assert all(page.json()["data"]["venue"]["name"] for page in pages)
    assert mine.json()["data"]["bookings"]["totalCount"] >= data.bookings
    assert on_primary == 0
    assert on_replica >= 6  # one statement at least per read, the viewer's lookup besides
    assert after_reads["replica"] - before.get("replica", 0) == 6
    # Queries carry no token: they wrote nothing.
    assert HEADER not in mine.headers
    assert "consistencyToken" not in mine.json().get("extensions", {})

    assert booked.json()["data"]["createBooking"]["booking"]["status"] == "PENDING"
    assert any(
        query.lstrip().upper().startswith("INSERT INTO BOOKINGS") for query in mutation_on_primary
    )
    # The replica read the viewer before the operation was known to be a mutation; that
    # one read was done again on the primary, which read everything else too.
    assert all("sessions" in query for query in mutation_on_replica), mutation_on_replica
    assert sum(calls for query, calls in mutation_on_primary.items() if "sessions" in query) >= 1
    assert after_mutation["primary_mutation"] - after_reads.get("primary_mutation", 0) == 1
    token = booked.headers[HEADER]
    assert booked.json()["extensions"]["consistencyToken"] == token


async def test_a_token_reads_its_write_while_replay_is_paused(
    pair: ReplicaPair, data: Data, counted: Counted
) -> None:
    async with serving(_settings(pair)) as (_, client):
        await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_pause()")
        try:
            booked = await _post(
                client,
                CREATE,
                {"input": {"venueId": data.venue_id} | _slot(days=50)},
                token=data.guest_token,
            )
            booking_id = booked.json()["data"]["createBooking"]["booking"]["id"]
            token = booked.headers[HEADER]
            await counted.reset()
            with_header = await _post(
                client, MY_BOOKINGS, token=data.guest_token, headers={HEADER: token}
            )
            with_extension = await _post(
                client, MY_BOOKINGS, token=data.guest_token, extensions={"consistencyToken": token}
            )
            token_reads = await counted.count("primary"), await counted.count("replica")
            await counted.reset()
            stale = await _post(client, MY_BOOKINGS, token=data.guest_token)
            stale_reads = await counted.count("primary"), await counted.count("replica")
            routing = await _routing(client)

            # Paused, the replica falls behind and leaves rotation; reads go to the primary.
            await _wait_rotation(client, in_rotation=False)
            [lagging] = await _replicas(client)
            await counted.reset()
            without_replica = await _post(client, MY_BOOKINGS, token=data.guest_token)
            fallback_reads = await counted.count("primary"), await counted.count("replica")
        finally:
            await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_resume()")
        await _wait_rotation(client, in_rotation=True)
        await counted.reset()
        caught_up = await _post(
            client, MY_BOOKINGS, token=data.guest_token, headers={HEADER: token}
        )
        caught_up_reads = await counted.count("primary"), await counted.count("replica")

    def ids(response: httpx.Response) -> set[str]:
        return {edge["node"]["id"] for edge in response.json()["data"]["bookings"]["edges"]}

    # With the token: the write is seen, read on the primary (the replica is behind it).
    assert booking_id in ids(with_header)
    assert booking_id in ids(with_extension)
    assert token_reads[0] >= 4 and token_reads[1] <= 2, token_reads  # noqa: PT018
    assert routing["primary_token"] >= 2
    # Without it: allowed to be stale, and stale here, since the replica replays nothing.
    assert booking_id not in ids(stale)
    assert stale_reads[0] == 0 and stale_reads[1] >= 2, stale_reads  # noqa: PT018
    # Lagging: out of rotation, and everything reads on the primary, which has the booking.
    assert lagging["reason"] == "lagging"
    assert lagging["lagSeconds"] >= 3.0
    assert booking_id in ids(without_replica)
    assert fallback_reads[1] == 0 and fallback_reads[0] >= 2, fallback_reads  # noqa: PT018
    # Resumed: back in rotation, the token is satisfied there.
    assert booking_id in ids(caught_up)
    assert caught_up_reads[0] == 0 and caught_up_reads[1] >= 2, caught_up_reads  # noqa: PT018


async def test_a_token_just_issued_is_looked_up_on_the_primary_before_it_is_refused(
    pair: ReplicaPair, counted: Counted
) -> None:
    # A client signs in (the session is written on the primary) and at once reads its
    # viewer without a consistency token: the replica, not there yet, does not know the
    # token. It answered UNAUTHENTICATED ("sign in again") and closed websockets with 4401.
    async with serving(_settings(pair)) as (_, client):
        await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_pause()")
        try:
            engine = create_async_engine(pair.url(pair.primary), poolclass=NullPool)
            async with AsyncSession(engine, expire_on_commit=False) as setup:
                user = await make_user(setup)
                fresh = f"fresh-{uuid.uuid4()}"
                await make_login_session(setup, user=user, token=fresh)
                await setup.commit()
            await engine.dispose()
            before = await _routing(client)
            await counted.reset()
            viewer = await _post(client, "{ viewer { email } }", token=fresh)
            reads = await counted.count("primary"), await counted.count("replica")
            refused = await _post(client, "{ viewer { email } }", token="never-issued")
            after = await _routing(client)
        finally:
            await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_resume()")

    assert viewer.json()["data"]["viewer"]["email"] == user.email
    assert reads[0] >= 2, reads  # the lookup again, then the request's reads, on the primary
    assert after["primary_unknown_token"] - before.get("primary_unknown_token", 0) == 2
    # A token no server knows is still refused, with its code.
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_stopped_replica_fails_no_request_and_reads_come_back_when_it_restarts(
    pair: ReplicaPair, data: Data, counted: Counted
) -> None:
    outcomes: list[tuple[int, bool]] = []
    phase = {"name": "before"}
    served: dict[str, list[int]] = {}

    async with serving(_settings(pair)) as (_, client):

        async def load() -> None:
            turn = 0
            while phase["name"] != "done":
                turn += 1
                token = data.guest_token if turn % 2 else None
                query = MY_BOOKINGS if token else VENUE_PAGE
                variables = None if token else {"id": data.venue_id}
                response = await _post(client, query, variables, token=token)
                ok = response.status_code == 200 and "errors" not in response.json()
                outcomes.append((response.status_code, ok))

        async def snapshot(name: str, *servers: str) -> None:
            servers = servers or ("primary", "replica")
            served[name] = [await counted.count(server) for server in servers]
            await counted.reset(*servers)

        workers = [asyncio.create_task(load()) for _ in range(4)]
        try:
            await asyncio.sleep(1.0)
            await snapshot("before")
            await asyncio.to_thread(pair.replica.stop)
            await asyncio.sleep(1.5)
            await snapshot("stopped", "primary")
            await asyncio.to_thread(pair.replica.start)
            await _wait_rotation(client, in_rotation=True)
            await counted.reset()
            await asyncio.sleep(1.0)
            await snapshot("restarted")
        finally:
            phase["name"] = "done"
            await asyncio.gather(*workers)
        routing = await _routing(client)

    failed = [outcome for outcome in outcomes if not outcome[1]]
    assert len(outcomes) > 50
    assert not failed, f"{len(failed)} of {len(outcomes)} requests failed: {failed[:5]}"
    before, stopped, restarted = served["before"], served["stopped"], served["restarted"]
    assert before[1] > 0 and before[0] == 0, before  # noqa: PT018
    assert stopped[0] > 0, stopped
    assert restarted[1] > 0 and restarted[0] == 0, restarted  # noqa: PT018
    assert routing.get("primary_no_replica", 0) + routing.get("fallback_error", 0) > 0


async def test_a_malformed_token_is_a_coded_refusal(pair: ReplicaPair, data: Data) -> None:
    async with serving(_settings(pair)) as (_, client):
        by_header = await _post(client, VENUE_PAGE, {"id": data.venue_id}, headers={HEADER: "x"})
        by_extension = await _post(
            client, VENUE_PAGE, {"id": data.venue_id}, extensions={"consistencyToken": 12}
        )
        fine = await _post(client, VENUE_PAGE, {"id": data.venue_id}, headers={HEADER: "0/0"})
        # A client that has no token yet may send `consistencyToken: null` (`token ?? null`).
        none_yet = await _post(
            client, VENUE_PAGE, {"id": data.venue_id}, extensions={"consistencyToken": None}
        )
    assert none_yet.json()["data"]["venue"]["name"], none_yet.text
    for refused in (by_header, by_extension):
        assert refused.status_code == 400, refused.text
        body = refused.json()
        assert "data" not in body
        assert [error["extensions"]["code"] for error in body["errors"]] == [
            "BAD_CONSISTENCY_TOKEN"
        ]
    assert fine.json()["data"]["venue"]["name"]


async def test_without_replicas_nothing_changes(
    pair: ReplicaPair, data: Data, counted: Counted
) -> None:
    async with serving(_settings(pair, database_replica_urls=())) as (_, client):
        page = await _post(client, VENUE_PAGE, {"id": data.venue_id})
        booked = await _post(
            client,
            CREATE,
            {"input": {"venueId": data.venue_id} | _slot(days=60)},
            token=data.guest_token,
        )
        ready = (await client.get("/readyz")).json()
        routing = await _routing(client)
    assert page.json()["data"]["venue"]["name"]
    assert booked.json()["data"]["createBooking"]["booking"]["status"] == "PENDING"
    assert HEADER not in booked.headers
    assert "consistencyToken" not in (booked.json().get("extensions") or {})
    assert ready == {"status": "ready"}
    assert await counted.count("replica") == 0
    del routing


async def test_metrics_show_each_pool_the_replica_lag_and_rotation(
    pair: ReplicaPair, data: Data
) -> None:
    async with serving(_settings(pair)) as (_, client):
        await _post(client, VENUE_PAGE, {"id": data.venue_id})
        families = {
            family.name: family
            for family in text_string_to_metric_families((await client.get("/metrics")).text)
        }
        ready = (await client.get("/readyz")).json()
    replica = f"127.0.0.1:{pair.replica.port}/{pair.database}"
    pools = {sample.labels["database"] for sample in families["sartiq_db_pool_size"].samples}
    assert pools == {"primary", replica}
    [rotation] = families["sartiq_replica_in_rotation"].samples
    assert rotation.labels == {"replica": replica}
    assert rotation.value == 1
    [lag] = families["sartiq_replica_lag_seconds"].samples
    assert 0 <= lag.value < 3
    assert "sartiq_replica_lag_bytes" in families
    assert ready["status"] == "ready"
    assert ready["replicas"][0]["name"] == replica
    assert ready["replicas"][0]["inRotation"] is True


async def test_a_subscription_reads_each_event_where_its_commit_has_been_replayed(
    pair: ReplicaPair, data: Data
) -> None:
    window_start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=80)
    window = {
        "from": window_start.isoformat(),
        "to": (window_start + dt.timedelta(days=1)).isoformat(),
    }
    slot = {
        "startsAt": (window_start + dt.timedelta(hours=3)).isoformat(),
        "endsAt": (window_start + dt.timedelta(hours=5)).isoformat(),
    }
    with served_over_tcp(create_app(_settings(pair))) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            await _wait_rotation(http, in_rotation=True)
        async with live_client(base_url) as anonymous:
            await anonymous.subscribe("a", AVAILABILITY, {"venueId": data.venue_id, **window})
            first = (await anonymous.next_data("a"))["venueAvailability"]
            await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_pause()")
            try:
                answer = await graphql(
                    base_url, CREATE, {"input": {"venueId": data.venue_id} | slot}, data.guest_token
                )
                changed = (await anonymous.next_data("a"))["venueAvailability"]
            finally:
                await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_resume()")
    assert first["busy"] == []
    assert answer["data"]["createBooking"]["booking"]["status"] == "PENDING"
    # The replica had not replayed the booking: the event was read where it had been.
    assert changed["reason"] == "BOOKING_CHANGED"
    assert len(changed["busy"]) == 1


RENAME = """
mutation Rename($input: UpdateProfileInput!) { updateProfile(input: $input) { user { id } } }
"""
VIEWER_NAME = "{ viewer { displayName } }"


async def test_a_query_over_the_websocket_honours_its_consistency_token(
    pair: ReplicaPair, data: Data
) -> None:
    # A query over the websocket with a token in `subscribe`'s extensions, after a write and
    # with replay paused: it reads the write. Strawberry's handler dropped the extensions, so
    # the token bound nothing and a malformed one was not refused.
    with served_over_tcp(create_app(_settings(pair))) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            await _wait_rotation(http, in_rotation=True)
        async with live_client(base_url, data.guest_token) as socket:
            await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_pause()")
            try:
                name = f"Renamed {secrets.token_hex(3)}"
                answer = await graphql(
                    base_url, RENAME, {"input": {"displayName": name}}, data.guest_token
                )
                token = answer["extensions"]["consistencyToken"]
                for operation_id, sent in (("fresh", token), ("bad", "zz")):
                    payload = {"query": VIEWER_NAME, "extensions": {"consistencyToken": sent}}
                    await socket.send({"id": operation_id, "type": "subscribe", "payload": payload})
                replies = [await socket.receive() for _ in range(4)]  # a next, a complete each
            finally:
                await _fetch(pair.url(pair.replica), "SELECT pg_wal_replay_resume()")
    answered = {reply["id"]: reply["payload"] for reply in replies if reply["type"] == "next"}
    assert answered["fresh"] == {"data": {"viewer": {"displayName": name}}}
    assert [error["extensions"]["code"] for error in answered["bad"]["errors"]] == [
        "BAD_CONSISTENCY_TOKEN"
    ]


def test_sartiq_monitor_lists_the_replicas(
    pair: ReplicaPair, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", pair.url(pair.primary))
    monkeypatch.setenv("DATABASE_REPLICA_URLS", pair.url(pair.replica, driver="postgresql"))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            main(["monitor", "--json"])
        report = json.loads(capsys.readouterr().out)
        with pytest.raises(SystemExit):
            main(["monitor"])
        text = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    [replica] = report["replicas"]
    name = f"127.0.0.1:{pair.replica.port}/{pair.database}"
    assert replica["name"] == name
    assert replica["reachable"] is True
    assert replica["in_recovery"] is True
    assert replica["behind_bytes"] >= 0
    assert f"replica {name}: replaying" in text
