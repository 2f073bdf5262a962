"""What SQL a GraphQL request runs: a statement count per request, and slow statements logged.

A `RequestObservation` is made for each operation and put in a context variable; the
engine's cursor events find it there (dataloader batches run in tasks that copy the context,
and share the same mutable observation). Statements outside any operation are not counted.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger("graph.sql")

# Statement text in logs is cut here; parameters are never logged.
LOGGED_STATEMENT_CHARS = 500


@dataclass
class RequestObservation:
    """The SQL side of one GraphQL operation."""

    operation: str
    request_id: str | None
    statements: int = 0


_current: ContextVar[RequestObservation | None] = ContextVar("sql_observation", default=None)


@contextmanager
def observe_request(operation: str, request_id: str | None) -> Iterator[RequestObservation]:
    """Count (and time) the statements run inside the block for one operation."""
    observation = RequestObservation(operation=operation, request_id=request_id)
    token = _current.set(observation)
    try:
        yield observation
    finally:
        _current.reset(token)


def install(engine: AsyncEngine, *, slow_statement_ms: float) -> Callable[[], None]:
    """Attach the counting and slow-statement logging to `engine`; returns the undo."""

    def before_cursor_execute(
        conn: Connection, _cursor: object, _statement: str, *_args: object
    ) -> None:
        # Statements on one connection run one at a time: one start time is enough.
        conn.info["statement_started"] = time.perf_counter()
        if (observation := _current.get()) is not None:
            observation.statements += 1

    def after_cursor_execute(
        conn: Connection, _cursor: object, statement: str, *_args: object
    ) -> None:
        started = conn.info.pop("statement_started", None)
        if started is None:
            return
        elapsed_ms = (time.perf_counter() - started) * 1000
        if elapsed_ms >= slow_statement_ms:
            observation = _current.get()
            details = {
                "duration_ms": round(elapsed_ms, 1),
                "operation": observation.operation if observation else None,
                "request_id": observation.request_id if observation else None,
                "statement": statement[:LOGGED_STATEMENT_CHARS],
            }
            # In the message for plain-text logs (the default formatter drops extras), and as
            # extras for structured ones.
            logger.warning(
                "slow statement: %(duration_ms)s ms, operation %(operation)s,"
                " request %(request_id)s: %(statement)s",
                details,
                extra=details,
            )

    listeners = (
        ("before_cursor_execute", before_cursor_execute),
        ("after_cursor_execute", after_cursor_execute),
    )
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)

    def uninstall() -> None:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)

    return uninstall
