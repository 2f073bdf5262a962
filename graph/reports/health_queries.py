"""The root `databaseHealth` field: the `sartiq monitor` report, for admins."""

from typing import Annotated

import strawberry

from graph.core.context import Context
from graph.core.errors import BadUserInputError
from graph.reports.database_health import DatabaseHealth
from models.monitoring import HealthThresholds, breached_thresholds, collect_health

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
