"""Streaming replicas: WAL positions, and each replica's health as one worker sees it.

PostgreSQL's own streaming replication does the copying; this module only watches it. A
`ReplicaMonitor` per worker asks every replica, every `interval` seconds and on a connection
of its own (never the request pool's, which a busy moment may exhaust), how far it has
replayed, and asks the primary how far it has written. A replica is in rotation while it
answers and is less than `max_lag_seconds` behind.

Lag in seconds is measured against the primary's positions as sampled here, not with
`now() - pg_last_xact_replay_timestamp()`: that one is the age of the last replayed commit,
which grows without bound while the primary is idle and would take an idle replica out of
rotation. "The primary had written WAL this replica has not replayed since t" is the lag, to
within one interval, busy or idle.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

logger = logging.getLogger("models.replication")

_LSN_HALF_MAX = 0xFFFFFFFF


def parse_lsn(text: str) -> int:
    """`16/B374D848` (as PostgreSQL writes a WAL position) as a number; ValueError otherwise."""
    high, slash, low = text.partition("/")
    if (
        not slash
        or not 1 <= len(high) <= 8  # noqa: PLR2004 - 32 bits in hex
        or not 1 <= len(low) <= 8  # noqa: PLR2004
        or not all(character in "0123456789abcdefABCDEF" for character in high + low)
    ):
        message = f"not a WAL position: {text[:40]!r}"
        raise ValueError(message)
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    """A WAL position as PostgreSQL writes it (`parse_lsn` reads it back)."""
    return f"{position >> 32:X}/{position & _LSN_HALF_MAX:X}"


# After a commit: where the primary will write next, so at least the end of the commit record.
# The insert position, not `pg_current_wal_lsn()` (the write position), which lags behind the
# commit record when `synchronous_commit` is off.
WAL_POSITION_SQL = "SELECT pg_current_wal_insert_lsn()::text"

_REPLICA_STATUS_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_is_wal_replay_paused()"
)


@dataclass
class ReplicaState:
    """What the last poll of one replica found."""

    name: str
    # Whether reads may go there: it answered the last poll, as a replica, under the lag limit.
    in_rotation: bool = False
    # Why not, when not: "unreachable", "not in recovery", "lagging", "not polled yet".
    reason: str | None = "not polled yet"
    # How far it had replayed at its last answer: only grows (a restart replays on from it).
    replayed: int = 0
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    replay_paused: bool = False
    checked_at: float | None = None


@dataclass
class _Probe:
    """A connection of the monitor's own, reopened when lost."""

    dsn: str
    application_name: str
    timeout: float
    connection: asyncpg.Connection | None = None

    async def fetchrow(self, sql: str) -> asyncpg.Record | None:
        if self.connection is None or self.connection.is_closed():
            self.connection = await asyncpg.connect(
                self.dsn,
                timeout=self.timeout,
                server_settings={"application_name": self.application_name},
            )
        try:
            return await self.connection.fetchrow(sql, timeout=self.timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None and not self.connection.is_closed():
            self.connection.terminate()
        self.connection = None


@dataclass
class ReplicaMonitor:
    """Polls the primary's WAL position and each replica's replay; keeps `states` current."""

    primary_dsn: str
    replica_dsns: dict[str, str]
    interval: float = 0.5
    timeout: float = 1.0
    max_lag_seconds: float = 2.0
    application_name: str = "sartiq-graph-replication"
    states: dict[str, ReplicaState] = field(init=False)
    # The primary's positions, (monotonic time, position), oldest first.
    _samples: deque[tuple[float, int]] = field(init=False, default_factory=deque)
    _task: asyncio.Task[None] | None = field(init=False, default=None)
    _probes: dict[str, _Probe] = field(init=False)
    _primary: _Probe = field(init=False)
    _polled: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """One state and one probe connection per replica, by name."""
        self.states = {name: ReplicaState(name) for name in self.replica_dsns}
        self._probes = {
            name: _Probe(dsn, self.application_name, self.timeout)
            for name, dsn in self.replica_dsns.items()
        }
        self._primary = _Probe(self.primary_dsn, self.application_name, self.timeout)

    def start(self) -> None:
        """Poll in the background until `close`."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="models.replication.monitor")

    async def wait_polled(self, timeout: float) -> bool:  # noqa: ASYNC109 - a bound, not a deadline
        """Wait for the first round of polls (False when it takes over `timeout` s)."""
        try:
            await asyncio.wait_for(self._polled.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop polling and close the probe connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for probe in (self._primary, *self._probes.values()):
            probe.close()

    def mark_unreachable(self, name: str) -> None:
        """A request lost its connection to replica `name`: out of rotation until it answers."""
        state = self.states.get(name)
        if state is not None and state.in_rotation:
            logger.warning("replica %s failed a request; out of rotation", name)
            state.in_rotation = False
            state.reason = "unreachable"

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.poll()
            except Exception:  # a bug here must not end polling for the process's life
                logger.exception("replica poll failed")
            self._polled.set()
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    async def poll(self) -> None:
        """One round: the primary's position, then every replica at once."""
        await self._sample_primary()
        await asyncio.gather(*(self._poll_replica(name) for name in self.states))

    async def _sample_primary(self) -> None:
        try:
            row = await self._primary.fetchrow(WAL_POSITION_SQL)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # Replicas keep serving reads while the primary is away; their lag is then
            # measured against the last positions seen.
            logger.warning("replica monitor: primary unreachable (%s)", error)
            return
        now = time.monotonic()
        if row is not None:
            self._samples.append((now, parse_lsn(row[0])))
        # Older samples than this can only say "lagging", which a younger one says too.
        horizon = now - 2 * self.max_lag_seconds - 2 * self.interval
        while len(self._samples) > 1 and self._samples[0][0] < horizon:
            self._samples.popleft()

    async def _poll_replica(self, name: str) -> None:
        state = self.states[name]
        try:
            row = await self._probes[name].fetchrow(_REPLICA_STATUS_SQL)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            if state.in_rotation or state.reason != "unreachable":
                logger.warning("replica %s unreachable (%s); out of rotation", name, error)
            state.in_rotation = False
            state.reason = "unreachable"
            state.checked_at = time.monotonic()
            return
        assert row is not None  # noqa: S101 - a SELECT of constants returns one row
        in_recovery, replayed_text, paused = row[0], row[1], row[2]
        now = time.monotonic()
        state.checked_at = now
        state.replay_paused = bool(paused)
        if not in_recovery:
            # Promoted (or a primary named by mistake): its data now diverges from ours.
            state.in_rotation = False
            state.reason = "not in recovery"
            return
        replayed = parse_lsn(replayed_text) if replayed_text else 0
        state.replayed = max(state.replayed, replayed)
        state.lag_seconds = lag_seconds(self._samples, state.replayed, now=now)
        state.lag_bytes = max(0, self._samples[-1][1] - state.replayed) if self._samples else None
        was = state.in_rotation
        state.in_rotation = state.lag_seconds < self.max_lag_seconds
        state.reason = None if state.in_rotation else "lagging"
        if was != state.in_rotation:
            logger.warning(
                "replica %s %s rotation (lag %.1f s)",
                name,
                "back in" if state.in_rotation else "out of",
                state.lag_seconds,
            )


def replica_names(urls: Iterable[str]) -> list[str]:
    """`host:port/database` of each URL (no user, no password), numbered where they repeat."""
    names: list[str] = []
    for url in urls:
        parsed = make_url(url)
        name = f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
        names.append(name if name not in names else f"{name}#{len(names) + 1}")
    return names


def lag_seconds(samples: Iterable[tuple[float, int]], replayed: int, *, now: float) -> float:
    """Since when the primary has had WAL beyond `replayed`: 0 when the replica caught up."""
    for sampled_at, position in samples:
        if position > replayed:
            return max(0.0, now - sampled_at)
    return 0.0


async def replica_status(dsn: str, *, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 - per step
    """One replica's state as `sartiq monitor` prints it: reachable, replayed, paused."""
    try:
        connection = await asyncpg.connect(dsn, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        return {"reachable": False, "error": str(error)}
    try:
        row = await connection.fetchrow(
            _REPLICA_STATUS_SQL
            + ", extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
            timeout=timeout,
        )
    finally:
        await connection.close()
    assert row is not None  # noqa: S101 - one row
    return {
        "reachable": True,
        "in_recovery": row[0],
        "replayed": row[1],
        "replay_paused": row[2],
        "last_replayed_commit_age_seconds": row[3],
    }
