"""Test plumbing: one throwaway database per run, one rolled-back transaction per test."""

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import asyncpg
import pytest
from alembic import command
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from models.provisioning import alembic_config
from models.settings import Settings

# Generated tests (tests/graph/generated/) scale their examples with the profile's max_examples:
# "ci" keeps the run to about a minute, HYPOTHESIS_PROFILE=long (`make fuzz`) runs 10 times more
# and shrinks what fails to a minimal request (shrinking alone can take minutes, so "ci" reports
# the failing request as generated). Each example is a request against the app under test,
# whose fixtures live for the whole test.
_GENERATED: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    "print_blob": True,
}
settings.register_profile(
    "ci",
    max_examples=100,
    # The same examples on every run, so a red CI is about the change, not the draw; the long
    # profile explores.
    derandomize=True,
    phases=[Phase.explicit, Phase.generate, Phase.target],
    **_GENERATED,
)
settings.register_profile("long", max_examples=1_000, **_GENERATED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass(frozen=True)
class TestDatabase:
    """The run's database: its async URL and the maintenance URL used to create and drop it."""

    url: str
    name: str
    admin_dsn: str


def _admin_dsn(url: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(hide_password=False)
    )


async def _create_database(admin_dsn: str, name: str) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database `name`, its connections closed first (a test's own database)."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    """Create `sartiq_test_<random>` next to the configured database, migrate it, drop it after."""
    base_url = str(Settings().database_url)
    name = f"sartiq_test_{secrets.token_hex(4)}"
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    admin_dsn = _admin_dsn(base_url)
    asyncio.run(_create_database(admin_dsn, name))
    os.environ["DATABASE_URL"] = url
    os.environ["ENVIRONMENT"] = "test"
    try:
        command.upgrade(alembic_config(url), "head")
        yield TestDatabase(url=url, name=name, admin_dsn=admin_dsn)
    finally:
        asyncio.run(drop_database(admin_dsn, name))


@pytest.fixture(scope="session")
async def engine(test_database: TestDatabase) -> AsyncIterator[AsyncEngine]:
    """One engine for the run, on the throwaway database."""
    engine = create_async_engine(test_database.url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """An ORM session joined to the test's transaction: its commits become savepoints."""
    session = AsyncSession(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    try:
        yield session
    finally:
        await session.close()


@dataclass
class StatementCounter:
    """The SQL statements run on a connection while counting, bookkeeping excluded.

    Bookkeeping: savepoints, and the plan mode set around a search's statement
    (`RequestDatabase.run(plan_as_search=True)`), which reads nothing.
    """

    statements: list[str] = field(default_factory=list)
    counting: bool = False

    @property
    def count(self) -> int:
        """How many statements ran."""
        return len(self.statements)

    def __enter__(self) -> Self:
        self.statements.clear()
        self.counting = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.counting = False


_BOOKKEEPING = (
    "SAVEPOINT",
    "RELEASE SAVEPOINT",
    "ROLLBACK TO SAVEPOINT",
    "BEGIN",
    "COMMIT",
    "SET PLAN_CACHE_MODE",
    "SET LOCAL PLAN_CACHE_MODE",
    "RESET PLAN_CACHE_MODE",
)


@pytest.fixture
def count_statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    """Count statements on the test connection: `with count_statements as counted: ...`."""
    counter = StatementCounter()

    def before_cursor_execute(*args: Any) -> None:
        statement: str = args[2]
        if counter.counting and not statement.lstrip().upper().startswith(_BOOKKEEPING):
            counter.statements.append(statement)

    sync_connection = connection.sync_connection
    assert sync_connection is not None
    event.listen(sync_connection, "before_cursor_execute", before_cursor_execute)
    try:
        yield counter
    finally:
        event.remove(sync_connection, "before_cursor_execute", before_cursor_execute)
