"""Audit order and actor bounds; preferences merged in one walk and audited as patches.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-29 18:30:00

- `audit_log.seq`: a number from a sequence, taken when the trigger writes the row, that is
  after the audited row's lock was acquired; two changes to one row therefore get numbers in
  the order they committed, which `now()` (the start of each transaction) did not give when a
  transaction waited for the lock. History is ordered by it; `created_at` becomes the trigger's
  `clock_timestamp()`. Existing rows are numbered by `(created_at, id)`.
- The trigger bounds the actor's user agent (512 characters) and email (320) as their columns
  do, so an over-long `User-Agent` header no longer fails every audited write.
- `jsonb_merge_patch` builds its result once (a join of the target's and the patch's members,
  aggregated), instead of copying the whole document once per patch key.
- `jsonb_merge_diff(source, target)`: the merge patch that turns `source` into `target`. The
  trigger records the columns it is given as `patch:<column>` (users' `preferences`) as such
  patches both ways (`new_data`: the forward patch, `old_data`: the reverse one), and leaves
  them out of updates that do not change them, instead of two copies of the whole document.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


MERGE_DIFF = """
CREATE FUNCTION jsonb_merge_diff(source jsonb, target jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF jsonb_typeof(source) IS DISTINCT FROM 'object'
     OR jsonb_typeof(target) IS DISTINCT FROM 'object' THEN
    RETURN target;
  END IF;
  RETURN (
    SELECT coalesce(jsonb_object_agg(key, CASE
             WHEN t.value IS NULL THEN 'null'::jsonb
             WHEN jsonb_typeof(s.value) = 'object' AND jsonb_typeof(t.value) = 'object'
               THEN jsonb_merge_diff(s.value, t.value)
             ELSE t.value
           END), '{}'::jsonb)
      FROM jsonb_each(source) AS s (key, value)
      FULL JOIN jsonb_each(target) AS t (key, value) USING (key)
     WHERE s.value IS DISTINCT FROM t.value);
END
$$
"""

MERGE_PATCH_ONCE = """
CREATE OR REPLACE FUNCTION jsonb_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF patch IS NULL THEN
    RETURN target;
  END IF;
  IF jsonb_typeof(patch) <> 'object' THEN
    RETURN patch;
  END IF;
  IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
    target := '{}'::jsonb;
  END IF;
  -- Each member of the target and of the patch is visited once and the result built once;
  -- only the patch's nested objects recurse.
  RETURN (
    SELECT coalesce(jsonb_object_agg(key, CASE
             WHEN p.value IS NULL THEN t.value
             WHEN jsonb_typeof(p.value) = 'object' THEN jsonb_merge_patch(t.value, p.value)
             ELSE p.value
           END), '{}'::jsonb)
      FROM jsonb_each(target) AS t (key, value)
      FULL JOIN jsonb_each(patch) AS p (key, value) USING (key)
     WHERE p.value IS NULL OR jsonb_typeof(p.value) <> 'null');
END
$$
"""

# As revision 0005 wrote it, for the downgrade.
MERGE_PATCH_PER_KEY = """
CREATE OR REPLACE FUNCTION jsonb_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  result jsonb;
  member record;
BEGIN
  IF patch IS NULL THEN
    RETURN target;
  END IF;
  IF jsonb_typeof(patch) <> 'object' THEN
    RETURN patch;
  END IF;
  IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
    result := '{}'::jsonb;
  ELSE
    result := target;
  END IF;
  FOR member IN SELECT key, value FROM jsonb_each(patch) LOOP
    IF jsonb_typeof(member.value) = 'null' THEN
      result := result - member.key;
    ELSE
      result := result || jsonb_build_object(
        member.key, jsonb_merge_patch(result -> member.key, member.value));
    END IF;
  END LOOP;
  RETURN result;
END
$$
"""

AUDIT_ROW_CHANGE = """
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  hidden text[] := '{}';
  patched text[] := '{}';
  argument text;
  patched_column text;
  old_row jsonb;
  new_row jsonb;
  forward jsonb;
  backward jsonb;
  changed text[];
  audit_action text;
  row_id uuid;
BEGIN
  -- Arguments: a column to keep out of the trail, or `patch:<column>` for a JSON object
  -- recorded as the merge patches of its change.
  FOREACH argument IN ARRAY coalesce(TG_ARGV, '{}'::text[]) LOOP
    IF argument LIKE 'patch:%' THEN
      patched := patched || substr(argument, 7);
    ELSE
      hidden := hidden || argument;
    END IF;
  END LOOP;
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
    FOREACH patched_column IN ARRAY patched LOOP
      IF patched_column = ANY (changed) THEN
        forward := jsonb_merge_diff(old_row -> patched_column, new_row -> patched_column);
        backward := jsonb_merge_diff(new_row -> patched_column, old_row -> patched_column);
        old_row := jsonb_set(old_row, ARRAY[patched_column], backward);
        new_row := jsonb_set(new_row, ARRAY[patched_column], forward);
      ELSE
        old_row := old_row - patched_column;
        new_row := new_row - patched_column;
      END IF;
    END LOOP;
  END IF;

  -- clock_timestamp(), not now(): an update's trigger runs once it holds the row's lock, so
  -- two changes to one row are stamped (and numbered, by `seq`'s default) in commit order.
  INSERT INTO audit_log (table_name, record_id, action, old_data, new_data, changed_fields,
                         user_id, user_email, ip_address, user_agent, created_at)
  VALUES (TG_TABLE_NAME, row_id, audit_action, old_row - hidden, new_row - hidden, changed,
          nullif(current_setting('app.current_user_id', true), '')::uuid,
          left(nullif(current_setting('app.current_user_email', true), ''), 320),
          nullif(current_setting('app.current_ip_address', true), '')::inet,
          left(nullif(current_setting('app.current_user_agent', true), ''), 512),
          clock_timestamp());
  RETURN NULL;
END
$$
"""

# As revision 0003 wrote it, for the downgrade.
AUDIT_ROW_CHANGE_0003 = """
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
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


def _users_trigger(arguments: str) -> None:
    op.execute("DROP TRIGGER audit_row_change ON users")
    op.execute(
        "CREATE TRIGGER audit_row_change AFTER INSERT OR UPDATE OR DELETE ON users"
        f" FOR EACH ROW EXECUTE FUNCTION audit_row_change({arguments})"
    )


def upgrade() -> None:
    op.execute("CREATE SEQUENCE audit_log_seq_seq AS bigint")
    op.execute("ALTER TABLE audit_log ADD COLUMN seq bigint")
    # Rows written before this revision keep their order as history showed it.
    op.execute(
        "UPDATE audit_log AS a SET seq = o.n"
        " FROM (SELECT id, created_at, row_number() OVER (ORDER BY created_at, id) AS n"
        "         FROM audit_log) AS o"
        " WHERE a.id = o.id AND a.created_at = o.created_at"
    )
    op.execute(
        "SELECT setval('audit_log_seq_seq', coalesce(max(seq), 0) + 1, false) FROM audit_log"
    )
    op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq_seq')")
    op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL")
    op.execute("ALTER SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq")
    op.drop_index("ix_audit_log_table_name_record_id", table_name="audit_log")
    op.create_index(
        "ix_audit_log_table_name_record_id_seq",
        "audit_log",
        ["table_name", "record_id", "seq"],
        unique=False,
    )
    op.execute(MERGE_DIFF)
    op.execute(
        "COMMENT ON FUNCTION jsonb_merge_diff(jsonb, jsonb) IS"
        " 'The RFC 7396 merge patch that turns the first document into the second'"
    )
    op.execute(MERGE_PATCH_ONCE)
    op.execute(AUDIT_ROW_CHANGE)
    _users_trigger("'password_hash', 'patch:preferences'")


def downgrade() -> None:
    _users_trigger("'password_hash'")
    op.execute(AUDIT_ROW_CHANGE_0003)
    op.execute(MERGE_PATCH_PER_KEY)
    op.execute("DROP FUNCTION jsonb_merge_diff(jsonb, jsonb)")
    op.drop_index("ix_audit_log_table_name_record_id_seq", table_name="audit_log")
    op.create_index(
        "ix_audit_log_table_name_record_id",
        "audit_log",
        ["table_name", "record_id", "created_at"],
        unique=False,
    )
    # The sequence is owned by the column and goes with it.
    op.execute("ALTER TABLE audit_log DROP COLUMN seq")
