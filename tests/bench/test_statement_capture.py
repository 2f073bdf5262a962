"""The replay floor: the API's statements for a request, captured, then run by bench/floor.py.

The module seeds a database of its own (the capture serves the API on its own pool, so the rows
are committed; the run's test database stays as the other tests expect it). Only these tests
touch it, so its pg_stat_statements counts are theirs.
"""

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from bench import statement_capture
from bench.floor import Floor, Message
from bench.run import Ready, application_statements, libpq, reset_statements
from bench.scenarios import SCENARIOS
from bench.statement_capture import capture, is_application_statement, request_body
from bench.statement_capture import request_headers as headers
from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models.provisioning import create_database_if_missing, migrate_to_head
from models.settings import Settings
from tests.conftest import drop_database
from tests.factories import make_booking, make_login_session, make_user, make_venue


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A migrated database for this module, dropped at its end."""
    name = f"sartiq_capture_{secrets.token_hex(4)}"
    url = make_url(str(Settings().database_url)).set(database=name)
    text = url.render_as_string(hide_password=False)
    asyncio.run(create_database_if_missing(text))
    try:
        migrate_to_head(text)
        yield text
    finally:
        admin = url.set(database="postgres").render_as_string(hide_password=False)
        asyncio.run(drop_database(libpq(admin), name))


@pytest.fixture(scope="module")
async def readies(database: str) -> list[Ready]:
    """Three operations as the bench sends them: a host's venue, an anonymous search, a member."""
    engine = create_async_engine(database, poolclass=NullPool)
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        member = await make_user(setup)
        venue = await make_venue(setup, owner=host)
        for _ in range(3):
            await make_booking(setup, user=member, venue=venue)
        host_token, member_token = f"host-{uuid.uuid4()}", f"member-{uuid.uuid4()}"
        await make_login_session(setup, user=host, token=host_token)
        await make_login_session(setup, user=member, token=member_token)
        await setup.commit()
    await engine.dispose()
    details = {"id": encode_global_id("Venue", venue.id), "bookings": 10}
    return [
        Ready(SCENARIOS["VenueDetails"].with_variables(details), host_token),
        Ready(SCENARIOS["VenueSearchList"], None),
        Ready(SCENARIOS["Viewer"], member_token),
    ]


@asynccontextmanager
async def running(floor: Floor) -> AsyncIterator[httpx.AsyncClient]:
    """The floor with its lifespan started (its pool open), and a client on it."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    lifespan = asyncio.ensure_future(floor({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        transport = httpx.ASGITransport(app=floor)
        async with httpx.AsyncClient(transport=transport, base_url="http://floor") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan


async def api_statement_counts(database: str, readies: list[Ready]) -> list[int]:
    """The application statements the API runs per request, as pg_stat_statements counts them."""
    app = create_app(Settings(database_url=database, environment="production", graphiql=False))
    counts = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
    ):
        for ready in readies:
            await api.post("/graphql", content=request_body(ready), headers=headers(ready))
            await reset_statements(database)
            await api.post("/graphql", content=request_body(ready), headers=headers(ready))
            counts.append(await application_statements(database))
    return counts


async def test_the_floor_replays_the_apis_statements_and_answers_its_bytes(
    database: str, readies: list[Ready], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay = await capture(database, readies)
    api_counts = await api_statement_counts(database, readies)
    path = tmp_path / "replay.pickle"
    statement_capture.write(replay, path)
    monkeypatch.setenv("BENCH_FLOOR_DSN", libpq(database))
    monkeypatch.setenv("BENCH_FLOOR_REPLAY", str(path))

    async with running(Floor()) as floor:
        for ready, api_count in zip(readies, api_counts, strict=True):
            statements, answer = replay[request_body(ready)]
            assert json.loads(answer)["data"], ready.scenario.name
            captured = sum(is_application_statement(sql) for sql, _ in statements)
            await reset_statements(database)
            response = await floor.post(
                "/graphql", content=request_body(ready), headers=headers(ready)
            )
            replayed = await application_statements(database)
            assert response.status_code == 200
            assert response.content == answer, ready.scenario.name
            assert replayed == captured == api_count >= 1, ready.scenario.name

        other = await floor.post("/graphql", content=b'{"query": "{ venues { edges } }"}')
        assert other.json()["data"]["venues"]["edges"][0]["node"]["bookings"]["edges"]


async def test_a_statement_the_recorder_misses_fails_the_capture(
    database: str, readies: list[Ready], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay's count is the safety net: here SQLAlchemy's statements go unrecorded."""
    monkeypatch.setattr(
        statement_capture.Recorder, "before_cursor_execute", lambda *_: None, raising=True
    )
    missed = r"VenueDetails: recorded 0 statements, the API sent [1-9]"
    with pytest.raises(RuntimeError, match=missed):
        await capture(database, readies[:1])
