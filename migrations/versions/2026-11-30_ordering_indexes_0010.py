"""Ordering indexes: every ordering a list offers is walked by an index, one page at a time.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00

Before, no B-tree index served any list ordering: every page of `venues(orderBy: NAME_ASC)`
sorted every live venue (a top-N sort over the table), whatever its cursor.

Each ordering is `key, id`, both ascending or both descending (a `_DESC` order is its `_ASC`
order reversed, ties included), cursors compare `(key, id)` as one row, and one `(key, id)`
index serves both directions: walked forwards for `_ASC`, backwards for `_DESC`, starting at
the cursor (`graph.core.paging.beyond`). Measured with EXPLAIN (ANALYZE, BUFFERS) on the
scale-100 seed: a later page of `venues(orderBy: NAME_ASC)` read 3,538 buffers before, 109
after.

- A nullable key (media's `captured_at`, nulls last both ways) sorts as
  `coalesce(captured_at, 'infinity')` ascending and `coalesce(captured_at, '-infinity')`
  descending, so that it too is one row comparison; each direction has its expression index.
- Root lists' indexes are full, not partial: admins list deleted rows too (`includeDeleted`),
  and a live page walks the same index skipping the few deleted rows. Live-only `totalCount`
  stays an index-only count on the partial live indexes each table already has.
- Child connections (a venue's bookings and media) never show deleted rows: their
  `(venue_id, key, id)` indexes are partial, as the ones already there.
- A member's or host's own bookings are a small subset (their `user_id` or their venues):
  those pages read the subset through its foreign-key index and sort it.
- `ix_bookings_starts_at_live (starts_at)` is superseded by `(starts_at, id)`; the sessions'
  foreign-key index `(user_id)` by `(user_id, created_at, id)`, which `sessions` walks
  backwards (newest first) and which still serves the foreign key.
- History (`audit_log`, by `(table_name, record_id, seq)`) already has its index.

Each index costs every insert and every update of its columns: bookings gain four, media
seven, venues three, users two, sessions none. They are built with plain `CREATE INDEX`
(locks writes while building: about 20 s at scale 100).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "WHERE deleted_at IS NULL"

CAPTURED_FIRST = "coalesce(captured_at, 'infinity'::timestamptz)"
CAPTURED_LAST = "coalesce(captured_at, '-infinity'::timestamptz)"

# Each: name, table, columns, condition.
INDEXES: tuple[tuple[str, str, str, str], ...] = (
    ("ix_venues_created_at_id", "venues", "created_at, id", ""),
    ("ix_venues_name_id", "venues", "name, id", ""),
    ("ix_venues_hourly_rate_id", "venues", "hourly_rate, id", ""),
    ("ix_users_created_at_id", "users", "created_at, id", ""),
    ("ix_users_display_name_id", "users", "display_name, id", ""),
    ("ix_bookings_starts_at_id", "bookings", "starts_at, id", ""),
    ("ix_bookings_created_at_id", "bookings", "created_at, id", ""),
    ("ix_bookings_amount_id", "bookings", "amount, id", ""),
    ("ix_bookings_venue_id_created_at_live", "bookings", "venue_id, created_at, id", LIVE),
    ("ix_bookings_venue_id_amount_live", "bookings", "venue_id, amount, id", LIVE),
    ("ix_media_created_at_id", "media", "created_at, id", ""),
    ("ix_media_captured_first_id", "media", f"({CAPTURED_FIRST}), id", ""),
    ("ix_media_captured_last_id", "media", f"({CAPTURED_LAST}), id", ""),
    ("ix_media_title_id", "media", "title, id", ""),
    ("ix_media_venue_id_title_live", "media", "venue_id, title, id", LIVE),
    (
        "ix_media_venue_id_captured_first_live",
        "media",
        f"venue_id, ({CAPTURED_FIRST}), id",
        LIVE,
    ),
    ("ix_media_venue_id_captured_last_live", "media", f"venue_id, ({CAPTURED_LAST}), id", LIVE),
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
