"""Change notifications: bookings and login sessions announce their changes with pg_notify.

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 06:00:00

GraphQL subscriptions (graph/live/) listen on one channel, `sartiq_live`; every payload is a
small JSON object of ids and kinds (under 300 bytes, far below PostgreSQL's 8,000), never row
contents: subscribers read the rows again with their own viewer.

- `{"t": "booking", "k": kind, "id", "v": venue id, "u": guest id, "s": start, "e": end}`,
  kind one of `created`, `pending`, `confirmed`, `cancelled`, `completed` (status changes),
  `rescheduled`, `deleted` (soft or hard), `restored`. `s`/`e` cover the old and the new
  span, so availability subscribers filter by window without a read.
- `{"t": "session", "k": "revoked", "id": session id, "u": user id}` when a session is
  revoked or deleted.
- `{"t": "resync"}` once instead of per row when one statement changes more than
  1,000 bookings (a seed, a bulk fix): subscribers re-send their state.

Bookings notify from statement-level triggers over transition tables (one per event:
PostgreSQL allows a transition table only on a trigger of one event), so a bulk load pays one
trigger call per statement. Notifications are sent at commit, and only then: a rolled-back
booking is never announced.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel (graph/live/events.py: CHANNEL) and the 1,000-row threshold are written
# into the SQL below as literals.

BOOKINGS_CHANGED = """
CREATE FUNCTION live_bookings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed bigint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*) INTO changed FROM new_rows;
  ELSE
    SELECT count(*) INTO changed FROM old_rows;
  END IF;
  IF changed > 1000 THEN
    PERFORM pg_notify('sartiq_live', '{"t":"resync"}');
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('sartiq_live', json_build_object(
        't', 'booking', 'k', 'created', 'id', n.id, 'v', n.venue_id, 'u', n.user_id,
        's', n.starts_at, 'e', n.ends_at)::text)
      FROM new_rows AS n;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('sartiq_live', json_build_object(
        't', 'booking', 'k', 'deleted', 'id', o.id, 'v', o.venue_id, 'u', o.user_id,
        's', o.starts_at, 'e', o.ends_at)::text)
      FROM old_rows AS o
     WHERE o.deleted_at IS NULL;
  ELSE
    PERFORM pg_notify('sartiq_live', json_build_object(
        't', 'booking', 'k', c.kind, 'id', c.id, 'v', c.venue_id, 'u', c.user_id,
        's', c.starts_at, 'e', c.ends_at)::text)
      FROM (
        SELECT n.id, n.venue_id, n.user_id,
               least(o.starts_at, n.starts_at) AS starts_at,
               greatest(o.ends_at, n.ends_at) AS ends_at,
               CASE
                 WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'deleted'
                 WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'restored'
                 WHEN o.status IS DISTINCT FROM n.status THEN n.status
                 WHEN (o.starts_at, o.ends_at, o.venue_id) IS DISTINCT FROM
                      (n.starts_at, n.ends_at, n.venue_id) THEN 'rescheduled'
               END AS kind
          FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
      ) AS c
     WHERE c.kind IS NOT NULL;
  END IF;
  RETURN NULL;
END
$$
"""

SESSION_REVOKED = """
CREATE FUNCTION live_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sartiq_live', json_build_object(
      't', 'session', 'k', 'revoked', 'id', OLD.id, 'u', OLD.user_id)::text);
  RETURN NULL;
END
$$
"""

_BOOKING_TRIGGERS = {
    "live_bookings_inserted": "INSERT ON bookings REFERENCING NEW TABLE AS new_rows",
    "live_bookings_updated": (
        "UPDATE ON bookings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "live_bookings_deleted": "DELETE ON bookings REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.execute(BOOKINGS_CHANGED)
    for name, event in _BOOKING_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event}"
            " FOR EACH STATEMENT EXECUTE FUNCTION live_bookings_changed()"
        )
    op.execute(SESSION_REVOKED)
    # Revocations are rare and one row at a time: a row trigger, filtered before it runs.
    op.execute(
        "CREATE TRIGGER live_session_revoked AFTER UPDATE OF revoked_at ON sessions"
        " FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)"
        " EXECUTE FUNCTION live_session_revoked()"
    )
    op.execute(
        "CREATE TRIGGER live_session_deleted AFTER DELETE ON sessions"
        " FOR EACH ROW WHEN (OLD.revoked_at IS NULL) EXECUTE FUNCTION live_session_revoked()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER live_session_deleted ON sessions")
    op.execute("DROP TRIGGER live_session_revoked ON sessions")
    op.execute("DROP FUNCTION live_session_revoked()")
    for name in _BOOKING_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON bookings")
    op.execute("DROP FUNCTION live_bookings_changed()")
