"""One database session per request, safe under Strawberry's concurrent resolvers.

Strawberry resolves sibling fields concurrently, and one `AsyncSession` must never be used by
two tasks at once. Policy: every statement a request runs goes through this wrapper, which
holds an `asyncio.Lock` while the statement runs, so concurrent loaders queue on the request's
one connection instead of interleaving on it. Loaders batch, so the queue stays short (one
statement per loader per depth), and a request never holds more than one pool connection.

A field error can end GraphQL execution while sibling resolvers still wait on the database;
`finish` waits for the statement in flight and refuses later ones, so the session is never
closed under a running statement.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, set_actor

T = TypeVar("T")


class RequestSession:
    """Serialized access to a request's `AsyncSession`."""

    def __init__(self, session: AsyncSession) -> None:
        """Wrap `session`; the caller owns (and closes) it."""
        self._session = session
        self._lock = asyncio.Lock()
        self._finished = False

    async def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Result[Any]:
        """Run one read statement, waiting for any statement already running to finish."""
        async with self._lock:
            self._refuse_if_finished()
            return await self._session.execute(statement, parameters)

    async def run(self, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a models-layer read function on the session, alone (no transaction of its own)."""
        async with self._lock:
            self._refuse_if_finished()
            return await operation(self._session)

    async def write(self, actor: Actor, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `operation` in one short transaction, audited as done by `actor`; commit it.

        `operation` is models-layer code that gets the bare session: it cannot reach the
        request's loaders, so holding the lock for the whole transaction cannot deadlock.
        Any exception undoes the operation's changes and propagates.

        The operation runs in a savepoint: undoing it expires only the objects it touched.
        A plain rollback would expire every object of the session, the loaders' cached rows
        included, and the request's later reads of them would fail.
        """
        async with self._lock:
            self._refuse_if_finished()
            if self._session.in_transaction():
                # End the read transaction so the write sees the latest committed rows.
                await self._session.commit()
            async with self._session.begin():
                await set_actor(self._session, actor)
                try:
                    async with self._session.begin_nested():
                        return await operation(self._session)
                except Exception:
                    # The savepoint is rolled back; end the (now empty) transaction without
                    # the session-wide expiry a rollback would bring.
                    await self._session.commit()
                    raise

    async def finish(self) -> None:
        """End the request's use of the session: wait for the running statement, refuse more."""
        self._finished = True
        async with self._lock:
            pass

    def _refuse_if_finished(self) -> None:
        if self._finished:
            message = "the request has finished; its session takes no more statements"
            raise RequestFinishedError(message)


class RequestFinishedError(RuntimeError):
    """A resolver outlived its request (its result is discarded)."""
