"""The context of a websocket connection: its viewer for its whole life, a session per event.

A websocket has no request whose session could last as long as it: holding a pool connection
per subscriber for hours would exhaust the pool. Strawberry hands one context object to every
operation of a connection, so the connection's `Context` holds the viewer and reads through
`EventDatabase`, which forwards each statement to the database of the event being read
(`event_scope`): a short session opened for one event, with loaders of its own, and closed
once the event is sent. Each subscription runs in a task of its own, and the current event's
database is a context variable of that task, so two subscriptions of a connection never share
a session.
"""

import asyncio
import contextlib
import contextvars
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import ExecutionResult as GraphQLExecutionResult
from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from graph.core.context import Context
from graph.core.errors import BadRequestError
from graph.core.loaders import Loaders, create_loaders
from graph.core.read_routing import Route
from graph.core.request_database import RequestDatabase
from graph.live.listener import Listener
from models import Actor

T = TypeVar("T")

OpenDatabase = Callable[[], AbstractAsyncContextManager[RequestDatabase]]


@dataclass(frozen=True, slots=True)
class _EventScope:
    db: RequestDatabase
    loaders: Loaders


_current: contextvars.ContextVar[_EventScope | None] = contextvars.ContextVar(
    "graph_live_event_scope", default=None
)


class NoEventReadError(RuntimeError):
    """A statement on a connection's context outside `event_scope` (a bug)."""


def _scope() -> _EventScope:
    scope = _current.get()
    if scope is None:
        message = "a websocket operation read outside an event's scope"
        raise NoEventReadError(message)
    return scope


class EventDatabase(RequestDatabase):
    """The connection's `db`: every statement goes to the current event's database."""

    def __init__(self) -> None:
        """Hold no session: each event brings its own."""

    async def execute(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | None = None,
        *,
        plan_as_search: bool = False,
    ) -> Result[Any]:
        """Run one read statement on the current event's session."""
        return await _scope().db.execute(statement, parameters, plan_as_search=plan_as_search)

    async def run(
        self, operation: Callable[[AsyncSession], Awaitable[T]], *, plan_as_search: bool = False
    ) -> T:
        """Run a models-layer read on the current event's session."""
        return await _scope().db.run(operation, plan_as_search=plan_as_search)

    async def write(self, actor: Actor, operation: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a write (a mutation sent over the websocket) on the current event's session."""
        return await _scope().db.write(actor, operation)

    @property
    def routes_reads(self) -> bool:
        """Whether the current event's reads may go to replicas."""
        return _scope().db.routes_reads

    @property
    def written_position(self) -> int | None:
        """Where the current event's last write left the primary's WAL."""
        return _scope().db.written_position

    async def read_on_primary(self, why: Route = Route.PRIMARY_MUTATION) -> bool:
        """A mutation sent over the websocket reads on the primary (or for `why`)."""
        return await _scope().db.read_on_primary(why)

    async def require_position(self, position: int) -> bool:
        """The operation's consistency token, for the current event's reads."""
        return await _scope().db.require_position(position)

    def cancel(self) -> None:
        """Cancel the current event's statement, if any."""
        scope = _current.get()
        if scope is not None:
            scope.db.cancel()

    async def finish(self) -> None:
        """Nothing to finish: each event's database is finished by its scope."""


@dataclass
class ConnectionContext(Context):
    """A websocket connection's context: its viewer, its listener, reads per event."""

    open_database: OpenDatabase | None = None
    listener: Listener | None = None
    max_window_days: int = 93
    session_expires_at: dt.datetime | None = None
    # Subscriptions to the viewer's own revocation, told before the connection closes.
    revocation_watchers: int = 0
    # Set once `sessionRevoked` told the client; made by the first such subscription, as an
    # event costs about 1 KB and most connections (every anonymous one) never watch.
    revocation_delivered: asyncio.Event | None = None

    @property
    def loaders(self) -> Loaders:
        """The loaders of the event being read (fresh caches per event)."""
        return _scope().loaders

    @asynccontextmanager
    async def event_scope(self) -> AsyncIterator[None]:
        """Open a short session for one event; reads inside use it, it closes at the end."""
        if self.open_database is None:
            message = "the connection's context has no database to open"
            raise NoEventReadError(message)
        async with self.open_database() as db:
            position = self.listener.position if self.listener is not None else None
            if position is not None:
                # Reads on a replica that has every commit announced so far (listener.py).
                await db.require_position(position)
            token = _current.set(_EventScope(db, create_loaders(db, self.viewer)))
            try:
                yield
            finally:
                # A generator closed from another task (a dropped connection) cannot reset.
                with contextlib.suppress(ValueError):
                    _current.reset(token)

    def require_listener(self) -> Listener:
        """The worker's listener (always set on a websocket connection)."""
        if self.listener is None:
            message = "subscriptions need the worker's listener"
            raise NoEventReadError(message)
        return self.listener


SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions run over the websocket of /graphql (graphql-transport-ws), not over HTTP."
)


class OperationScope(SchemaExtension):
    """Queries and mutations sent over a websocket run in an event scope of their own.

    Subscriptions open theirs per event; the scope here also covers a subscription's
    arguments being checked when it starts.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        """Execute inside a short session when the context is a websocket connection's.

        Over HTTP a subscription is refused (`BAD_REQUEST`): Strawberry would run it as a
        query, and its field would answer an internal error.
        """
        execution = self.execution_context
        context = execution.context
        if not isinstance(context, ConnectionContext):
            if execution.result is None and execution.operation_type is OperationType.SUBSCRIPTION:
                error = BadRequestError(SUBSCRIPTION_OVER_HTTP, field="query")
                execution.result = GraphQLExecutionResult(data=None, errors=[error])
            yield
            return
        async with context.event_scope():
            yield
