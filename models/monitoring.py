"""The database health report behind `sartiq monitor`: what an operator checks at 3 a.m.

Every figure comes from PostgreSQL's statistics views through fixed SQL (`text()`, bound
parameters only): `pg_stat_statements`, `pg_stat_activity`, `pg_stat_user_tables`,
`pg_stat_user_indexes`, `pg_statio_user_tables`, `pg_locks` and `pg_stat_replication`; and
from each configured read replica (`DATABASE_REPLICA_URLS`), how far it has replayed.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from models.replication import WAL_POSITION_SQL, parse_lsn, replica_status

# A replica that does not answer within this is reported unreachable.
REPLICA_TIMEOUT_SECONDS = 3.0


class HealthThresholds(BaseSettings):
    """Alerting thresholds for `sartiq monitor --check` (environment: `MONITOR_*`)."""

    model_config = SettingsConfigDict(env_prefix="MONITOR_", env_file=".env", extra="ignore")

    min_cache_hit_ratio: float = Field(default=0.99, ge=0, le=1)
    max_connection_use: float = Field(default=0.8, ge=0, le=1)
    max_query_seconds: float = Field(default=30.0, ge=0)
    max_idle_in_transaction_seconds: float = Field(default=60.0, ge=0)
    max_dead_tuple_ratio: float = Field(default=0.2, ge=0, le=1)
    max_replication_lag_seconds: float = Field(default=30.0, ge=0)
    # Tables smaller than this are not worth a sequential-scan or dead-tuple warning.
    large_table_rows: int = Field(default=10_000, ge=0)


@dataclass(frozen=True, slots=True)
class QueryStat:
    """One normalised statement from pg_stat_statements."""

    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass(frozen=True, slots=True)
class Backend:
    """A backend worth a look: long-running, idle in a transaction, or blocked."""

    pid: int
    state: str
    seconds: float
    query: str
    application_name: str
    blocked_by: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TableStat:
    """Vacuum and scan health of one table."""

    table: str
    live_rows: int
    dead_rows: int
    dead_ratio: float
    due_for_vacuum: bool
    seq_scans: int
    seq_rows_read: int
    index_scans: int
    last_autovacuum: dt.datetime | None


@dataclass(frozen=True, slots=True)
class IndexStat:
    """An index that costs writes without serving reads, or repeats another."""

    table: str
    index: str
    size_bytes: int
    scans: int
    duplicate_of: str | None = None


@dataclass(frozen=True, slots=True)
class ReplicaReport:
    """One configured read replica, asked directly."""

    name: str
    reachable: bool
    in_recovery: bool | None = None
    replay_paused: bool | None = None
    # Bytes of the primary's WAL not yet replayed there.
    behind_bytes: int | None = None
    # Age of the last commit it replayed: grows while the primary is idle, so not lag alone.
    last_replayed_commit_age_seconds: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Everything `sartiq monitor` prints."""

    database: str
    statements_available: bool
    top_by_total_time: list[QueryStat]
    top_by_mean_time: list[QueryStat]
    cache_hit_ratio: float | None
    connections_used: int
    max_connections: int
    long_running: list[Backend]
    idle_in_transaction: list[Backend]
    blocked: list[Backend]
    tables: list[TableStat]
    unused_indexes: list[IndexStat]
    duplicate_indexes: list[IndexStat]
    seq_scans_on_large_tables: list[TableStat]
    replication_lag_seconds: float | None
    replicas: list[ReplicaReport] = field(default_factory=list)

    @property
    def connection_use(self) -> float:
        """Share of `max_connections` in use."""
        return self.connections_used / self.max_connections if self.max_connections else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, for `--json`."""
        data = asdict(self)
        data["connection_use"] = self.connection_use
        return data


_TOP_STATEMENTS = """
SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS query, calls,
       total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY {order} DESC
 LIMIT :limit
"""
TOP_BY_TOTAL = text(_TOP_STATEMENTS.format(order="total_exec_time"))
TOP_BY_MEAN = text(_TOP_STATEMENTS.format(order="mean_exec_time"))

CACHE_HIT_RATIO = text(
    """
SELECT sum(heap_blks_hit + coalesce(idx_blks_hit, 0))::float8
       / nullif(sum(heap_blks_hit + heap_blks_read
                    + coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0)), 0)
  FROM pg_statio_user_tables
"""
)

CONNECTIONS = text(
    """
SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
       current_setting('max_connections')::int
"""
)

SESSIONS = text(
    """
SELECT pid, coalesce(state, '') AS state, application_name,
       extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start
                                       ELSE xact_start END)::float8 AS seconds,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 300) AS query,
       pg_blocking_pids(pid) AS blocked_by
  FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
   AND (state = 'active' OR state LIKE 'idle in transaction%')
 ORDER BY seconds DESC NULLS LAST
"""
)

TABLES = text(
    """
SELECT relname AS table, n_live_tup AS live_rows, n_dead_tup AS dead_rows,
       coalesce(n_dead_tup::float8 / nullif(n_live_tup + n_dead_tup, 0), 0) AS dead_ratio,
       n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
                    + current_setting('autovacuum_vacuum_scale_factor')::float8 * n_live_tup
         AS due_for_vacuum,
       coalesce(seq_scan, 0) AS seq_scans, coalesce(seq_tup_read, 0) AS seq_rows_read,
       coalesce(idx_scan, 0) AS index_scans, last_autovacuum
  FROM pg_stat_user_tables
 ORDER BY n_dead_tup DESC, relname
"""
)

UNUSED_INDEXES = text(
    """
SELECT s.relname AS table, s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS size_bytes, s.idx_scan AS scans
  FROM pg_stat_user_indexes s
  JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
 ORDER BY size_bytes DESC, s.indexrelname
"""
)

# Same table, same key columns and operator classes, same expressions and predicate.
DUPLICATE_INDEXES = text(
    """
SELECT t.relname AS table, a.relname AS index, pg_relation_size(a.oid) AS size_bytes,
       coalesce(s.idx_scan, 0) AS scans, b.relname AS duplicate_of
  FROM pg_index ia
  JOIN pg_index ib ON ib.indrelid = ia.indrelid AND ib.indexrelid > ia.indexrelid
   AND ib.indkey::text = ia.indkey::text AND ib.indclass::text = ia.indclass::text
   AND coalesce(pg_get_expr(ib.indexprs, ib.indrelid), '')
       = coalesce(pg_get_expr(ia.indexprs, ia.indrelid), '')
   AND coalesce(pg_get_expr(ib.indpred, ib.indrelid), '')
       = coalesce(pg_get_expr(ia.indpred, ia.indrelid), '')
  JOIN pg_class a ON a.oid = ib.indexrelid
  JOIN pg_class b ON b.oid = ia.indexrelid
  JOIN pg_class t ON t.oid = ia.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = ib.indexrelid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY t.relname, a.relname
"""
)

REPLICATION_LAG = text(
    "SELECT max(extract(epoch FROM replay_lag))::float8 FROM pg_stat_replication"
)


async def _statements(
    connection: AsyncConnection, *, limit: int
) -> tuple[bool, list[QueryStat], list[QueryStat]]:
    # pg_stat_statements needs the extension here and the library preloaded; without them
    # the rest of the report still stands.
    try:
        async with connection.begin_nested():
            by_total = (await connection.execute(TOP_BY_TOTAL, {"limit": limit})).all()
            by_mean = (await connection.execute(TOP_BY_MEAN, {"limit": limit})).all()
    except DBAPIError:
        return False, [], []
    return (
        True,
        [QueryStat(**row._asdict()) for row in by_total],
        [QueryStat(**row._asdict()) for row in by_mean],
    )


async def collect_health(
    connection: AsyncConnection,
    thresholds: HealthThresholds,
    *,
    top: int = 10,
    replica_dsns: Mapping[str, str] | None = None,
) -> HealthReport:
    """Read every statistic the report needs on one connection (read-only); ask each replica."""
    database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    available, by_total, by_mean = await _statements(connection, limit=top)
    cache_hit_ratio = (await connection.execute(CACHE_HIT_RATIO)).scalar_one()
    used, maximum = (await connection.execute(CONNECTIONS)).one()
    sessions = [
        Backend(
            pid=row.pid,
            state=row.state,
            seconds=row.seconds or 0.0,
            query=row.query or "",
            application_name=row.application_name or "",
            blocked_by=list(row.blocked_by or []),
        )
        for row in await connection.execute(SESSIONS)
    ]
    tables = [TableStat(**row._asdict()) for row in await connection.execute(TABLES)]
    return HealthReport(
        database=database,
        statements_available=available,
        top_by_total_time=by_total,
        top_by_mean_time=by_mean,
        cache_hit_ratio=cache_hit_ratio,
        connections_used=used,
        max_connections=maximum,
        long_running=[s for s in sessions if s.state == "active"],
        idle_in_transaction=[s for s in sessions if s.state.startswith("idle in transaction")],
        blocked=[s for s in sessions if s.blocked_by],
        tables=tables,
        unused_indexes=[
            IndexStat(**row._asdict()) for row in await connection.execute(UNUSED_INDEXES)
        ],
        duplicate_indexes=[
            IndexStat(**row._asdict()) for row in await connection.execute(DUPLICATE_INDEXES)
        ],
        seq_scans_on_large_tables=[
            table
            for table in tables
            if table.seq_scans > 0 and table.live_rows >= thresholds.large_table_rows
        ],
        replication_lag_seconds=(await connection.execute(REPLICATION_LAG)).scalar_one(),
        replicas=await _replicas(connection, replica_dsns or {}),
    )


async def _replicas(connection: AsyncConnection, dsns: Mapping[str, str]) -> list[ReplicaReport]:
    if not dsns:
        return []
    primary = parse_lsn((await connection.execute(text(WAL_POSITION_SQL))).scalar_one())
    reports = []
    for name, dsn in dsns.items():
        status = await replica_status(dsn, timeout=REPLICA_TIMEOUT_SECONDS)
        if not status["reachable"]:
            reports.append(ReplicaReport(name=name, reachable=False, error=status["error"]))
            continue
        replayed = status["replayed"]
        reports.append(
            ReplicaReport(
                name=name,
                reachable=True,
                in_recovery=status["in_recovery"],
                replay_paused=status["replay_paused"],
                behind_bytes=max(0, primary - parse_lsn(replayed)) if replayed else None,
                last_replayed_commit_age_seconds=status["last_replayed_commit_age_seconds"],
            )
        )
    return reports


def breached_thresholds(report: HealthReport, thresholds: HealthThresholds) -> list[str]:
    """One line per threshold the report breaks; empty when healthy."""
    breaches: list[str] = []
    ratio = report.cache_hit_ratio
    if ratio is not None and ratio < thresholds.min_cache_hit_ratio:
        breaches.append(
            f"cache hit ratio {ratio:.4f} is below {thresholds.min_cache_hit_ratio:.4f}"
        )
    if report.connection_use > thresholds.max_connection_use:
        breaches.append(
            f"connections {report.connections_used}/{report.max_connections}"
            f" ({report.connection_use:.0%}) exceed {thresholds.max_connection_use:.0%}"
        )
    if report.long_running and report.long_running[0].seconds > thresholds.max_query_seconds:
        longest = report.long_running[0]
        breaches.append(
            f"query of pid {longest.pid} has run {longest.seconds:.0f} s"
            f" (limit {thresholds.max_query_seconds:.0f} s)"
        )
    idle = report.idle_in_transaction
    if idle and idle[0].seconds > thresholds.max_idle_in_transaction_seconds:
        breaches.append(
            f"pid {idle[0].pid} has been idle in a transaction for {idle[0].seconds:.0f} s"
            f" (limit {thresholds.max_idle_in_transaction_seconds:.0f} s)"
        )
    breaches.extend(
        f"table {table.table} has {table.dead_ratio:.0%} dead tuples"
        f" (limit {thresholds.max_dead_tuple_ratio:.0%})"
        for table in report.tables
        if table.dead_ratio > thresholds.max_dead_tuple_ratio
        and table.live_rows + table.dead_rows >= thresholds.large_table_rows
    )
    lag = report.replication_lag_seconds
    if lag is not None and lag > thresholds.max_replication_lag_seconds:
        breaches.append(
            f"replication lag {lag:.0f} s exceeds {thresholds.max_replication_lag_seconds:.0f} s"
        )
    for replica in report.replicas:
        if not replica.reachable:
            breaches.append(f"replica {replica.name} is unreachable ({replica.error})")
        elif not replica.in_recovery:
            breaches.append(f"replica {replica.name} is not in recovery (promoted?)")
        elif replica.replay_paused:
            breaches.append(f"replica {replica.name} has replay paused")
    return breaches


def _replica_line(replica: ReplicaReport) -> str:
    if not replica.reachable:
        return f"  replica {replica.name}: unreachable ({replica.error})"
    state = "replaying" if replica.in_recovery else "NOT IN RECOVERY"
    if replica.replay_paused:
        state = "replay PAUSED"
    behind = "?" if replica.behind_bytes is None else f"{replica.behind_bytes} bytes"
    age = replica.last_replayed_commit_age_seconds
    last = "none" if age is None else f"{age:.1f} s ago"
    return f"  replica {replica.name}: {state}, {behind} behind, last replayed commit {last}"


def render_text(report: HealthReport, breaches: list[str]) -> str:
    """The report for a terminal."""
    lines = [f"database health: {report.database}", ""]
    ratio = "n/a" if report.cache_hit_ratio is None else f"{report.cache_hit_ratio:.4f}"
    lines.append(f"cache hit ratio: {ratio}")
    lines.append(
        f"connections: {report.connections_used}/{report.max_connections}"
        f" ({report.connection_use:.0%})"
    )
    lag = report.replication_lag_seconds
    lines.append("replication lag: " + ("no replicas" if lag is None else f"{lag:.1f} s"))
    lines.extend(_replica_line(replica) for replica in report.replicas)
    if not report.statements_available:
        lines.append("top queries: pg_stat_statements is not available here")
    for title, stats in (
        ("top queries by total time", report.top_by_total_time),
        ("top queries by mean time", report.top_by_mean_time),
    ):
        lines.extend(["", f"{title}:"])
        lines.extend(
            f"  {s.total_ms:10.1f} ms total {s.mean_ms:8.2f} ms mean {s.calls:8d} calls  {s.query}"
            for s in stats
        )
    for title, sessions in (
        ("long-running queries", report.long_running),
        ("idle in transaction", report.idle_in_transaction),
        ("blocked queries", report.blocked),
    ):
        lines.extend(["", f"{title}: {len(sessions)}"])
        lines.extend(
            f"  pid {s.pid} {s.seconds:.1f} s {s.application_name}"
            + (f" blocked by {s.blocked_by}" if s.blocked_by else "")
            + f"  {s.query}"
            for s in sessions
        )
    lines.extend(["", "tables (dead tuples, vacuum, scans):"])
    lines.extend(
        f"  {t.table:24} live {t.live_rows:9d} dead {t.dead_rows:8d} ({t.dead_ratio:.0%})"
        f"{'  VACUUM DUE' if t.due_for_vacuum else ''}  seq {t.seq_scans} idx {t.index_scans}"
        for t in report.tables
    )
    lines.extend(["", f"sequential scans on large tables: {len(report.seq_scans_on_large_tables)}"])
    lines.extend(
        f"  {t.table}: {t.seq_scans} scans read {t.seq_rows_read} rows"
        for t in report.seq_scans_on_large_tables
    )
    lines.extend(["", f"unused indexes: {len(report.unused_indexes)}"])
    lines.extend(f"  {i.table}.{i.index} ({i.size_bytes} bytes)" for i in report.unused_indexes)
    lines.extend(["", f"duplicate indexes: {len(report.duplicate_indexes)}"])
    lines.extend(
        f"  {i.table}.{i.index} repeats {i.duplicate_of}" for i in report.duplicate_indexes
    )
    lines.extend(["", "thresholds: " + ("all met" if not breaches else "BREACHED")])
    lines.extend(f"  {breach}" for breach in breaches)
    return "\n".join(lines)
