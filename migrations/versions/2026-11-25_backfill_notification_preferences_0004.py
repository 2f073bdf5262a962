"""Backfill: every user's `preferences` carries a `notifications` object.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 08:33:00

The pattern for data migrations: plain SQL in batches by primary key (each statement's work
and memory stay bounded), marked in the audit trail as done by this migration, and reversible
(the downgrade removes only values equal to the default it added). Alembic runs a revision in
one transaction, so row locks are held until it commits; for a table too big for that, run
the batches inside `op.get_context().autocommit_block()`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_SIZE = 5_000
DEFAULT_NOTIFICATIONS = '{"email": true, "push": false}'

_NEXT_BATCH_UP = sa.text(
    """
    WITH batch AS (
      SELECT id FROM users
       WHERE NOT preferences ? 'notifications' AND id > :after
       ORDER BY id LIMIT :batch_size
    )
    UPDATE users u
       SET preferences = u.preferences
                         || jsonb_build_object('notifications', CAST(:default AS jsonb))
      FROM batch
     WHERE u.id = batch.id
    RETURNING u.id
    """
)
_NEXT_BATCH_DOWN = sa.text(
    """
    WITH batch AS (
      SELECT id FROM users
       WHERE preferences -> 'notifications' = CAST(:default AS jsonb) AND id > :after
       ORDER BY id LIMIT :batch_size
    )
    UPDATE users u
       SET preferences = u.preferences - 'notifications'
      FROM batch
     WHERE u.id = batch.id
    RETURNING u.id
    """
)


def _run_in_batches(statement: sa.TextClause) -> None:
    connection = op.get_bind()
    connection.execute(
        sa.text("SELECT set_config('app.current_user_agent', :agent, true)"),
        {"agent": f"alembic:{revision}"},
    )
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        ids = connection.execute(
            statement,
            {"after": after, "batch_size": BATCH_SIZE, "default": DEFAULT_NOTIFICATIONS},
        ).scalars()
        last = max((str(i) for i in ids), default=None)
        if last is None:
            return
        after = last


def upgrade() -> None:
    _run_in_batches(_NEXT_BATCH_UP)


def downgrade() -> None:
    _run_in_batches(_NEXT_BATCH_DOWN)
