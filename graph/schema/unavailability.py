"""Telling "the database cannot serve right now" apart from bugs.

A pool that stays exhausted past its timeout, a refused connection, a server shutting
down or a connection lost mid-request are not the client's fault nor a bug of ours: the
client gets `SERVICE_UNAVAILABLE` (HTTP 503 with `Retry-After` when nothing was produced)
and retries; everything else stays an internal error.
"""

import asyncpg

from models.database import database_unavailable

__all__ = ["MESSAGE", "RETRY_AFTER_SECONDS", "DatabaseUnavailableError", "database_unavailable"]

# Seconds a client should wait before retrying.
RETRY_AFTER_SECONDS = 2
MESSAGE = "The database is unavailable right now; retry shortly."


def statement_timed_out(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) is PostgreSQL cancelling a statement for time."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, asyncpg.exceptions.QueryCanceledError):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


class DatabaseUnavailableError(Exception):
    """Raised before GraphQL runs (building the context) when the database cannot serve."""
