"""Every operation's execution ends within the request's time budget, else QUERY_TIMEOUT.

The static limits (graph/schema/query_limits.py) refuse what is known to be costly before it runs;
this bounds what is not: an operation still executing `request_timeout_seconds` after it
started is cancelled (a timer around execution, general and fast path alike) and
answered with a `QUERY_TIMEOUT` error and no data.

Cancelling the execution cancels the resolvers, but a dataloader's batch runs in a task of its
own: the request's database access (graph/core/request_database.py) cancels the statement it is
running and refuses any later one. A statement cancelled mid-flight gets its connection
invalidated by SQLAlchemy (asyncpg cannot tell what state it is in), so the pool replaces it
instead of handing it out again, and PostgreSQL rolls back its transaction; the server notices
the closed connection within `client_connection_check_interval` (models/database.py) and stops
the statement. Each statement is also bounded by `statement_timeout` on its own.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from graph.core.errors import ClientError, ErrorCode
from graph.core.request_database import RequestDatabase
from graph.schema.query_limits import limits_of

logger = logging.getLogger("graph.deadline")


class QueryTimeoutError(ClientError):
    """The operation ran past the request's time budget and was cancelled."""

    code = ErrorCode.QUERY_TIMEOUT


class RequestDeadline(SchemaExtension):
    """Cancel an operation's execution past the request's deadline; answer QUERY_TIMEOUT."""

    async def on_execute(self) -> AsyncIterator[None]:
        """Run the execution under a timer; turn its expiry into a client error."""
        context = self.execution_context
        seconds = limits_of(context.context).request_timeout_seconds
        db = getattr(context.context, "db", None)
        task = asyncio.current_task()
        expired = False

        def expire() -> None:
            # The statement first, then the execution: a resolver cancelled while its statement
            # runs waits for that statement (graph/core/request_database.py), so it must already be
            # cancelled. `asyncio.timeout` would cancel the execution alone.
            nonlocal expired
            expired = True
            if isinstance(db, RequestDatabase):
                db.cancel()
            if task is not None:
                task.cancel()

        timer = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            yield
        except asyncio.CancelledError:
            if not expired or task is None:
                raise
            task.uncancel()
            request_id = getattr(context.context, "request_id", None)
            logger.warning(
                "request %s cancelled after %.1f s (operation %s)",
                request_id,
                seconds,
                context.operation_name,
            )
            message = (
                f"The operation ran past the time budget of {seconds:g} s and was cancelled;"
                " ask for less (smaller pages, fewer nested lists)."
            )
            raise QueryTimeoutError(message, requestId=request_id) from None
        finally:
            timer.cancel()
