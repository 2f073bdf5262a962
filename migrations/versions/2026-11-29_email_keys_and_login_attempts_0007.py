"""E-mail keys made in Python for the unique index; a table counting sign-in attempts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 18:30:00

`users.email_key` holds each address's comparison key (NFKC, Unicode case-fold: see
`models/email_address.py`), computed in Python and stored, and the live-email unique index
moves from `lower(email)` to it: PostgreSQL's `lower()` and Python's disagree (`İ`, final
`ς`), so addresses could sign up and never sign in. Existing addresses are re-normalised to
NFKC and keyed here with the application's own function, in batches. Two live accounts whose
addresses turn out to share a key stop the upgrade with their ids: an operator must decide
which keeps the address, as no rule can.

`login_attempts` counts sign-in attempts per account and per client address (see
`models/login_throttle.py`).

The downgrade drops both and restores the `lower(email)` index; addresses stay in NFKC (the
same addresses, written in their usual characters).
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.email_address import MAX_EMAIL_LENGTH, email_key

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_SIZE = 5_000
LIVE_EMAIL_INDEX = "uq_users_email_live"

_NEXT_BATCH = sa.text("SELECT id, email FROM users WHERE id > :after ORDER BY id LIMIT :size")
_SET_KEY = sa.text("UPDATE users SET email = :email, email_key = :key WHERE id = :id")
_SHARED_KEYS = sa.text(
    """
    SELECT email_key, array_agg(id::text ORDER BY id) AS ids
      FROM users WHERE deleted_at IS NULL
     GROUP BY email_key HAVING count(*) > 1
     ORDER BY email_key
    """
)


def _stored_form(email: str) -> str:
    normal = unicodedata.normalize("NFKC", email).strip()
    return normal if 0 < len(normal) <= MAX_EMAIL_LENGTH and "@" in normal[1:] else email


def _key_every_user() -> None:
    connection = op.get_bind()
    connection.execute(
        sa.text("SELECT set_config('app.current_user_agent', :agent, true)"),
        {"agent": f"alembic:{revision}"},
    )
    after = "00000000-0000-0000-0000-000000000000"
    while rows := connection.execute(_NEXT_BATCH, {"after": after, "size": BATCH_SIZE}).all():
        changes = []
        for user_id, email in rows:
            stored = _stored_form(email)
            changes.append({"id": user_id, "email": stored, "key": email_key(stored)})
        connection.execute(_SET_KEY, changes)
        after = str(rows[-1][0])
    shared = connection.execute(_SHARED_KEYS).all()
    if shared:
        listed = "; ".join(f"{key!r}: {', '.join(ids)}" for key, ids in shared)
        message = f"live users share an email key (soft-delete or re-address all but one): {listed}"
        raise RuntimeError(message)


def upgrade() -> None:
    # The old index goes first: re-normalised addresses may meet under `lower()`, and the
    # check below reports every such pair at once rather than failing on the first.
    op.drop_index(
        LIVE_EMAIL_INDEX, table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.add_column("users", sa.Column("email_key", sa.Text(), nullable=True))
    _key_every_user()
    op.alter_column("users", "email_key", nullable=False)
    op.create_index(
        LIVE_EMAIL_INDEX,
        "users",
        ["email_key"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_login_attempts_attempts")),
        sa.CheckConstraint("kind IN ('account', 'address')", name=op.f("ck_login_attempts_kind")),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_login_attempts")),
    )
    op.create_index(
        "ix_login_attempts_window_ends_at", "login_attempts", ["window_ends_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_login_attempts_window_ends_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(
        LIVE_EMAIL_INDEX, table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.create_index(
        LIVE_EMAIL_INDEX,
        "users",
        [sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_column("users", "email_key")
