"""Readiness: the database answers and its schema is at the migrations' head.

Only the primary decides: without a replica in rotation reads go to the primary, so the
replicas' state is reported, never a reason to take the instance out of a load balancer.
"""

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from models.replication import ReplicaMonitor

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether the service can serve, and why not."""

    ready: bool
    reason: str | None = None


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code."""
    return frozenset(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())


async def check_readiness(engine: AsyncEngine, *, timeout_seconds: float) -> Readiness:
    """Ask the database for its migration version within `timeout_seconds`."""
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as connection:
            versions = await connection.execute(text("SELECT version_num FROM alembic_version"))
            current = frozenset(versions.scalars())
    except TimeoutError:
        return Readiness(ready=False, reason="database did not answer in time")
    except ProgrammingError:
        return Readiness(ready=False, reason="database has no migrations applied")
    except (OperationalError, DBAPIError, OSError):
        return Readiness(ready=False, reason="database unreachable")
    if current != migration_heads():
        return Readiness(ready=False, reason="database schema is not at the migrations' head")
    return Readiness(ready=True)


def replica_report(monitor: ReplicaMonitor) -> list[dict[str, object]]:
    """Each replica as `/readyz` lists it: in rotation or why not, and its lag."""
    return [
        {
            "name": state.name,
            "inRotation": state.in_rotation,
            "reason": state.reason,
            "lagSeconds": None if state.lag_seconds is None else round(state.lag_seconds, 3),
            "lagBytes": state.lag_bytes,
        }
        for state in monitor.states.values()
    ]
