import asyncio
import json

import pytest
from sqlalchemy import text

from graph.cli import main
from models.monitoring import HealthThresholds, breached_thresholds, collect_health
from models.settings import get_settings


async def test_report_covers_every_section(connection):
    report = await collect_health(connection, HealthThresholds(), top=5)
    assert report.database.startswith("sartiq_test_")
    assert report.statements_available is True
    assert len(report.top_by_total_time) <= 5
    assert report.top_by_total_time == sorted(
        report.top_by_total_time, key=lambda s: s.total_ms, reverse=True
    )
    assert 0 < report.connections_used <= report.max_connections
    assert {"users", "venues", "bookings", "media"} <= {t.table for t in report.tables}
    assert report.replication_lag_seconds is None  # no replica here


async def test_duplicate_and_unused_indexes_are_found(connection):
    await connection.execute(text("CREATE INDEX ix_test_duplicate ON venues (owner_id)"))
    report = await collect_health(connection, HealthThresholds())
    duplicates = {(i.index, i.duplicate_of) for i in report.duplicate_indexes}
    assert ("ix_test_duplicate", "ix_venues_owner_id") in duplicates
    assert "ix_test_duplicate" in {i.index for i in report.unused_indexes}


async def test_idle_transactions_and_blocked_queries_breach_thresholds(engine, connection):
    async with engine.connect() as holder, engine.connect() as waiter:
        holder_pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await holder.execute(text("SELECT pg_advisory_xact_lock(424242)"))
        blocked = asyncio.create_task(waiter.execute(text("SELECT pg_advisory_xact_lock(424242)")))
        await asyncio.sleep(1.2)
        thresholds = HealthThresholds(max_idle_in_transaction_seconds=1, max_query_seconds=1)
        report = await collect_health(connection, thresholds)
        await holder.rollback()
        await blocked
        await waiter.rollback()

    assert holder_pid in {s.pid for s in report.idle_in_transaction}
    assert any(holder_pid in s.blocked_by for s in report.blocked)
    breaches = breached_thresholds(report, thresholds)
    # The breach names the longest idle transaction on the server: ours, unless another
    # session on the same server (a parallel test run) has been idle longer.
    assert any("has been idle in a transaction" in b for b in breaches)
    assert any("has run" in b for b in breaches)


async def test_healthy_report_breaches_nothing_and_strict_thresholds_are_named(connection):
    report = await collect_health(connection, HealthThresholds())
    # Other tests leave dead tuples and sessions on the shared server: relax what they touch.
    relaxed = HealthThresholds(
        min_cache_hit_ratio=0,
        max_connection_use=1,
        max_dead_tuple_ratio=1,
        max_query_seconds=1e9,
        max_idle_in_transaction_seconds=1e9,
    )
    assert breached_thresholds(report, relaxed) == []
    strict = HealthThresholds(min_cache_hit_ratio=1, max_connection_use=0)
    breaches = breached_thresholds(report, strict)
    assert any(b.startswith("connections ") for b in breaches)
    assert any(b.startswith("cache hit ratio ") for b in breaches) == (
        report.cache_hit_ratio is not None and report.cache_hit_ratio < 1
    )


@pytest.fixture
def _cli_on_test_database(test_database):
    del test_database  # requested so that DATABASE_URL names the run's database
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("_cli_on_test_database")
def test_monitor_json_and_check_exit_codes(capsys, monkeypatch):
    # Lenient thresholds: the server is shared, so only what the test sets may breach.
    for name, value in {
        "MIN_CACHE_HIT_RATIO": "0",
        "MAX_CONNECTION_USE": "1",
        "MAX_QUERY_SECONDS": "1e9",
        "MAX_IDLE_IN_TRANSACTION_SECONDS": "1e9",
        "MAX_DEAD_TUPLE_RATIO": "1",
    }.items():
        monkeypatch.setenv(f"MONITOR_{name}", value)
    with pytest.raises(SystemExit) as healthy:
        main(["monitor", "--json", "--check"])
    output = json.loads(capsys.readouterr().out)
    assert output["breaches"] == []
    assert healthy.value.code == 0
    assert output["database"].startswith("sartiq_test_")

    monkeypatch.setenv("MONITOR_MAX_CONNECTION_USE", "0")
    with pytest.raises(SystemExit) as breached:
        main(["monitor", "--check"])
    assert breached.value.code == 1
    assert "thresholds: BREACHED" in capsys.readouterr().out
