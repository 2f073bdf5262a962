"""Search ranks by class of field: a GIN index per class of the `search` vectors.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 06:10:00

A search ordered by relevance ranks a match by the best class of fields holding the whole
query (`models.search.RANK_CLASSES`): the name or title (weight A), with the B fields (a
venue's city and amenities, a medium's tags), or anywhere. Each class is read from its own
GIN index on `ts_filter(search, ...)`, in id order, so the best page is found without scoring
every match (before, `ts_rank_cd` over every match of "studio" at 2,000,000 bookings' scale:
277 ms for venues, 2.9 s for the root search). There is an index per weight: the name alone
serves the first class; the B and C fields serve the others' "one of the words is here",
which also gives PostgreSQL the statistics to tell how many rows a class has. The
whole-vector GIN index stays: it serves `totalCount`, the typo fallback's test and every
other order.

PostgreSQL's RUM index orders by a rank inside the index, but its 1.3 release on Debian
crashes the server process (signal 11) on some queries, which restarts every connection of
the cluster; one did here, in a test. These are plain GIN indexes of PostgreSQL itself.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name, table, weights
INDEXES = tuple(
    (f"ix_{table}_search_{weight}", table, f"{{{weight}}}")
    for table in ("venues", "media")
    for weight in "abc"
)


def upgrade() -> None:
    for name, table, weights in INDEXES:
        op.execute(
            f"CREATE INDEX {name} ON {table} USING gin (ts_filter(search, '{weights}'::\"char\"[]))"
        )


def downgrade() -> None:
    for name, _, _ in reversed(INDEXES):
        op.execute(f"DROP INDEX {name}")
