"""Alembic environment: async engine from settings, metadata from `models`, GeoAlchemy2 helpers."""

import asyncio
import re
from collections.abc import Callable
from typing import Any, Literal, cast

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import SchemaItem

import models
from models.settings import get_settings

config = context.config
target_metadata = models.Base.metadata

# Monthly partitions of audit_log are made by SQL (migrations and `sartiq maintain`), not models.
_AUDIT_PARTITION = re.compile(r"^audit_log_(p\d{4}_\d{2}|default)$")
# Tables extensions own.
_EXTENSION_TABLES = {"spatial_ref_sys"}


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: Literal[
        "schema",
        "table",
        "column",
        "index",
        "unique_constraint",
        "foreign_key_constraint",
        "check_constraint",
    ],
    reflected: bool,  # noqa: FBT001 - Alembic's hook signature
    compare_to: SchemaItem | None,
) -> bool:
    """Leave out what the models do not describe: partitions and extension tables."""
    if (
        type_ == "table"
        and name is not None
        and (_AUDIT_PARTITION.match(name) or name in _EXTENSION_TABLES)
    ):
        return False
    geoalchemy_include = cast("Callable[..., bool]", alembic_helpers.include_object)
    return geoalchemy_include(obj, name, type_, reflected, compare_to)


# Autogenerate settings shared by online and offline runs.
_COMPARISON: dict[str, Any] = {
    "target_metadata": target_metadata,
    "compare_type": True,
    "include_object": include_object,
    "process_revision_directives": alembic_helpers.writer,
    "render_item": alembic_helpers.render_item,
}


def _database_url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    return configured or str(get_settings().database_url)


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    context.configure(
        url=_database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_COMPARISON,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    context.configure(connection=connection, **_COMPARISON)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    """Run migrations on one connection of a throwaway engine."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run_sync(connectable)
        return
    engine = create_async_engine(_database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
