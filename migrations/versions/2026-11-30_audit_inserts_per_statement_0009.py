"""Audit inserts once per statement, from the statement's transition table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 05:40:00

A row-level trigger runs its PL/pgSQL body once per inserted row: loading 2,000,000 bookings
with one COPY spent most of its minutes there. Inserts now go to `audit_rows_inserted`, an
`AFTER INSERT ... FOR EACH STATEMENT` trigger that writes the audit rows of every row the
statement inserted with one `INSERT ... SELECT` over its `NEW TABLE`: the same columns and
values as the row trigger wrote (action `INSERT`, the row as JSON without its hidden columns,
the actor's settings, `clock_timestamp()`, and `seq` numbered in insertion order), for COPY,
multi-row INSERT and single-row ORM writes alike. Updates and deletes keep the row trigger
(PostgreSQL allows a transition table only on a trigger of one event).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table -> the audit trigger's arguments (as revisions 0003 and 0008 set them).
TRIGGER_ARGUMENTS = {
    "users": "'password_hash', 'patch:preferences'",
    "venues": "'search'",
    "bookings": "",
    "media": "'search'",
}

AUDIT_ROWS_INSERTED = """
CREATE FUNCTION audit_rows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hidden text[] := '{}';
  argument text;
BEGIN
  -- The row trigger's arguments; `patch:<column>` only shapes updates, so inserts record
  -- the whole value, as the row trigger did.
  FOREACH argument IN ARRAY coalesce(TG_ARGV, '{}'::text[]) LOOP
    IF argument NOT LIKE 'patch:%' THEN
      hidden := hidden || argument;
    END IF;
  END LOOP;
  INSERT INTO audit_log (table_name, record_id, action, old_data, new_data, changed_fields,
                         user_id, user_email, ip_address, user_agent, created_at)
  SELECT TG_TABLE_NAME, inserted.id, 'INSERT', NULL, to_jsonb(inserted) - hidden, NULL,
         nullif(current_setting('app.current_user_id', true), '')::uuid,
         left(nullif(current_setting('app.current_user_email', true), ''), 320),
         nullif(current_setting('app.current_ip_address', true), '')::inet,
         left(nullif(current_setting('app.current_user_agent', true), ''), 512),
         clock_timestamp()
    FROM inserted_rows AS inserted;
  RETURN NULL;
END
$$
"""


def _row_trigger(table: str, events: str) -> None:
    op.execute(f"DROP TRIGGER audit_row_change ON {table}")
    op.execute(
        f"CREATE TRIGGER audit_row_change AFTER {events} ON {table}"
        f" FOR EACH ROW EXECUTE FUNCTION audit_row_change({TRIGGER_ARGUMENTS[table]})"
    )


def upgrade() -> None:
    op.execute(AUDIT_ROWS_INSERTED)
    for table, arguments in TRIGGER_ARGUMENTS.items():
        _row_trigger(table, "UPDATE OR DELETE")
        op.execute(
            f"CREATE TRIGGER audit_rows_inserted AFTER INSERT ON {table}"
            " REFERENCING NEW TABLE AS inserted_rows"
            f" FOR EACH STATEMENT EXECUTE FUNCTION audit_rows_inserted({arguments})"
        )


def downgrade() -> None:
    for table in TRIGGER_ARGUMENTS:
        op.execute(f"DROP TRIGGER audit_rows_inserted ON {table}")
        _row_trigger(table, "INSERT OR UPDATE OR DELETE")
    op.execute("DROP FUNCTION audit_rows_inserted()")
