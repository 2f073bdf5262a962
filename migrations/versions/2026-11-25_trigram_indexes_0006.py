"""Trigram indexes on venue names and media titles, for the search's typo-tolerant fallback.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00

When a full-text search finds nothing, `models.search` looks for names and titles that are
spelt almost like the words typed (`pg_trgm`'s `%` and `<%` operators). GIN indexes with
`gin_trgm_ops` serve both operators, so the fallback reads the index, not the table.
`pg_trgm` itself is created by the first revision.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_venues_name_trgm",
        "venues",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_media_title_trgm",
        "media",
        ["title"],
        postgresql_using="gin",
        postgresql_ops={"title": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_media_title_trgm", table_name="media")
    op.drop_index("ix_venues_name_trgm", table_name="venues")
