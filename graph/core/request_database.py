"""One database session per request, safe under Strawberry's concurrent resolvers.

Strawberry resolves sibling fields concurrently, and one `AsyncSession` must never be used by
two tasks at once. Policy: every statement a request runs goes through this wrapper, which
holds an `asyncio.Lock` while the statement runs, so concurrent loaders queue on the request's
one connection instead of interleaving on it. Loaders batch, so the queue stays short (one
statement per loader per depth), and a request never holds more than one pool connection.

A field error can end GraphQL execution while sibling resolvers still wait on the database;
`finish` waits for the statement in flight and refuses later ones, so the session is never
closed under a running statement.

With replicas (graph/core/read_routing.py), the request's reads may run on a second session,
on a replica, picked when the first read runs: writes, and every read of a mutation's
request, stay on the primary's session. A replica that loses the connection under a read has
the read run again, once, on the primary, so a replica going away fails no request.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Executable, Result, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.read_routing import ReadRouter, Replica, Route
from models import Actor, set_actor
from models.database import AUTOCOMMIT_READS, database_unavailable, write_transaction
from models.replication import WAL_POSITION_SQL, parse_lsn

T = TypeVar("T")


def _planned_as_search(
    operation: Callable[[AsyncSession], Awaitable[T]],
) -> Callable[[AsyncSession], Awaitable[T]]:
    async def planned(session: AsyncSession) -> T:
        if not session.info.get(AUTOCOMMIT_READS):
            # Reads in a transaction (behind PgBouncer, whose next statement may run on
            # another server connection): the setting ends with it.
            await session.execute(_SEARCH_PLANNING_IN_TRANSACTION)
            return await operation(session)
        await session.execute(_PLAN_AS_SEARCH)
        try:
            result = await operation(session)
        except Exception:
            # The read's own error is the one to report: on a connection lost under it (a
            # restart, a replica stopped), resetting would fail and hide it, and the request
            # could not tell it from a bug (nor retry a replica's read on the primary).
            with contextlib.suppress(SQLAlchemyError):
                await session.execute(_PLANNING_AS_USUAL)
            raise
        await session.execute(_PLANNING_AS_USUAL)
        return result

    return planned


_PLAN_AS_SEARCH = text("SET plan_cache_mode = force_custom_plan")
_SEARCH_PLANNING_IN_TRANSACTION = text("SET LOCAL plan_cache_mode = force_custom_plan")
_PLANNING_AS_USUAL = text("RESET plan_cache_mode")
_WAL_POSITION = text(WAL_POSITION_SQL)


class RequestDatabase:
    """Serialized access to a request's `AsyncSession`."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        router: ReadRouter | None = None,
        read_after: int | None = None,
    ) -> None:
        """Wrap `session`, the primary's; the caller owns (and closes) it.

        With `router`, reads may go to a replica; `read_after` (a WAL position, the request's
        consistency token) then limits them to replicas that have replayed that far.
        """
        self._session = session
        self.router = router
        self.read_after = read_after
        # The session reads run on, picked at the first read: `session` or a replica's.
        self._reader: AsyncSession | None = None if router is not None else session
        self._replica: Replica | None = None
        # Why every read of the request goes to the primary (None: they may not).
        self._pinned_to_primary: Route | None = None
        self._written_position: int | None = None
        self._lock = asyncio.Lock()
        self._finished = False
        # The current read's statement, run as a future of its own so that cancelling the
        # resolver or loader waiting on it does not interrupt it; the deadline (`cancel`) does.
        self._running: asyncio.Future[Any] | None = None

    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | None = None,
        *,
        plan_as_search: bool = False,
    ) -> Result[Any]:
        """Run one read statement, waiting for any statement already running to finish."""
        return await self.run(
            lambda session: session.execute(statement, parameters), plan_as_search=plan_as_search
        )

    async def run(
        self, operation: Callable[[AsyncSession], Awaitable[T]], *, plan_as_search: bool = False
    ) -> T:
        """Run a models-layer read function on the session, alone (no transaction of its own).

        When the connection is lost under it, the session is rolled back before the error
        propagates, so the request's next statement starts on a fresh connection instead of
        failing on the dead transaction.

        `plan_as_search`: the statement searches text: each run is planned for its
        parameters, not with the generic plan PostgreSQL adopts for a prepared
        statement from its sixth run: a search's plan depends on how common its words are
        (walk the primary key for a common word, read a rare word's few matches), which a
        generic plan guesses (it sorted every match of "studio": 19 ms, not 4 ms, at 30,000
        venues). Other reads keep the generic plan, whose saved planning is worth 30 % of a
        small read's throughput.
        """
        async with self._lock:
            self._refuse_if_finished()
            run = _planned_as_search(operation) if plan_as_search else operation
            reader = self._pick_reader()
            try:
                return await self._run_on(reader, run)
            except Exception as error:
                replica = self._replica
                if replica is None or self._finished or not database_unavailable(error):
                    raise
            # The replica went away under the read (stopped, restarted, network): the same
            # read, once, on the primary; the request goes on there.
            assert self.router is not None  # noqa: S101 - a replica comes from the router
            await self._leave_replica()
            self.router.failed(replica)
            self._reader = self._session
            return await self._run_on(self._session, run)

    async def _run_on(
        self, session: AsyncSession, run: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        statement = asyncio.ensure_future(run(session))
        self._running = statement
        try:
            return await asyncio.shield(statement)
        except asyncio.CancelledError:
            # graphql-core cancels the sibling fields of a failed non-null field. A statement
            # cancelled mid-flight costs its connection (SQLAlchemy cannot tell its state and
            # discards it), so let it finish, holding the lock; only `cancel` (the deadline)
            # interrupts a statement.
            await asyncio.wait([statement])
            raise
        except DBAPIError as error:
            if error.connection_invalidated:
                await session.rollback()
            raise
        finally:
            self._running = None

    def _pick_reader(self) -> AsyncSession:
        if self._reader is not None:
            return self._reader
        assert self.router is not None  # noqa: S101 - no reader yet only with a router
        choice = (
            self.router.primary_for(self._pinned_to_primary)
            if self._pinned_to_primary is not None
            else self.router.choose(at_least=self.read_after)
        )
        self._replica = choice.replica
        self._reader = self._session if choice.replica is None else choice.replica.sessions()
        return self._reader

    @property
    def written_position(self) -> int | None:
        """Where the primary's WAL stood after this request's last write (with replicas)."""
        return self._written_position

    @property
    def routes_reads(self) -> bool:
        """Whether reads may go to replicas (the app has some)."""
        return self.router is not None

    async def read_on_primary(self, why: Route = Route.PRIMARY_MUTATION) -> bool:
        """Every later read on the primary (a mutation's request...). Whether a replica read before.

        Called before the operation executes: what was read before it (the viewer) was read
        on a replica when this says so, and must be read again.
        """
        if self.router is None or self._pinned_to_primary is not None:
            return False
        async with self._lock:
            self._pinned_to_primary = why
            if self._replica is None:
                return False  # on the primary already, or nothing read yet
            await self._leave_replica()
            self._reader = self._session
            self.router.primary_for(why)
            return True

    async def require_position(self, position: int) -> bool:
        """Read only where `position` has been replayed. Whether reads so far must be redone."""
        if self.router is None:
            return False
        async with self._lock:
            self.read_after = max(position, self.read_after or 0)
            replica = self._replica
            if replica is None or self.router.monitor.states[replica.name].replayed >= position:
                return False
            await self._leave_replica()  # the next read picks again, with the position
            return True

    async def _leave_replica(self) -> None:
        session = self._reader if self._replica is not None else None
        self._replica = None
        self._reader = None
        if session is not None:
            await session.close()

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
                try:
                    await self._session.commit()
                except Exception:  # noqa: BLE001 - a dead read connection: start afresh
                    # The read transaction's connection was lost (a restart, a killed
                    # backend); nothing was written in it, so roll back and write on a new one.
                    await self._session.rollback()
            async with self._session.begin():
                await write_transaction(self._session)
                await set_actor(self._session, actor)
                try:
                    async with self._session.begin_nested():
                        result = await operation(self._session)
                except Exception:
                    await self._end_failed_write()
                    raise
            if self.router is not None:
                # The consistency token: a replica that has replayed this far has the commit.
                position = await self._session.scalar(_WAL_POSITION)
                self._written_position = parse_lsn(str(position))
            return result

    async def _end_failed_write(self) -> None:
        # The savepoint is rolled back; end the (now empty) transaction without the
        # session-wide expiry a rollback would bring. When the connection itself was lost,
        # only a rollback can end it, and the original error is the one to report.
        try:
            await self._session.commit()
        except Exception:  # noqa: BLE001 - the failure being reported is the caller's
            await self._session.rollback()

    def cancel(self) -> None:
        """The request's deadline passed: cancel the running statement, refuse later ones."""
        self._finished = True
        if self._running is not None:
            self._running.cancel()

    async def finish(self) -> None:
        """End the request's use of the session: wait for the running statement, refuse more.

        A replica's session, opened here, is closed here; the primary's is the caller's.
        """
        self._finished = True
        async with self._lock:
            await self._leave_replica()

    def _refuse_if_finished(self) -> None:
        if self._finished:
            message = "the request has finished; its session takes no more statements"
            raise RequestFinishedError(message)


class RequestFinishedError(RuntimeError):
    """A resolver outlived its request (its result is discarded)."""
