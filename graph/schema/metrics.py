"""Prometheus metrics, served at `/metrics`.

Request latency and outcome per operation, SQL statements per request, pool use per
database, replicas' lag and rotation, reads' routing (graph/core/read_routing.py), and errors
by `extensions.code`.

With several worker processes, set `PROMETHEUS_MULTIPROC_DIR` so the workers' figures are
aggregated (prometheus-client's multiprocess mode).
"""

import os
import threading
import time
from collections.abc import Iterable, Iterator

from graphql import DocumentNode, GraphQLError, get_operation_ast
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension

from graph.core.errors import ErrorCode
from graph.schema.operation_selection import is_operation_name
from graph.schema.persisted_queries import load_allowlist_names
from graph.schema.sql_observation import RequestObservation, observe_request
from models.replication import ReplicaMonitor

# Operation names come from clients, and every distinct label stays in every scrape until the
# process ends: besides the allow-list's names, only this many distinct names get a label.
MAX_OPERATION_LABELS = 100
MAX_LABEL_LENGTH = 64
ANONYMOUS = "anonymous"
OTHER = "other"

REQUEST_SECONDS = Histogram(
    "sartiq_graphql_request_seconds",
    "Time to execute a GraphQL operation, by operation name and outcome (ok or error).",
    ["operation", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SQL_STATEMENTS = Histogram(
    "sartiq_graphql_sql_statements",
    "SQL statements one GraphQL operation ran, by operation name.",
    ["operation"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55),
)
ERRORS = Counter(
    "sartiq_graphql_errors_total",
    "Errors returned to clients, by extensions.code.",
    ["code"],
)


class OperationLabels:
    """A bounded set of operation-name labels: the allow-list's names, then the first few seen.

    A name over `MAX_LABEL_LENGTH` characters, or not a GraphQL name, is never a label.
    """

    def __init__(self, known: Iterable[str] = (), *, max_seen: int = MAX_OPERATION_LABELS) -> None:
        """Always label the names in `known`; label at most `max_seen` others, first come."""
        self._known = frozenset(name for name in known if _labellable(name))
        self._max_seen = max_seen
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        """The label of operation `name`: itself, `anonymous` or `other`."""
        if not name:
            return ANONYMOUS
        if name in self._known:
            return name
        if not _labellable(name):
            return OTHER
        with self._lock:
            if name in self._seen:
                return name
            if len(self._seen) < self._max_seen:
                self._seen.add(name)
                return name
        return OTHER


def _labellable(name: str) -> bool:
    return len(name) <= MAX_LABEL_LENGTH and is_operation_name(name)


# The allow-list's operations always have their label (with `persisted_queries_only`, nothing
# else runs, so no other name is ever seen).
_labels = OperationLabels(load_allowlist_names())


def operation_label(name: str | None) -> str:
    """The bounded label this process gives operation `name`."""
    return _labels.label(name)


def executed_operation_name(document: DocumentNode | None, name: str | None) -> str | None:
    """The name of the operation of `document` that runs, if it has one.

    The client's `operationName` may name no operation of the document: it is a label only
    when the document has it.
    """
    operation = get_operation_ast(document, name) if document is not None else None
    return operation.name.value if operation is not None and operation.name else None


def count_errors(errors: list[GraphQLError]) -> None:
    """Count errors by the code the client sees (unexpected ones are masked as internal)."""
    for error in errors:
        code = (error.extensions or {}).get("code") or ErrorCode.INTERNAL_SERVER_ERROR.value
        ERRORS.labels(str(code)).inc()


class OperationMetrics(SchemaExtension):
    """Time each operation and count its SQL statements."""

    _observation: RequestObservation

    def on_operation(self) -> Iterator[None]:
        """Observe the whole operation, parse and validation included."""
        context = self.execution_context
        request_id = getattr(context.context, "request_id", None)
        started = time.perf_counter()
        with observe_request(
            operation_label(None),  # named in on_execute, once the document is parsed
            request_id if isinstance(request_id, str) else None,
        ) as sql:
            self._observation = sql
            failed = True
            try:
                yield
                result = context.result
                failed = bool(result is None or result.errors)
            finally:
                REQUEST_SECONDS.labels(sql.operation, "error" if failed else "ok").observe(
                    time.perf_counter() - started
                )
                SQL_STATEMENTS.labels(sql.operation).observe(sql.statements)

    def on_execute(self) -> Iterator[None]:
        """Name the observation once the document is parsed (the name may come from it)."""
        context = self.execution_context
        name = executed_operation_name(context.graphql_document, context.operation_name)
        self._observation.operation = operation_label(name)
        yield


class PoolCollector(Collector):
    """The connection pools of the primary and of each replica, read when Prometheus scrapes."""

    def __init__(self, engines: dict[str, AsyncEngine]) -> None:
        """Report on each engine's pool, labelled `database` with its key."""
        self._engines = engines

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Pool size, connections checked out, and overflow in use, per database."""
        for name, documentation, read in (
            ("sartiq_db_pool_size", "Configured size of the connection pool.", "size"),
            ("sartiq_db_pool_checked_out", "Connections in use by requests.", "checkedout"),
            ("sartiq_db_pool_overflow", "Connections open beyond the pool size.", "overflow"),
        ):
            family = GaugeMetricFamily(name, documentation, labels=["database"])
            for database, engine in self._engines.items():
                reader = getattr(engine.sync_engine.pool, read, None)
                if reader is not None:
                    family.add_metric([database], float(reader()))
            yield family


class ReplicationCollector(Collector):
    """Each replica's lag and whether it is in rotation, as this worker's monitor last saw."""

    def __init__(self, monitor: ReplicaMonitor) -> None:
        """Report the replicas `monitor` polls."""
        self._monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Lag in seconds and bytes (absent while unknown), and rotation, per replica."""
        seconds = GaugeMetricFamily(
            "sartiq_replica_lag_seconds",
            "Since when the primary has had WAL this replica has not replayed (0: caught up).",
            labels=["replica"],
        )
        size = GaugeMetricFamily(
            "sartiq_replica_lag_bytes",
            "Bytes of the primary's WAL this replica has not replayed.",
            labels=["replica"],
        )
        rotation = GaugeMetricFamily(
            "sartiq_replica_in_rotation",
            "1 while reads may go to this replica (answering, under the lag limit), else 0.",
            labels=["replica"],
        )
        for name, state in self._monitor.states.items():
            if state.lag_seconds is not None:
                seconds.add_metric([name], state.lag_seconds)
            if state.lag_bytes is not None:
                size.add_metric([name], float(state.lag_bytes))
            rotation.add_metric([name], 1.0 if state.in_rotation else 0.0)
        yield from (seconds, size, rotation)


# Read live by every scrape (in multiprocess mode too: the answering worker's figures).
_live: list[Collector] = []


def register_pool(engines: dict[str, AsyncEngine]) -> PoolCollector:
    """Start reporting the pools of `engines` (by database); unregister at shutdown."""
    collector = PoolCollector(engines)
    REGISTRY.register(collector)
    _live.append(collector)
    return collector


def register_replication(monitor: ReplicaMonitor) -> ReplicationCollector:
    """Start reporting the replicas `monitor` polls; unregister at shutdown."""
    collector = ReplicationCollector(monitor)
    REGISTRY.register(collector)
    _live.append(collector)
    return collector


def unregister_pool(collector: Collector) -> None:
    """Stop reporting a collector of `register_pool` or `register_replication`."""
    REGISTRY.unregister(collector)
    _live.remove(collector)


def exposition() -> bytes:
    """What `/metrics` serves: with `PROMETHEUS_MULTIPROC_DIR`, the sum over every worker.

    Without it, this process's figures. With it, each worker writes its counters and
    histograms to files there and any worker's scrape adds them all up (prometheus-client's
    multiprocess mode); the pool and replica gauges are read live, so they are the answering
    worker's.
    The directory must be emptied before the workers start (`sartiq serve` does).
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in _live:
        registry.register(collector)
    return generate_latest(registry)
