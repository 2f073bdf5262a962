"""Migrations: they run up, down and up again, match the models, and index what they should."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.provisioning import alembic_config

# The newest revision, read from migrations/ so that adding one edits no test.
HEAD = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
TABLES = {"users", "sessions", "venues", "bookings", "media", "audit_log", "login_attempts"}
FUNCTIONS = {
    "uuid_generate_v7",
    "sartiq_tags_text",
    "set_updated_at",
    "audit_row_change",
    "audit_rows_inserted",
    "audit_log_create_partitions",
    "jsonb_merge_patch",
    "jsonb_merge_diff",
}
DEFAULT_NOTIFICATIONS = {"email": True, "push": False}


@dataclass(frozen=True)
class ScratchDatabase:
    """An empty database of this test's own: `url` for Alembic, `dsn` for asyncpg."""

    url: str
    dsn: str

    async def upgrade(self, revision: str) -> None:
        # env.py calls asyncio.run, which cannot nest in the test's running loop.
        await asyncio.to_thread(command.upgrade, alembic_config(self.url), revision)

    async def downgrade(self, revision: str) -> None:
        await asyncio.to_thread(command.downgrade, alembic_config(self.url), revision)

    async def check(self) -> None:
        await asyncio.to_thread(command.check, alembic_config(self.url))

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.dsn)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


@pytest.fixture
async def scratch(test_database) -> AsyncIterator[ScratchDatabase]:
    """A database created for one test and dropped after it; the run's database is untouched."""
    name = f"sartiq_migrations_{secrets.token_hex(4)}"
    url = make_url(test_database.url).set(database=name)
    admin = await asyncpg.connect(test_database.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield ScratchDatabase(
            url=url.render_as_string(hide_password=False),
            dsn=url.set(drivername="postgresql").render_as_string(hide_password=False),
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def version(scratch: ScratchDatabase) -> str | None:
    rows = await scratch.fetch("SELECT version_num FROM alembic_version")
    return rows[0]["version_num"] if rows else None


async def public_tables(scratch: ScratchDatabase) -> set[str]:
    rows = await scratch.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    )
    return {row["relname"] for row in rows}


async def our_functions(scratch: ScratchDatabase) -> set[str]:
    rows = await scratch.fetch(
        "SELECT proname FROM pg_proc WHERE proname = ANY($1::text[])", sorted(FUNCTIONS)
    )
    return {row["proname"] for row in rows}


async def schema_snapshot(scratch: ScratchDatabase) -> list[str]:
    """Columns, constraints, indexes and triggers of the public schema, as DDL-ish text."""
    rows = await scratch.fetch(
        """
        SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type,
                      is_nullable, coalesce(column_default, generation_expression))
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL
        SELECT format('constraint %s %s %s', conrelid::regclass, conname,
                      pg_get_constraintdef(oid))
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT format('trigger %s', pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal
        ORDER BY 1
        """
    )
    return [row[0] for row in rows]


async def test_upgrade_downgrade_and_upgrade_again(scratch):
    await scratch.upgrade("head")
    assert await version(scratch) == HEAD
    assert await public_tables(scratch) >= TABLES
    assert await our_functions(scratch) == FUNCTIONS
    migrated = await schema_snapshot(scratch)

    await scratch.downgrade("base")
    assert await version(scratch) is None
    assert await public_tables(scratch) <= {"alembic_version", "spatial_ref_sys"}
    assert await our_functions(scratch) == set()
    assert await scratch.fetch("SELECT 1 FROM pg_ts_config WHERE cfgname = 'sartiq'") == []

    await scratch.upgrade("head")
    assert await version(scratch) == HEAD
    assert await schema_snapshot(scratch) == migrated


async def test_models_and_migrations_agree(scratch):
    await scratch.upgrade("head")

    await scratch.check()  # raises AutogenerateDiffsDetected on any difference


async def preferences_by_email(scratch: ScratchDatabase) -> dict[str, dict[str, object]]:
    rows = await scratch.fetch("SELECT email, preferences FROM users")
    return {row["email"]: json.loads(row["preferences"]) for row in rows}


async def test_backfill_adds_default_notifications_and_its_downgrade_removes_them(scratch):
    await scratch.upgrade("0003")
    await scratch.fetch(
        "INSERT INTO users (email, display_name, preferences) VALUES"
        " ('bare@example.test', 'Bare', '{}'),"
        " ('themed@example.test', 'Themed', '{\"theme\": \"dark\"}'),"
        " ('chosen@example.test', 'Chosen', '{\"notifications\": {\"email\": false}}')"
    )

    await scratch.upgrade("0004")

    assert await preferences_by_email(scratch) == {
        "bare@example.test": {"notifications": DEFAULT_NOTIFICATIONS},
        "themed@example.test": {"theme": "dark", "notifications": DEFAULT_NOTIFICATIONS},
        "chosen@example.test": {"notifications": {"email": False}},
    }
    audited = await scratch.fetch(
        "SELECT user_agent, changed_fields FROM audit_log WHERE action = 'UPDATE'"
    )
    assert [(row["user_agent"], row["changed_fields"]) for row in audited] == [
        ("alembic:0004", ["preferences"]),
        ("alembic:0004", ["preferences"]),
    ]

    await scratch.downgrade("0003")

    assert await preferences_by_email(scratch) == {
        "bare@example.test": {},
        "themed@example.test": {"theme": "dark"},
        "chosen@example.test": {"notifications": {"email": False}},
    }


async def test_backfill_reaches_every_user_across_batches(scratch):
    await scratch.upgrade("0003")
    batch_size = 5_000  # the revision's BATCH_SIZE
    await scratch.fetch(
        "INSERT INTO users (email, display_name)"
        " SELECT 'user-' || n || '@example.test', 'User ' || n FROM generate_series(1, $1) AS n",
        batch_size + 1,
    )
    without = "SELECT count(*) FROM users WHERE NOT preferences ? 'notifications'"

    await scratch.upgrade("0004")
    assert (await scratch.fetch(without))[0][0] == 0

    await scratch.downgrade("0003")
    assert (await scratch.fetch(without))[0][0] == batch_size + 1


# --- Indexes, checked on the run's database ---------------------------------------------------


async def test_every_foreign_key_leads_a_full_index(session):
    # Deleting or re-keying a parent scans the child by the key: a partial index does not do.
    rows = await session.execute(
        text(
            """
            SELECT c.conrelid::regclass::text AS tbl, c.conname,
                   EXISTS (
                     SELECT 1 FROM pg_index i
                      WHERE i.indrelid = c.conrelid
                        AND i.indpred IS NULL
                        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
                   ) AS indexed
              FROM pg_constraint c
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
            """
        )
    )
    indexed = {row.conname: row.indexed for row in rows}

    assert len(indexed) == 7
    assert [name for name, ok in indexed.items() if not ok] == []


async def test_search_and_geography_columns_have_gin_or_gist_indexes(session):
    rows = await session.execute(
        text(
            """
            SELECT a.attrelid::regclass::text || '.' || a.attname AS col,
                   array(
                     SELECT am.amname::text FROM pg_index i
                       JOIN pg_class ic ON ic.oid = i.indexrelid
                       JOIN pg_am am ON am.oid = ic.relam
                      WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum
                   ) AS methods
              FROM pg_attribute a
              JOIN pg_class t ON t.oid = a.attrelid
             WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r'
               AND NOT a.attisdropped AND a.attnum > 0
               AND (a.attname = 'search' OR a.atttypid = 'geography'::regtype)
            """
        )
    )
    methods = {row.col: set(row.methods) for row in rows}

    assert methods == {
        "venues.search": {"gin"},
        "venues.location": {"gist"},
        "media.search": {"gin"},
        "media.location": {"gist"},
    }


# --- 0007: e-mail keys made in Python --------------------------------------------------------


async def live_email_index(scratch: ScratchDatabase) -> str:
    rows = await scratch.fetch(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_users_email_live'"
    )
    return rows[0]["indexdef"]


async def test_email_keys_are_made_for_existing_users_and_the_downgrade_restores_lower(scratch):
    await scratch.upgrade("0006")
    await scratch.fetch(
        "INSERT INTO users (email, display_name) VALUES"
        " ('\u0130nci@x.test', 'I'), ('\uff22\uff2f\uff22@x.test', 'B'),"
        " ('e\u0301mile@x.test', 'E'), ('ODYSSEAS@x.test', 'O')"
    )

    await scratch.upgrade("0007")

    rows = await scratch.fetch("SELECT email, email_key FROM users ORDER BY display_name")
    assert [(row["email"], row["email_key"]) for row in rows] == [
        ("BOB@x.test", "bob@x.test"),
        ("\u00e9mile@x.test", "\u00e9mile@x.test"),
        ("\u0130nci@x.test", "i\u0307nci@x.test"),
        ("ODYSSEAS@x.test", "odysseas@x.test"),
    ]
    assert "(email_key)" in await live_email_index(scratch)
    assert "lower(" not in await live_email_index(scratch)

    await scratch.downgrade("0006")

    assert "lower((email)::text)" in await live_email_index(scratch)
    columns = await scratch.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
    )
    assert "email_key" not in {row["column_name"] for row in columns}


async def test_live_users_sharing_a_key_stop_the_upgrade_with_their_ids(scratch):
    await scratch.upgrade("0006")
    # PostgreSQL's lower() keeps these apart; as addresses they are one.
    rows = await scratch.fetch(
        "INSERT INTO users (email, display_name) VALUES"
        " ('bob@x.test', 'Bob'), ('\uff42\uff4f\uff42@x.test', 'Fullwidth Bob')"
        " RETURNING id"
    )
    await scratch.fetch(
        "INSERT INTO users (email, display_name, deleted_at) VALUES ('BOB@x.test', 'Gone', now())"
    )

    with pytest.raises(RuntimeError, match="share an email key") as refused:
        await scratch.upgrade("0007")

    assert all(str(row["id"]) in str(refused.value) for row in rows)
    assert await version(scratch) == "0006"
