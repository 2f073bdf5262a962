"""`jsonb_merge_patch(target, patch)`: RFC 7396 JSON merge patch, done in SQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:10:00

`updatePreferences` merges a client's patch into `users.preferences` in one UPDATE: objects
merge key by key (recursively), a `null` value removes its key, anything else replaces. The
function is IMMUTABLE (its result depends only on its arguments), so it may appear in index
expressions and the planner may fold it over constants. It is not STRICT: a missing key gives
a SQL NULL target, which merges like an empty object.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_FUNCTION = """
CREATE FUNCTION jsonb_merge_patch(target jsonb, patch jsonb)
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


def upgrade() -> None:
    op.execute(CREATE_FUNCTION)
    op.execute(
        "COMMENT ON FUNCTION jsonb_merge_patch(jsonb, jsonb) IS"
        " 'RFC 7396 JSON merge patch: objects merge recursively, null removes a key'"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION jsonb_merge_patch(jsonb, jsonb)")
