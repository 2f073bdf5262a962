"""The async engine, its pool, and the sessions built on it."""

import os
import uuid
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from models.settings import Settings


def create_engine(
    settings: Settings, *, application_name: str | None = None, replica_url: str | None = None
) -> AsyncEngine:
    """Build the process's engine with the pool and asyncpg settings from configuration.

    `replica_url`: the engine of a read replica, with the same pool settings; connecting to
    it gives up after `replica_timeout_seconds` (asyncpg's default is a minute), since a
    request that cannot reach its replica goes on on the primary.
    """
    connect_args = _connect_args(settings, application_name)
    if replica_url is not None:
        connect_args["timeout"] = settings.replica_timeout_seconds
    engine = create_async_engine(
        replica_url or str(settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkout", refuse_closed_connection)
    return engine


def refuse_closed_connection(
    dbapi_connection: DBAPIConnection,
    _record: ConnectionPoolEntry,
    _proxy: PoolProxiedConnection,
) -> None:
    """Hand out no connection the server has closed; the pool then opens a new one.

    A restarted server or a terminated backend closes the socket, and asyncpg notices at
    once (the pool's connections stay registered with the event loop), so this costs no
    round trip. SQLAlchemy's `pool_pre_ping` costs three with asyncpg (BEGIN, a ping,
    ROLLBACK) on every request: it stays an option (`DB_POOL_PRE_PING`) for links that can
    drop connections silently, such as a firewall that forgets idle ones.
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError  # the pool's documented way to ask for a fresh one


def create_probe_engine(settings: Settings) -> AsyncEngine:
    """An engine without a pool, for health probes: a busy pool must not fail readiness."""
    return create_async_engine(
        str(settings.database_url),
        poolclass=NullPool,
        connect_args=_connect_args(settings, worker_application_name(settings, role="probe")),
    )


def worker_application_name(settings: Settings, *, role: str | None = None) -> str:
    """The connections' name, `sartiq-graph/w<pid>`: tells workers apart in pg_stat_activity.

    Engines are built in each worker's lifespan, after the fork, so the pid is the worker's.
    """
    name = f"{settings.db_application_name}-{role}" if role else settings.db_application_name
    return f"{name}/w{os.getpid()}"


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _connect_args(settings: Settings, application_name: str | None) -> dict[str, Any]:
    name = application_name or worker_application_name(settings)
    if settings.db_pgbouncer:
        # PgBouncer (transaction mode) hands each transaction any server connection: a
        # statement prepared on one is missing on the next, and asyncpg's per-connection
        # names collide. It refuses unknown startup parameters, so the timeouts and `jit`
        # belong on the role (`ALTER ROLE ... SET statement_timeout`, `SET jit = off`); it
        # passes `application_name` on.
        return {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
            "server_settings": {"application_name": name},
        }
    return {
        "statement_cache_size": settings.db_statement_cache_size,
        # SQLAlchemy prepares statements itself, through a cache of its own.
        "prepared_statement_cache_size": settings.db_statement_cache_size,
        "server_settings": {
            "application_name": name,
            "statement_timeout": str(settings.db_statement_timeout_ms),
            "idle_in_transaction_session_timeout": str(settings.db_idle_in_transaction_timeout_ms),
            "client_connection_check_interval": str(
                settings.db_client_connection_check_interval_ms
            ),
            # JIT compiles a statement whose estimated cost passes `jit_above_cost`: the root
            # search's page (about 1 ms to run) spent 150 ms compiling. Our statements read a
            # page each; none gains from it.
            "jit": "off",
        },
    }


# `Session.info` key: the session reads in autocommit and must ask for a transaction to write.
AUTOCOMMIT_READS = "autocommit_reads"
# What a write on such a session asks for when it begins (`write_transaction`).
WRITE_TRANSACTION = {"isolation_level": "READ COMMITTED"}


def create_session_factory(
    engine: AsyncEngine, *, autocommit_reads: bool = True
) -> async_sessionmaker[AsyncSession]:
    """Request sessions: values kept after commit (payloads need no reload), reads in autocommit.

    A read request's statements each see their own snapshot either way (READ COMMITTED), so a
    transaction around them adds nothing but a BEGIN and a ROLLBACK: two round trips, about
    a tenth of a small request's time. Writes ask for a transaction (`write_transaction`).
    Through PgBouncer in transaction mode reads need theirs (`autocommit_reads=False`): there
    asyncpg's prepare and execute would otherwise reach different server connections.
    """
    if not autocommit_reads:
        return async_sessionmaker(engine, expire_on_commit=False)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        info={AUTOCOMMIT_READS: True},
    )


async def write_transaction(session: AsyncSession) -> None:
    """Make the transaction just begun on a request session a database transaction.

    Request sessions read in autocommit; call this before the transaction's first statement.
    On any other session it does nothing.
    """
    if session.info.get(AUTOCOMMIT_READS):
        await session.connection(execution_options=WRITE_TRANSACTION)


_UNAVAILABLE = (
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) means the database cannot serve right now."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, _UNAVAILABLE):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
            return True
        if isinstance(
            error, asyncpg.exceptions.ObjectNotInPrerequisiteStateError
        ) and "not currently accepting connections" in str(error):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False
