"""Which database serves a request's reads: a replica in rotation, or the primary.

Writes always go to the primary. Reads go to a replica that the worker's `ReplicaMonitor`
(models/replication.py) has in rotation and that has replayed at least as far as the
request's consistency token asks; any replica that fits, in turn. With none, the primary
serves them: never an error. The decision and its reason are counted for `/metrics`.
"""

import enum
import itertools
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.replication import ReplicaMonitor


class Route(enum.StrEnum):
    """Why a request's reads went where they went (the `reason` label of the counter)."""

    REPLICA = "replica"
    # No replica in rotation (unreachable, lagging, or none has answered yet).
    PRIMARY_NO_REPLICA = "primary_no_replica"
    # Replicas in rotation, none yet as far as the request's consistency token.
    PRIMARY_TOKEN = "primary_token"  # noqa: S105 - a label, not a secret
    # A mutation's request: everything it reads is read where it writes.
    PRIMARY_MUTATION = "primary_mutation"
    # A bearer token the replica does not know: maybe one just issued, not replayed yet.
    PRIMARY_UNKNOWN_TOKEN = "primary_unknown_token"  # noqa: S105 - a label, not a secret
    # The replica failed a statement (its connection lost): the request went on on the primary.
    FALLBACK_ERROR = "fallback_error"


ROUTING_DECISIONS = Counter(
    "sartiq_db_read_routing_total",
    "Requests' reads routed to a database, by reason (replica, or why the primary).",
    ["reason"],
)


@dataclass(frozen=True, slots=True)
class Replica:
    """One replica's pool and sessions, by the name its health is kept under."""

    name: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@dataclass(frozen=True, slots=True)
class Choice:
    """Where reads go: `replica`, or the primary when None, and why."""

    replica: Replica | None
    route: Route


class ReadRouter:
    """The worker's replicas and their monitor; picks one for a request's reads."""

    def __init__(self, replicas: list[Replica], monitor: ReplicaMonitor) -> None:
        """Route to `replicas`, whose health `monitor` keeps (started and closed by the app)."""
        self.replicas = replicas
        self.monitor = monitor
        self._turn = itertools.count()

    def choose(self, *, at_least: int | None = None) -> Choice:
        """A replica in rotation that has replayed to `at_least` (a WAL position), in turn.

        The replay position is the one the last poll saw, never more than the replica's:
        a token the replica has in fact reached may still go to the primary, never the
        reverse.
        """
        states = self.monitor.states
        usable = [replica for replica in self.replicas if states[replica.name].in_rotation]
        if not usable:
            return self._decided(None, Route.PRIMARY_NO_REPLICA)
        if at_least is not None:
            usable = [replica for replica in usable if states[replica.name].replayed >= at_least]
            if not usable:
                return self._decided(None, Route.PRIMARY_TOKEN)
        return self._decided(usable[next(self._turn) % len(usable)], Route.REPLICA)

    async def close(self) -> None:
        """Stop the monitor and close the replicas' pools (the app's shutdown)."""
        await self.monitor.close()
        for replica in self.replicas:
            await replica.engine.dispose()

    def failed(self, replica: Replica) -> Choice:
        """`replica` lost a request's connection: out of rotation; the primary goes on."""
        self.monitor.mark_unreachable(replica.name)
        return self._decided(None, Route.FALLBACK_ERROR)

    @staticmethod
    def primary_for(route: Route) -> Choice:
        """The request reads on the primary, for `route`'s reason (a mutation's request...)."""
        return ReadRouter._decided(None, route)

    @staticmethod
    def _decided(replica: Replica | None, route: Route) -> Choice:
        ROUTING_DECISIONS.labels(route.value).inc()
        return Choice(replica, route)
