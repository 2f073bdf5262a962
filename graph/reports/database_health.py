"""`databaseHealth`: the `sartiq monitor` report as GraphQL types and its root field (admins only).

Counters that grow without bound (calls, rows, scans, bytes) are `Float`: GraphQL's `Int` is
32-bit and they outgrow it on a busy server; they are whole numbers, exact up to 2^53.
"""

import datetime as dt
from typing import Annotated, Self

import strawberry

from graph.core.context import Context
from graph.core.errors import BadUserInputError
from models.monitoring import (
    Backend,
    HealthReport,
    HealthThresholds,
    IndexStat,
    QueryStat,
    TableStat,
    breached_thresholds,
    collect_health,
)


@strawberry.type(description="One normalised statement from `pg_stat_statements`.")
class QueryStatistic:
    """A statement's cumulative figures."""

    query: str = strawberry.field(
        description="The statement with constants replaced by `$n`, whitespace collapsed, "
        "cut at 300 characters."
    )
    calls: float = strawberry.field(description="How many times it ran (a whole number).")
    total_ms: float = strawberry.field(description="Time spent executing it in all, in ms.")
    mean_ms: float = strawberry.field(description="Mean execution time, in ms.")
    rows: float = strawberry.field(description="Rows it returned or changed in all.")

    @classmethod
    def from_model(cls, stat: QueryStat) -> Self:
        """Map a report's statement."""
        return cls(
            query=stat.query,
            calls=stat.calls,
            total_ms=stat.total_ms,
            mean_ms=stat.mean_ms,
            rows=stat.rows,
        )


@strawberry.type(
    description="A server process worth a look: running a query, idle in a transaction, "
    "or waiting on a lock."
)
class DatabaseBackend:
    """One row of `pg_stat_activity`."""

    pid: int = strawberry.field(description="The server process id (`pg_terminate_backend`).")
    state: str = strawberry.field(
        description="`active`, `idle in transaction` or `idle in transaction (aborted)`."
    )
    seconds: float = strawberry.field(
        description="How long its query has run (active) or its transaction has been open."
    )
    query: str = strawberry.field(
        description="Its current or last statement, cut at 300 characters."
    )
    application_name: str = strawberry.field(
        description="Who connected: ours are `sartiq-graph/w<worker pid>`."
    )
    blocked_by: list[int] = strawberry.field(
        description="Pids of the processes holding the locks it waits for; empty if none."
    )

    @classmethod
    def from_model(cls, backend: Backend) -> Self:
        """Map a report's backend."""
        return cls(
            pid=backend.pid,
            state=backend.state,
            seconds=backend.seconds,
            query=backend.query,
            application_name=backend.application_name,
            blocked_by=list(backend.blocked_by),
        )


@strawberry.type(description="Vacuum and scan health of one table.")
class TableHealth:
    """One row of `pg_stat_user_tables`."""

    table: str = strawberry.field(description="Table name.")
    live_rows: float = strawberry.field(description="Estimated live rows.")
    dead_rows: float = strawberry.field(description="Estimated dead rows awaiting vacuum.")
    dead_ratio: float = strawberry.field(description="Dead rows over all rows, 0 to 1.")
    due_for_vacuum: bool = strawberry.field(
        description="Whether dead rows passed autovacuum's threshold for this table."
    )
    seq_scans: float = strawberry.field(description="Sequential scans since statistics reset.")
    seq_rows_read: float = strawberry.field(description="Rows those sequential scans read.")
    index_scans: float = strawberry.field(description="Index scans since statistics reset.")
    last_autovacuum: dt.datetime | None = strawberry.field(
        description="When autovacuum last finished on it; null if never."
    )

    @classmethod
    def from_model(cls, table: TableStat) -> Self:
        """Map a report's table."""
        return cls(
            table=table.table,
            live_rows=table.live_rows,
            dead_rows=table.dead_rows,
            dead_ratio=table.dead_ratio,
            due_for_vacuum=table.due_for_vacuum,
            seq_scans=table.seq_scans,
            seq_rows_read=table.seq_rows_read,
            index_scans=table.index_scans,
            last_autovacuum=table.last_autovacuum,
        )


@strawberry.type(description="An index that costs writes without serving reads, or repeats one.")
class IndexHealth:
    """One row of `pg_stat_user_indexes`."""

    table: str = strawberry.field(description="The indexed table.")
    index: str = strawberry.field(description="Index name.")
    size_bytes: float = strawberry.field(description="Size on disk, in bytes.")
    scans: float = strawberry.field(description="Index scans since statistics reset.")
    duplicate_of: str | None = strawberry.field(
        description="The index it repeats (same columns, expressions and predicate); "
        "null for an unused one."
    )

    @classmethod
    def from_model(cls, index: IndexStat) -> Self:
        """Map a report's index."""
        return cls(
            table=index.table,
            index=index.index,
            size_bytes=index.size_bytes,
            scans=index.scans,
            duplicate_of=index.duplicate_of,
        )


@strawberry.type(
    description="How the database is doing: the report of `sartiq monitor`, with the "
    "thresholds it breaches (configured by the server's `MONITOR_*` settings)."
)
class DatabaseHealth:
    """The health report."""

    database: str = strawberry.field(description="The database's name.")
    statements_available: bool = strawberry.field(
        description="Whether `pg_stat_statements` is installed; if not, the top lists are empty."
    )
    top_by_total_time: list[QueryStatistic] = strawberry.field(
        description="Statements that took the most time in all, most first."
    )
    top_by_mean_time: list[QueryStatistic] = strawberry.field(
        description="Statements slowest on average, slowest first."
    )
    cache_hit_ratio: float | None = strawberry.field(
        description="Share of table and index block reads served from shared buffers, 0 to 1; "
        "null before any read."
    )
    connections_used: int = strawberry.field(description="Client connections open on the server.")
    max_connections: int = strawberry.field(description="The server's `max_connections`.")
    connection_use: float = strawberry.field(
        description="`connectionsUsed` over `maxConnections`, 0 to 1."
    )
    long_running: list[DatabaseBackend] = strawberry.field(
        description="Queries running now, longest first."
    )
    idle_in_transaction: list[DatabaseBackend] = strawberry.field(
        description="Sessions idle inside an open transaction, longest first."
    )
    blocked: list[DatabaseBackend] = strawberry.field(
        description="Sessions waiting for a lock, with who blocks them."
    )
    tables: list[TableHealth] = strawberry.field(description="Every table, most dead rows first.")
    unused_indexes: list[IndexHealth] = strawberry.field(
        description="Indexes never scanned (not unique, not backing a constraint), largest first."
    )
    duplicate_indexes: list[IndexHealth] = strawberry.field(
        description="Indexes that repeat another on the same table."
    )
    seq_scans_on_large_tables: list[TableHealth] = strawberry.field(
        description="Large tables (per the server's threshold) read by sequential scans."
    )
    replication_lag_seconds: float | None = strawberry.field(
        description="The largest replay lag of the replicas, in seconds; null without replicas."
    )
    breaches: list[str] = strawberry.field(
        description="One sentence per alerting threshold breached (the lines `sartiq monitor "
        "--check` prints); empty when healthy."
    )
    healthy: bool = strawberry.field(description="Whether no threshold is breached.")

    @classmethod
    def from_model(cls, report: HealthReport, breaches: list[str]) -> Self:
        """Map a report and the thresholds it breaches."""
        return cls(
            database=report.database,
            statements_available=report.statements_available,
            top_by_total_time=[QueryStatistic.from_model(s) for s in report.top_by_total_time],
            top_by_mean_time=[QueryStatistic.from_model(s) for s in report.top_by_mean_time],
            cache_hit_ratio=report.cache_hit_ratio,
            connections_used=report.connections_used,
            max_connections=report.max_connections,
            connection_use=report.connection_use,
            long_running=[DatabaseBackend.from_model(b) for b in report.long_running],
            idle_in_transaction=[DatabaseBackend.from_model(b) for b in report.idle_in_transaction],
            blocked=[DatabaseBackend.from_model(b) for b in report.blocked],
            tables=[TableHealth.from_model(t) for t in report.tables],
            unused_indexes=[IndexHealth.from_model(i) for i in report.unused_indexes],
            duplicate_indexes=[IndexHealth.from_model(i) for i in report.duplicate_indexes],
            seq_scans_on_large_tables=[
                TableHealth.from_model(t) for t in report.seq_scans_on_large_tables
            ],
            replication_lag_seconds=report.replication_lag_seconds,
            breaches=breaches,
            healthy=not breaches,
        )


MAX_TOP_STATEMENTS = 50


@strawberry.type
class HealthQueries:
    """Operations."""

    @strawberry.field(
        description=(
            "How the database is doing: top statements, cache hit ratio, connections, long and "
            "idle-in-transaction sessions, blocked queries, vacuum and index health, replication "
            "lag, and which alerting thresholds are breached (the `sartiq monitor` report). "
            "Admins only: FORBIDDEN for others, UNAUTHENTICATED without a valid token."
        )
    )
    async def database_health(
        self,
        info: strawberry.Info[Context],
        top: Annotated[
            int,
            strawberry.argument(
                description=f"How many statements each top list holds, 1 to {MAX_TOP_STATEMENTS}."
            ),
        ] = 10,
    ) -> DatabaseHealth:
        """Read the statistics views on a connection of its own, not the request's session."""
        info.context.require_admin()
        if not 1 <= top <= MAX_TOP_STATEMENTS:
            message = f"`top` must be between 1 and {MAX_TOP_STATEMENTS}."
            raise BadUserInputError(message, field="top")
        engine = info.context.probe_engine
        if engine is None:
            message = "the request context has no probe engine"
            raise RuntimeError(message)
        thresholds = HealthThresholds()
        async with engine.connect() as connection:
            report = await collect_health(connection, thresholds, top=top)
        return DatabaseHealth.from_model(report, breached_thresholds(report, thresholds))
