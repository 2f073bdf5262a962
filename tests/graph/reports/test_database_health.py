import asyncio
import os

import pytest
from sqlalchemy import text

from graph.core.context import Context
from graph.core.request_database import RequestDatabase
from graph.schema.root import schema
from tests.factories import make_login_session, make_user
from tests.graph.viewers import viewer_of

HEALTH = """
query Health($top: Int) {
  databaseHealth(top: $top) {
    database statementsAvailable cacheHitRatio connectionsUsed maxConnections connectionUse
    replicationLagSeconds breaches healthy
    topByTotalTime { query calls totalMs meanMs rows }
    topByMeanTime { meanMs }
    longRunning { pid state seconds applicationName }
    idleInTransaction { pid state seconds query applicationName blockedBy }
    blocked { pid blockedBy }
    tables { table liveRows deadRows deadRatio dueForVacuum seqScans indexScans lastAutovacuum }
    unusedIndexes { table index sizeBytes scans }
    duplicateIndexes { index duplicateOf }
    seqScansOnLargeTables { table }
  }
}
"""


@pytest.fixture
def run_health(session, engine):
    """Run HEALTH as one request whose context has a probe engine, like the app's."""

    async def run(variables=None, *, viewer=None):
        context = Context(db=RequestDatabase(session), viewer=viewer, probe_engine=engine)
        try:
            return await schema.execute(HEALTH, variable_values=variables, context_value=context)
        finally:
            await context.db.finish()

    return run


async def test_admin_gets_every_section_over_http_from_the_probe_engine(session, client):
    admin = await make_user(session, role="admin")
    await make_login_session(session, user=admin, token="admin-token")

    response = await client.post(
        "/graphql",
        headers={"Authorization": "Bearer admin-token"},
        json={"query": HEALTH, "variables": {"top": 3}},
    )

    body = response.json()
    assert "errors" not in body, body
    health = body["data"]["databaseHealth"]
    assert health["database"].startswith("sartiq_test_")
    assert health["statementsAvailable"] is True
    assert 0 < len(health["topByTotalTime"]) <= 3
    totals = [stat["totalMs"] for stat in health["topByTotalTime"]]
    assert totals == sorted(totals, reverse=True)
    assert all(stat["calls"] >= 1 and stat["query"] for stat in health["topByTotalTime"])
    means = [stat["meanMs"] for stat in health["topByMeanTime"]]
    assert means == sorted(means, reverse=True)
    assert health["cacheHitRatio"] is None or 0 <= health["cacheHitRatio"] <= 1
    assert 0 < health["connectionsUsed"] <= health["maxConnections"]
    assert health["connectionUse"] == pytest.approx(
        health["connectionsUsed"] / health["maxConnections"]
    )
    assert health["replicationLagSeconds"] is None  # no replica here
    assert {"users", "venues", "bookings", "media"} <= {t["table"] for t in health["tables"]}
    assert all(0 <= t["deadRatio"] <= 1 for t in health["tables"])
    assert health["healthy"] is (health["breaches"] == [])
    # The test's own transaction sits idle in it, on another connection than the report's.
    test_pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    assert test_pid in {backend["pid"] for backend in health["idleInTransaction"]}


async def test_others_are_refused(session, run_health):
    member = await make_user(session)
    host = await make_user(session, role="host")

    refused = {
        "anonymous": await run_health(),
        "member": await run_health(viewer=viewer_of(member)),
        "host": await run_health(viewer=viewer_of(host)),
    }

    codes = {who: [e.extensions["code"] for e in r.errors] for who, r in refused.items()}
    assert codes == {
        "anonymous": ["UNAUTHENTICATED"],
        "member": ["FORBIDDEN"],
        "host": ["FORBIDDEN"],
    }
    assert {r.data for r in refused.values()} == {None}


async def test_breaches_name_the_thresholds_broken(session, engine, run_health, monkeypatch):
    admin = await make_user(session, role="admin")
    monkeypatch.setenv("MONITOR_MAX_CONNECTION_USE", "0")
    monkeypatch.setenv("MONITOR_MAX_IDLE_IN_TRANSACTION_SECONDS", "0.3")
    monkeypatch.setenv("MONITOR_MIN_CACHE_HIT_RATIO", "0")
    async with engine.connect() as idle:
        idle_pid = (await idle.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await asyncio.sleep(0.6)  # idle inside the transaction the SELECT began
        result = await run_health(viewer=viewer_of(admin))
        await idle.rollback()

    assert result.errors is None, result.errors
    health = result.data["databaseHealth"]
    assert health["healthy"] is False
    breaches = health["breaches"]
    assert any(b.startswith(f"connections {health['connectionsUsed']}/") for b in breaches)
    assert any("has been idle in a transaction" in b for b in breaches)
    assert idle_pid in {backend["pid"] for backend in health["idleInTransaction"]}
    assert not any(b.startswith("cache hit ratio") for b in breaches)


async def test_relaxed_thresholds_breach_nothing(session, run_health, monkeypatch):
    admin = await make_user(session, role="admin")
    for name, value in {
        "MIN_CACHE_HIT_RATIO": "0",
        "MAX_CONNECTION_USE": "1",
        "MAX_QUERY_SECONDS": "1e9",
        "MAX_IDLE_IN_TRANSACTION_SECONDS": "1e9",
        "MAX_DEAD_TUPLE_RATIO": "1",
    }.items():
        monkeypatch.setenv(f"MONITOR_{name}", value)

    result = await run_health(viewer=viewer_of(admin))

    assert result.errors is None, result.errors
    assert result.data["databaseHealth"]["breaches"] == []
    assert result.data["databaseHealth"]["healthy"] is True


@pytest.mark.parametrize("top", [0, 51])
async def test_top_out_of_range_is_bad_user_input(session, run_health, top):
    admin = await make_user(session, role="admin")
    result = await run_health({"top": top}, viewer=viewer_of(admin))
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "top"}


async def test_the_app_connections_name_their_worker(session, app, run_health):
    admin = await make_user(session, role="admin")
    worker = f"sartiq-graph/w{os.getpid()}"
    async with app.state.engine.connect() as pooled, app.state.probe_engine.connect() as probe:
        pooled_pid = (await pooled.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        probe_name = (
            await probe.execute(text("SELECT current_setting('application_name')"))
        ).scalar_one()
        result = await run_health(viewer=viewer_of(admin))
        await pooled.rollback()

    assert result.errors is None, result.errors
    idle = {
        b["pid"]: b["applicationName"] for b in result.data["databaseHealth"]["idleInTransaction"]
    }
    assert idle[pooled_pid] == worker
    assert probe_name == f"sartiq-graph-probe/w{os.getpid()}"
