"""Ordering indexes: every ordering a list offers is walked by an index, one page at a time.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 12:00:00

Before, no B-tree index served any list ordering: every page of `venues(orderBy: NAME_ASC)`
sorted every live venue (a top-N sort over the table), whatever its cursor.

Each ordering is `key ASC|DESC, id ASC`, cursors compare `(key, id)`, and `graph.core.paging`
bounds the first key (`key <= v`) so that a scan starts at the cursor.

- One index per direction, `(key, id)` and `(key DESC, id)`, for keys with many ties (prices,
  amounts, start times on the hour, titles, names): an ascending index walked backwards gives
  `key DESC, id DESC`, and the DESC orderings tie by ascending id, so PostgreSQL 15 would
  add an Incremental Sort that reads the whole group of equal keys at the page's end before
  the page is out. Measured with EXPLAIN (ANALYZE, BUFFERS) on the scale-10 seed: bookings'
  amounts come in groups of 200 on average (7,652 at most), starts 31 (84), venue rates 14
  (210), media titles 5 (70) growing with the loose media; a DESC page then read hundreds to
  thousands of rows instead of 21. Creation times (microseconds, nearly unique) and a venue's
  own start times and titles have groups of about one row: one `(key, id)` index walked
  backwards with an Incremental Sort on presorted `key` reads the page and the rest of one
  tiny group, and saves an index.
- `captured_at` may be null and sorts nulls last both ways; an index walked backwards puts
  them first, so it has one index per direction whatever its ties.
- Root lists' indexes are full, not partial: admins list deleted rows too (`includeDeleted`),
  and a live page walks the same index skipping the few deleted rows. Live-only `totalCount`
  stays an index-only count on the partial live indexes each table already has
  (`ix_venues_owner_id_live`, `ix_users_role_live`, `ix_bookings_user_id_starts_at_live`,
  `ix_media_venue_id_live`). Child connections (a venue's bookings and media) never show
  deleted rows: their `(venue_id, key, id)` indexes are partial, as the ones already there.
- `ix_bookings_starts_at_live (starts_at)` is superseded by `(starts_at, id)`; the sessions'
  foreign-key index `(user_id)` by `(user_id, created_at, id)`, which `sessions` walks
  backwards (newest first, ties by higher id) and which still serves the foreign key.
- History (`audit_log`, by `(table_name, record_id, seq)`) already has its index; a record's
  events are few and the table is partitioned by month, so each page sorts its records' rows.

Each index costs every insert and every update of its columns: bookings gain seven, media
eight, venues five, users three, sessions none. The indexes are built with plain
`CREATE INDEX` (locks writes while building; at 2,000,000 bookings about a minute).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "WHERE deleted_at IS NULL"

# Each: name, table, columns, condition.
INDEXES: tuple[tuple[str, str, str, str], ...] = (
    ("ix_venues_created_at_id", "venues", "created_at, id", ""),
    ("ix_venues_name_id", "venues", "name, id", ""),
    ("ix_venues_name_desc_id", "venues", "name DESC, id", ""),
    ("ix_venues_hourly_rate_id", "venues", "hourly_rate, id", ""),
    ("ix_venues_hourly_rate_desc_id", "venues", "hourly_rate DESC, id", ""),
    ("ix_users_created_at_id", "users", "created_at, id", ""),
    ("ix_users_display_name_id", "users", "display_name, id", ""),
    ("ix_users_display_name_desc_id", "users", "display_name DESC, id", ""),
    ("ix_bookings_starts_at_id", "bookings", "starts_at, id", ""),
    ("ix_bookings_starts_at_desc_id", "bookings", "starts_at DESC, id", ""),
    ("ix_bookings_created_at_id", "bookings", "created_at, id", ""),
    ("ix_bookings_amount_id", "bookings", "amount, id", ""),
    ("ix_bookings_amount_desc_id", "bookings", "amount DESC, id", ""),
    ("ix_bookings_venue_id_created_at_live", "bookings", "venue_id, created_at, id", LIVE),
    ("ix_bookings_venue_id_amount_live", "bookings", "venue_id, amount, id", LIVE),
    ("ix_bookings_venue_id_amount_desc_live", "bookings", "venue_id, amount DESC, id", LIVE),
    ("ix_media_created_at_id", "media", "created_at, id", ""),
    ("ix_media_captured_at_id", "media", "captured_at, id", ""),
    ("ix_media_captured_at_desc_id", "media", "captured_at DESC NULLS LAST, id", ""),
    ("ix_media_title_id", "media", "title, id", ""),
    ("ix_media_title_desc_id", "media", "title DESC, id", ""),
    ("ix_media_venue_id_title_live", "media", "venue_id, title, id", LIVE),
    ("ix_media_venue_id_captured_at_live", "media", "venue_id, captured_at, id", LIVE),
    (
        "ix_media_venue_id_captured_at_desc_live",
        "media",
        "venue_id, captured_at DESC NULLS LAST, id",
        LIVE,
    ),
    ("ix_sessions_user_id_created_at_id", "sessions", "user_id, created_at, id", ""),
)

# Superseded by the indexes above: (name, table, columns, condition) to restore on downgrade.
SUPERSEDED: tuple[tuple[str, str, str, str], ...] = (
    ("ix_bookings_starts_at_live", "bookings", "starts_at", LIVE),
    ("ix_sessions_user_id", "sessions", "user_id", ""),
)


def _create(name: str, table: str, columns: str, condition: str) -> None:
    op.execute(f"CREATE INDEX {name} ON {table} ({columns}) {condition}".rstrip())


def upgrade() -> None:
    """Create the ordering indexes, then drop the two they supersede."""
    for index in INDEXES:
        _create(*index)
    for name, *_ in SUPERSEDED:
        op.execute(f"DROP INDEX {name}")


def downgrade() -> None:
    """Restore the superseded indexes, then drop the ordering indexes."""
    for index in SUPERSEDED:
        _create(*index)
    for name, *_ in reversed(INDEXES):
        op.execute(f"DROP INDEX {name}")
