"""Extensions, helper functions and the `sartiq` text-search configuration.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:30:00

Extensions are shared by the whole database and provisioned by setup, so the downgrade leaves
them installed; everything else created here is dropped.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXTENSIONS = ("postgis", "btree_gist", "pg_trgm", "unaccent", "pg_stat_statements")


def upgrade() -> None:
    for extension in EXTENSIONS:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")

    # RFC 9562 UUIDv7 (PostgreSQL 18 has uuidv7(); 15 does not): the first 48 bits of a random
    # UUID are replaced by Unix milliseconds and the version nibble turned from 4 into 7.
    op.execute(
        """
        CREATE FUNCTION uuid_generate_v7() RETURNS uuid
        LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
          SELECT encode(
            set_bit(
              set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send(
                          floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1),
              53, 1),
            'hex')::uuid
        $$
        """
    )
    # array_to_string is only STABLE in general; for text[] it is deterministic, and generated
    # columns need an IMMUTABLE expression.
    op.execute(
        """
        CREATE FUNCTION sartiq_tags_text(tags text[]) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT coalesce(array_to_string(tags, ' '), '')
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION set_updated_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.updated_at := now();
          RETURN NEW;
        END
        $$
        """
    )
    op.execute("CREATE TEXT SEARCH CONFIGURATION sartiq (COPY = pg_catalog.english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION sartiq"
        " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem"
    )


def downgrade() -> None:
    op.execute("DROP TEXT SEARCH CONFIGURATION sartiq")
    op.execute("DROP FUNCTION set_updated_at()")
    op.execute("DROP FUNCTION sartiq_tags_text(text[])")
    op.execute("DROP FUNCTION uuid_generate_v7()")
