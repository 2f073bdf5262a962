"""The process's engine: a pooled connection the server closed is replaced before use."""

import asyncio
import secrets

import asyncpg
from sqlalchemy import text

from models.database import create_engine
from models.settings import Settings
from tests.conftest import TestDatabase as Database


async def _backend_pids(name: str, admin_dsn: str) -> list[int]:
    admin = await asyncpg.connect(admin_dsn)
    try:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1", f"{name}/%"
        )
        return [row["pid"] for row in rows]
    finally:
        await admin.close()


async def test_a_terminated_pooled_connection_is_replaced_without_a_ping(
    test_database: Database,
) -> None:
    name = f"sartiq-pool-{secrets.token_hex(3)}"
    settings = Settings(
        database_url=test_database.url,
        db_application_name=name,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_pre_ping=False,
    )
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            first = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert await _backend_pids(name, test_database.admin_dsn) == [first]

        admin = await asyncpg.connect(test_database.admin_dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle pooled connection

        # Without the checkout check this statement fails: the pool's one connection is dead.
        async with engine.connect() as connection:
            second = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
