"""Creating the database and keeping it migrated and partitioned: what `sartiq` commands run."""

from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database_if_missing(database_url: str) -> bool:
    """Create the URL's database when absent; return whether it was created.

    Connects to the server's `postgres` database, which every PostgreSQL cluster has.
    """
    url = make_url(database_url)
    name = url.database
    if not name:
        message = "DATABASE_URL names no database"
        raise ValueError(message)
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    connection = await asyncpg.connect(admin_dsn)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        # CREATE DATABASE takes no bind parameters; the name comes from configuration, quoted.
        await connection.execute("CREATE DATABASE " + _quote_identifier(name))
        return True
    finally:
        await connection.close()


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration aimed at `database_url`."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate_to_head(database_url: str) -> None:
    """Apply every pending migration (Alembic runs its own event loop: call from sync code)."""
    command.upgrade(alembic_config(database_url), "head")


async def create_audit_partitions(dsn: str, *, months_ahead: int) -> int:
    """Create monthly `audit_log` partitions from this month to `months_ahead` months on.

    Returns how many were missing and created; run it from a scheduler (monthly is enough).
    """
    connection = await asyncpg.connect(dsn)
    try:
        created: int = await connection.fetchval(
            "SELECT audit_log_create_partitions((now() AT TIME ZONE 'UTC')::date, $1)",
            months_ahead + 1,
        )
    finally:
        await connection.close()
    return created
