import time

import httpx
import pytest
from sqlalchemy import text

from graph.core.loaders import ByIdLoader
from graph.http.app import create_app
from graph.schema.unavailability import database_unavailable
from models.settings import Settings

LIST = {"query": "{ venues(first: 1) { edges { node { id } } } }"}


@pytest.fixture
async def starved_app(test_database):
    """The real app with a pool of one connection and a half-second wait for it."""
    settings = Settings(
        database_url=test_database.url,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_seconds=0.5,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def test_an_exhausted_pool_answers_503_with_retry_after_then_recovers(starved_app):
    transport = httpx.ASGITransport(app=starved_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        async with starved_app.state.engine.connect() as held:  # the pool's only connection
            await held.execute(text("SELECT 1"))
            started = time.monotonic()
            refused = await http.post("/graphql", json=LIST)
            waited = time.monotonic() - started
            with_token = await http.post(
                "/graphql", json=LIST, headers={"Authorization": "Bearer some-token"}
            )
            ready = await http.get("/readyz")
        served = await http.post("/graphql", json=LIST)

    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert refused.json()["data"] is None  # the operation started: its root field failed
    assert 0.4 < waited < 3  # waited for the pool's timeout, no longer
    # Authentication runs before the operation: the same answer comes from there.
    assert with_token.status_code == 503
    assert with_token.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "data" not in with_token.json()  # refused before the operation started
    assert with_token.headers["Cache-Control"] == "no-store"
    # Readiness probes on their own connection: a busy pool is not an unready service.
    assert ready.status_code == 200
    assert served.status_code == 200
    assert served.json()["data"]["venues"]["edges"] is not None


async def test_an_unreachable_database_is_unavailable_not_an_internal_error():
    app = create_app(Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/nowhere"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post("/graphql", json=LIST)
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"


def test_bugs_are_not_mistaken_for_unavailability():
    assert not database_unavailable(ValueError("a bug"))
    assert not database_unavailable(KeyError("x"))
    assert database_unavailable(ConnectionRefusedError())


async def test_a_statement_past_the_timeout_is_a_clear_error_and_leaves_no_transaction(
    test_database, monkeypatch
):

    async def slow_batch(self, keys):
        await self._db.execute(text("SELECT pg_sleep(2)"))
        return [None for _ in keys]

    monkeypatch.setattr(ByIdLoader, "batch_load_fn", slow_batch)
    settings = Settings(
        database_url=test_database.url,
        db_statement_timeout_ms=200,
        db_application_name="sartiq-timeout-test",
        fast_path=False,  # the slow statement is planted in the general path's loader
    )
    app = create_app(settings)
    query = '{ venue(id: "VmVudWU6MDE5YmQ1YTAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw") { name } }'
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            started = time.monotonic()
            response = await http.post("/graphql", json={"query": query})
            took = time.monotonic() - started
        async with app.state.probe_engine.connect() as probe:
            open_transactions = (
                await probe.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name LIKE 'sartiq-timeout-test/%'"
                        " AND state LIKE 'idle in transaction%'"
                    )
                )
            ).scalar_one()

    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TIMEOUT"
    assert "took too long" in error["message"]
    assert took < 1.5
    assert open_transactions == 0
