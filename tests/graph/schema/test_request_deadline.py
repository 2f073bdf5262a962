"""The request deadline: an operation running past `request_timeout_seconds` is cancelled and
answered QUERY_TIMEOUT, its statement stops, and the pool serves the next request.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from graph.compiler import fast_path
from graph.core.loaders import ByIdLoader
from graph.http.app import create_app
from models.settings import Settings

APPLICATION = "sartiq-deadline-test"
VENUE = '{ venue(id: "VmVudWU6MDE5YmQ1YTAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw") { name } }'
LIST = "{ venues(first: 1) { edges { node { id } } } }"
SLEEP = text("SELECT pg_sleep(5)")


@pytest.fixture
async def deadline_app(test_database, request) -> AsyncIterator[FastAPI]:
    """The real app (its own pool of one connection) with a half-second deadline."""
    settings = Settings(
        database_url=test_database.url,
        request_timeout_seconds=0.5,
        db_pool_size=1,
        db_max_overflow=0,
        db_application_name=APPLICATION,
        fast_path=request.param,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def backends(app: FastAPI) -> dict[str, int]:
    """This app's connections that are idle in a transaction, or still sleeping."""
    async with app.state.probe_engine.connect() as probe:
        rows = await probe.execute(
            text(
                "SELECT count(*) FILTER (WHERE state LIKE 'idle in transaction%'),"
                " count(*) FILTER (WHERE state = 'active' AND query LIKE '%pg_sleep%')"
                " FROM pg_stat_activity WHERE application_name LIKE :name"
            ),
            {"name": f"{APPLICATION}/%"},
        )
        idle, sleeping = rows.one()
    return {"idle_in_transaction": idle, "sleeping": sleeping}


async def settled(app: FastAPI) -> dict[str, int]:
    """`backends` once the server has noticed the dropped connection (a few seconds at most)."""
    for _ in range(40):
        found = await backends(app)
        if found == {"idle_in_transaction": 0, "sleeping": 0}:
            break
        await asyncio.sleep(0.1)
    return found


async def post(app: FastAPI, query: str) -> tuple[httpx.Response, float]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        started = time.monotonic()
        response = await http.post("/graphql", json={"query": query})
        return response, time.monotonic() - started


def assert_timed_out(response: httpx.Response, took: float) -> None:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TIMEOUT"
    assert "time budget of 0.5 s" in error["message"]
    assert 0.4 < took < 2.5


@pytest.mark.parametrize("deadline_app", [False], indirect=True)
async def test_a_loader_statement_past_the_deadline_is_cancelled(deadline_app, monkeypatch, caplog):
    async def slow_batch(self, keys):
        await self._db.execute(SLEEP)
        return [None for _ in keys]

    monkeypatch.setattr(ByIdLoader, "batch_load_fn", slow_batch)
    with caplog.at_level(logging.WARNING):
        response, took = await post(deadline_app, VENUE)
    monkeypatch.undo()
    left = await settled(deadline_app)
    after, _ = await post(deadline_app, LIST)

    assert_timed_out(response, took)
    # The statement stopped and its transaction is gone; the pool's one connection (replaced)
    # serves the next request.
    assert left == {"idle_in_transaction": 0, "sleeping": 0}
    assert after.status_code == 200
    assert "errors" not in after.json()
    assert deadline_app.state.engine.sync_engine.pool.checkedout() == 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("cancelled after 0.5 s" in record.message for record in caplog.records)


@pytest.mark.parametrize("deadline_app", [True], indirect=True)
async def test_a_fast_path_statement_past_the_deadline_is_cancelled(
    deadline_app, monkeypatch, caplog
):
    original = fast_path._fetch  # noqa: SLF001

    async def slow_fetch(session, sql, parameters):
        await session.execute(SLEEP)
        return await original(session, sql, parameters)

    monkeypatch.setattr(fast_path, "_fetch", slow_fetch)
    with caplog.at_level(logging.WARNING):
        response, took = await post(deadline_app, LIST)
    monkeypatch.undo()
    left = await settled(deadline_app)
    after, _ = await post(deadline_app, LIST)

    assert_timed_out(response, took)
    assert left == {"idle_in_transaction": 0, "sleeping": 0}
    assert after.status_code == 200
    assert after.json()["data"]["venues"]["edges"] is not None
    assert deadline_app.state.engine.sync_engine.pool.checkedout() == 0
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("deadline_app", [False], indirect=True)
async def test_an_operation_within_the_deadline_is_answered(deadline_app):
    response, _ = await post(deadline_app, LIST)

    assert response.status_code == 200
    assert response.json()["data"]["venues"]["edges"] is not None


def test_the_deadline_and_the_connection_check_have_defaults():
    settings = Settings()
    assert settings.request_timeout_seconds == 10.0
    assert settings.db_client_connection_check_interval_ms <= 1_000


@pytest.mark.parametrize("deadline_app", [False], indirect=True)
async def test_every_connection_of_the_app_carries_the_statement_timeout(deadline_app):
    settings = Settings()
    for engine in (deadline_app.state.engine, deadline_app.state.probe_engine):
        async with engine.connect() as connection:
            timeout = await connection.scalar(text("SHOW statement_timeout"))
            check = await connection.scalar(text("SHOW client_connection_check_interval"))
        assert timeout == f"{settings.db_statement_timeout_ms // 1000}s"
        assert check == f"{settings.db_client_connection_check_interval_ms // 1000}s"
