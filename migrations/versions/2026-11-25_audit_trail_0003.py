"""Audit trail: monthly-partitioned `audit_log`, the generic trigger, and its partitions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:32:00

One trigger function records every insert, update, soft delete, restore and delete on the
audited tables, so raw SQL, COPY and ORM writes are audited alike. The actor comes from the
transaction-local settings `app.current_user_id`, `app.current_user_email`,
`app.current_ip_address` and `app.current_user_agent` (NULL when unset).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table -> columns whose values never enter the audit trail (secrets, derived data).
AUDITED = {
    "users": ("password_hash",),
    "venues": ("search",),
    "bookings": (),
    "media": ("search",),
}
MONTHS_BEHIND = 1
MONTHS_AHEAD = 3

CREATE_PARTITIONS = """
CREATE FUNCTION audit_log_create_partitions(first_month date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month_start timestamp;
  lower_bound timestamptz;
  upper_bound timestamptz;
  partition_name text;
  created integer := 0;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    month_start := date_trunc('month', first_month::timestamp) + make_interval(months => i);
    -- Bounds are UTC month starts, whatever the session's TimeZone.
    lower_bound := month_start AT TIME ZONE 'UTC';
    upper_bound := (month_start + interval '1 month') AT TIME ZONE 'UTC';
    partition_name := 'audit_log_p' || to_char(month_start, 'YYYY_MM');
    IF to_regclass(partition_name) IS NULL THEN
      -- Rows of this month that landed in the default partition (maintenance ran late) move
      -- into the new table before it is attached, or the attach would fail on them.
      EXECUTE format(
        'CREATE TABLE %I (LIKE audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name);
      EXECUTE format(
        'WITH moved AS (DELETE FROM audit_log_default'
        ' WHERE created_at >= %L AND created_at < %L RETURNING *)'
        ' INSERT INTO %I SELECT * FROM moved',
        lower_bound, upper_bound, partition_name);
      EXECUTE format(
        'ALTER TABLE audit_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        partition_name, lower_bound, upper_bound);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$
"""

AUDIT_ROW_CHANGE = """
CREATE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hidden text[] := coalesce(TG_ARGV, '{}'::text[]);
  old_row jsonb;
  new_row jsonb;
  changed text[];
  audit_action text;
  row_id uuid;
BEGIN
  IF TG_OP = 'INSERT' THEN
    new_row := to_jsonb(NEW);
    audit_action := 'INSERT';
    row_id := NEW.id;
  ELSIF TG_OP = 'DELETE' THEN
    old_row := to_jsonb(OLD);
    audit_action := 'DELETE';
    row_id := OLD.id;
  ELSE
    old_row := to_jsonb(OLD);
    new_row := to_jsonb(NEW);
    row_id := NEW.id;
    -- Hidden columns still show up as changed (a password change is an event), never by value.
    SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}') INTO changed
      FROM jsonb_each(new_row) AS n
     WHERE n.value IS DISTINCT FROM old_row -> n.key
       AND n.key <> 'updated_at'
       AND n.key <> 'search';
    IF cardinality(changed) = 0 THEN
      RETURN NULL;
    END IF;
    IF (old_row ->> 'deleted_at') IS NULL AND (new_row ->> 'deleted_at') IS NOT NULL THEN
      audit_action := 'SOFT_DELETE';
    ELSIF (old_row ->> 'deleted_at') IS NOT NULL AND (new_row ->> 'deleted_at') IS NULL THEN
      audit_action := 'RESTORE';
    ELSE
      audit_action := 'UPDATE';
    END IF;
  END IF;

  INSERT INTO audit_log (table_name, record_id, action, old_data, new_data, changed_fields,
                         user_id, user_email, ip_address, user_agent)
  VALUES (TG_TABLE_NAME, row_id, audit_action, old_row - hidden, new_row - hidden, changed,
          nullif(current_setting('app.current_user_id', true), '')::uuid,
          nullif(current_setting('app.current_user_email', true), ''),
          nullif(current_setting('app.current_ip_address', true), '')::inet,
          nullif(current_setting('app.current_user_agent', true), ''));
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), server_default=sa.text("uuid_generate_v7()"), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("old_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("changed_fields", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("user_email", sa.String(length=320), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('INSERT', 'UPDATE', 'SOFT_DELETE', 'RESTORE', 'DELETE')",
            name=op.f("ck_audit_log_action"),
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_audit_log")),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action"], unique=False)
    op.create_index("ix_audit_log_created_at", "audit_log", ["created_at"], unique=False)
    op.create_index(
        "ix_audit_log_table_name_record_id",
        "audit_log",
        ["table_name", "record_id", "created_at"],
        unique=False,
    )
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"], unique=False)
    # Rows outside every monthly partition land here instead of failing the write they audit.
    op.execute("CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT")
    op.execute(CREATE_PARTITIONS)
    op.execute(
        "SELECT audit_log_create_partitions("
        f"(now() AT TIME ZONE 'UTC' - interval '{MONTHS_BEHIND} month')::date,"
        f" {MONTHS_BEHIND + 1 + MONTHS_AHEAD})"
    )
    op.execute(AUDIT_ROW_CHANGE)
    for table, hidden in AUDITED.items():
        arguments = ", ".join(f"'{column}'" for column in hidden)
        op.execute(
            f"CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION audit_row_change({arguments})"
        )


def downgrade() -> None:
    for table in AUDITED:
        op.execute(f"DROP TRIGGER audit_row_change ON {table}")
    op.execute("DROP FUNCTION audit_row_change()")
    op.execute("DROP FUNCTION audit_log_create_partitions(date, integer)")
    op.drop_index("ix_audit_log_user_id", table_name="audit_log")
    op.drop_index("ix_audit_log_table_name_record_id", table_name="audit_log")
    op.drop_index("ix_audit_log_created_at", table_name="audit_log")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.drop_table("audit_log")
