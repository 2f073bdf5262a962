"""The audit trail: the `audit_row_change` trigger records every write, however it is made."""

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models import Actor, AuditLog, restore, set_actor, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue

ADA_IP = "203.0.113.7"
ADA = Actor(
    user_id=uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057"),
    email="ada@example.test",
    ip_address=ADA_IP,
    user_agent="pytest/1.0",
)
# Columns kept out of the trail by value, per table (the trigger's arguments).
HIDDEN = {"users": {"password_hash"}, "venues": {"search"}, "bookings": set(), "media": {"search"}}


async def audit_rows(session: AsyncSession, record_id: uuid.UUID) -> list[AuditLog]:
    """Every audit row of one record (created in one transaction, so their order is unknown)."""
    statement = select(AuditLog).where(AuditLog.record_id == record_id)
    return list((await session.execute(statement)).scalars())


async def only_audit_row(session: AsyncSession, record_id: uuid.UUID, action: str) -> AuditLog:
    (row,) = [row for row in await audit_rows(session, record_id) if row.action == action]
    return row


async def table_columns(session: AsyncSession, table: str) -> set[str]:
    result = await session.execute(
        text(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = :table"
        ),
        {"table": table},
    )
    return set(result.scalars())


AUDITED_MODELS = [
    pytest.param(make_user, "users", "display_name", "Renamed", id="users"),
    pytest.param(make_venue, "venues", "name", "Renamed venue", id="venues"),
    pytest.param(make_booking, "bookings", "notes", "Bring a projector", id="bookings"),
    pytest.param(make_media, "media", "title", "Renamed media", id="media"),
]


@pytest.mark.parametrize(("factory", "table", "column", "value"), AUDITED_MODELS)
async def test_insert_update_soft_delete_restore_and_delete_each_write_one_audit_row(
    session, factory, table, column, value
):
    row = await factory(session)
    record_id = row.id
    before = getattr(row, column)
    setattr(row, column, value)
    await session.flush()
    await soft_delete(session, row)
    await restore(session, row)
    await session.delete(row)
    await session.flush()

    trail = {audit.action: audit for audit in await audit_rows(session, record_id)}

    assert sorted(trail) == ["DELETE", "INSERT", "RESTORE", "SOFT_DELETE", "UPDATE"]
    assert len(await audit_rows(session, record_id)) == 5
    assert {audit.table_name for audit in trail.values()} == {table}

    inserted = trail["INSERT"]
    assert inserted.old_data is None
    assert inserted.changed_fields is None
    assert inserted.new_data is not None
    assert inserted.new_data["id"] == str(record_id)
    assert set(inserted.new_data) == await table_columns(session, table) - HIDDEN[table]

    updated = trail["UPDATE"]
    assert updated.changed_fields == [column]
    assert updated.old_data is not None
    assert updated.new_data is not None
    assert updated.old_data[column] == before
    assert updated.new_data[column] == value

    soft_deleted = trail["SOFT_DELETE"]
    assert soft_deleted.changed_fields == ["deleted_at"]
    assert soft_deleted.old_data is not None
    assert soft_deleted.new_data is not None
    assert soft_deleted.old_data["deleted_at"] is None
    assert soft_deleted.new_data["deleted_at"] is not None

    restored = trail["RESTORE"]
    assert restored.changed_fields == ["deleted_at"]
    assert restored.old_data is not None
    assert restored.new_data is not None
    assert restored.old_data["deleted_at"] is not None
    assert restored.new_data["deleted_at"] is None

    deleted = trail["DELETE"]
    assert deleted.new_data is None
    assert deleted.changed_fields is None
    assert deleted.old_data is not None
    assert deleted.old_data["id"] == str(record_id)
    assert deleted.old_data[column] == value


async def test_update_records_old_and_new_values_of_every_changed_column(session):
    booking = await make_booking(session, status="pending", hours=2)

    booking.status = "confirmed"
    booking.amount = Decimal("75.50")
    await session.flush()

    updated = await only_audit_row(session, booking.id, "UPDATE")
    assert updated.changed_fields == ["amount", "status"]
    assert updated.old_data is not None
    assert updated.new_data is not None
    assert (updated.old_data["status"], updated.new_data["status"]) == ("pending", "confirmed")
    assert (updated.old_data["amount"], updated.new_data["amount"]) == (100.0, 75.5)


async def test_actor_lands_in_the_audit_row(session):
    await set_actor(session, ADA)

    user = await make_user(session)

    inserted = await only_audit_row(session, user.id, "INSERT")
    assert inserted.user_id == ADA.user_id
    assert inserted.user_email == ADA.email
    assert inserted.ip_address == ipaddress.ip_address(ADA_IP)
    assert inserted.user_agent == ADA.user_agent


async def test_actor_is_null_when_none_is_set(session):
    user = await make_user(session)

    inserted = await only_audit_row(session, user.id, "INSERT")
    assert inserted.user_id is None
    assert inserted.user_email is None
    assert inserted.ip_address is None
    assert inserted.user_agent is None


async def test_partly_known_actor_leaves_the_unknown_fields_null(session):
    await set_actor(session, Actor(ip_address="2001:db8::1", user_agent="cron"))

    user = await make_user(session)

    inserted = await only_audit_row(session, user.id, "INSERT")
    assert inserted.user_id is None
    assert inserted.user_email is None
    assert inserted.ip_address == ipaddress.ip_address("2001:db8::1")
    assert inserted.user_agent == "cron"


def actor_of(row: AuditLog) -> tuple[object, ...]:
    return (row.user_id, row.user_email, row.ip_address, row.user_agent)


async def test_actor_is_transaction_local(engine):
    # A pooled connection outlives the request: the next transaction on it must start clean.
    async with (
        engine.connect() as connection,
        AsyncSession(bind=connection, expire_on_commit=False) as writer,
    ):
        backend = await writer.scalar(text("SELECT pg_backend_pid()"))
        await set_actor(writer, ADA)
        committed_id = (await make_user(writer)).id
        await writer.commit()
        try:
            later = await make_user(writer)
            assert await writer.scalar(text("SELECT pg_backend_pid()")) == backend
            first = actor_of(await only_audit_row(writer, committed_id, "INSERT"))
            second = actor_of(await only_audit_row(writer, later.id, "INSERT"))
        finally:
            await writer.rollback()
            await writer.execute(text("DELETE FROM users WHERE id = :id"), {"id": committed_id})
            await writer.execute(
                text("DELETE FROM audit_log WHERE record_id = :id"), {"id": committed_id}
            )
            await writer.commit()

    assert first == (ADA.user_id, ADA.email, ipaddress.ip_address(ADA_IP), ADA.user_agent)
    assert second == (None, None, None, None)


async def test_actor_set_in_a_rolled_back_savepoint_is_gone(session):
    async with session.begin_nested() as savepoint:
        await set_actor(session, ADA)
        await savepoint.rollback()

    user = await make_user(session)

    assert (await only_audit_row(session, user.id, "INSERT")).user_id is None


async def test_raw_sql_update_and_delete_are_audited(session):
    await set_actor(session, ADA)
    venue = await make_venue(session, name="Old name")

    await session.execute(
        text("UPDATE venues SET name = 'New name' WHERE id = :id"), {"id": venue.id}
    )
    await session.execute(text("DELETE FROM venues WHERE id = :id"), {"id": venue.id})

    updated = await only_audit_row(session, venue.id, "UPDATE")
    assert updated.changed_fields == ["name"]
    assert updated.old_data is not None
    assert updated.new_data is not None
    assert (updated.old_data["name"], updated.new_data["name"]) == ("Old name", "New name")
    assert updated.user_id == ADA.user_id
    deleted = await only_audit_row(session, venue.id, "DELETE")
    assert deleted.old_data is not None
    assert deleted.old_data["name"] == "New name"


async def test_raw_sql_soft_delete_is_audited_as_soft_delete(session):
    booking = await make_booking(session)

    await session.execute(
        text("UPDATE bookings SET deleted_at = now() WHERE id = :id"), {"id": booking.id}
    )

    assert (await only_audit_row(session, booking.id, "SOFT_DELETE")).changed_fields == [
        "deleted_at"
    ]


async def test_copy_into_users_is_audited(session, connection):
    await set_actor(session, ADA)
    driver = (await connection.get_raw_connection()).driver_connection

    await driver.copy_records_to_table(
        "users",
        records=[
            ("copied-1@example.test", "copied-1@example.test", "Copied One"),
            ("copied-2@example.test", "copied-2@example.test", "Copied Two"),
        ],
        columns=["email", "email_key", "display_name"],
    )

    result = await session.execute(
        select(AuditLog).where(
            AuditLog.table_name == "users",
            AuditLog.new_data["email"].astext.in_(
                ["copied-1@example.test", "copied-2@example.test"]
            ),
        )
    )
    inserted = list(result.scalars())
    assert [row.action for row in inserted] == ["INSERT", "INSERT"]
    assert {row.user_id for row in inserted} == {ADA.user_id}
    # COPY leaves the id to the column default: a UUIDv7 made in SQL.
    assert {row.record_id.version for row in inserted} == {7}


async def test_copy_into_bookings_is_audited(session, connection):
    user = await make_user(session)
    venue = await make_venue(session)
    starts_at = dt.datetime(2031, 1, 1, 9, tzinfo=dt.UTC)
    driver = (await connection.get_raw_connection()).driver_connection

    await driver.copy_records_to_table(
        "bookings",
        records=[
            (user.id, venue.id, starts_at, starts_at + dt.timedelta(hours=1), Decimal(50), "EUR")
        ],
        columns=["user_id", "venue_id", "starts_at", "ends_at", "amount", "currency"],
    )

    booking_id = await session.scalar(
        text("SELECT id FROM bookings WHERE venue_id = :venue_id"), {"venue_id": venue.id}
    )
    inserted = await only_audit_row(session, booking_id, "INSERT")
    assert inserted.table_name == "bookings"
    assert inserted.new_data is not None
    assert inserted.new_data["user_id"] == str(user.id)
    assert inserted.new_data["status"] == "pending"


async def test_password_hash_is_never_recorded_by_value(session):
    user = await make_user(session, password_hash="argon2-old-secret")

    user.password_hash = "argon2-new-secret"
    await session.flush()
    await session.delete(user)
    await session.flush()

    trail = await audit_rows(session, user.id)
    assert sorted(row.action for row in trail) == ["DELETE", "INSERT", "UPDATE"]
    for row in trail:
        assert "password_hash" not in (row.old_data or {})
        assert "password_hash" not in (row.new_data or {})
        assert "secret" not in f"{row.old_data} {row.new_data}"
    assert (await only_audit_row(session, user.id, "UPDATE")).changed_fields == ["password_hash"]


async def test_password_change_alongside_other_changes_lists_both(session):
    user = await make_user(session, password_hash="argon2-old-secret")

    await session.execute(
        text(
            "UPDATE users SET password_hash = 'argon2-new-secret', display_name = 'Ada'"
            " WHERE id = :id"
        ),
        {"id": user.id},
    )

    updated = await only_audit_row(session, user.id, "UPDATE")
    assert updated.changed_fields == ["display_name", "password_hash"]
    assert updated.new_data is not None
    assert updated.new_data["display_name"] == "Ada"


@pytest.mark.parametrize(
    "assignment",
    ["display_name = display_name", "updated_at = now() + interval '1 hour'"],
    ids=["same-value", "updated-at-only"],
)
async def test_update_that_changes_nothing_writes_no_audit_row(session, assignment):
    user = await make_user(session)

    result = await session.execute(
        text(f"UPDATE users SET {assignment} WHERE id = :id"),  # noqa: S608 - fixed test strings
        {"id": user.id},
    )

    assert result.rowcount == 1
    assert [row.action for row in await audit_rows(session, user.id)] == ["INSERT"]


async def test_login_sessions_are_not_audited(session):
    user = await make_user(session)
    login_id = await session.scalar(
        text(
            "INSERT INTO sessions (user_id, token_hash, expires_at)"
            " VALUES (:user_id, sha256('token'), now() + interval '1 day') RETURNING id"
        ),
        {"user_id": user.id},
    )

    assert await audit_rows(session, login_id) == []


# --- Partitions ------------------------------------------------------------------------------


async def partition_of(session: AsyncSession, audit_id: uuid.UUID) -> str:
    partition = await session.scalar(
        text("SELECT tableoid::regclass::text FROM audit_log WHERE id = :id"), {"id": audit_id}
    )
    assert partition is not None
    return partition


async def insert_audit_row(session: AsyncSession, created_at: dt.datetime) -> uuid.UUID:
    audit_id = await session.scalar(
        text(
            "INSERT INTO audit_log (table_name, record_id, action, created_at)"
            " VALUES ('users', gen_random_uuid(), 'INSERT', :created_at) RETURNING id"
        ),
        {"created_at": created_at},
    )
    assert audit_id is not None
    return audit_id


async def test_audit_rows_land_in_the_current_monthly_partition(session):
    user = await make_user(session)

    inserted = await only_audit_row(session, user.id, "INSERT")

    month = inserted.created_at.astimezone(dt.UTC).strftime("%Y_%m")
    assert await partition_of(session, inserted.id) == f"audit_log_p{month}"


async def test_audit_row_dated_far_in_the_future_lands_in_the_default_partition(session):
    audit_id = await insert_audit_row(session, dt.datetime(2199, 6, 1, tzinfo=dt.UTC))

    assert await partition_of(session, audit_id) == "audit_log_default"


async def test_migration_created_partitions_from_last_month_to_three_months_ahead(session):
    now = await session.scalar(text("SELECT now() AT TIME ZONE 'UTC'"))
    first = dt.date(now.year, now.month, 1)
    months = [(first.year * 12 + first.month - 1) + offset for offset in range(-1, 4)]
    expected = {f"audit_log_p{month // 12:04d}_{month % 12 + 1:02d}" for month in months}

    result = await session.execute(
        text(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'audit_log'::regclass"
        )
    )

    assert expected <= set(result.scalars())


async def test_create_partitions_makes_utc_month_partitions_and_is_idempotent(session):
    # Bounds are UTC month starts even when the session's time zone is far from UTC.
    await session.execute(text("SET LOCAL TimeZone = 'Pacific/Auckland'"))

    created = await session.scalar(text("SELECT audit_log_create_partitions('2150-01-15', 2)"))
    again = await session.scalar(text("SELECT audit_log_create_partitions('2150-01-01', 2)"))
    extended = await session.scalar(text("SELECT audit_log_create_partitions('2150-02-01', 2)"))

    assert (created, again, extended) == (2, 0, 1)
    last_of_january = await insert_audit_row(
        session, dt.datetime(2150, 1, 31, 23, 59, 59, tzinfo=dt.UTC)
    )
    first_of_february = await insert_audit_row(session, dt.datetime(2150, 2, 1, tzinfo=dt.UTC))
    first_of_march = await insert_audit_row(session, dt.datetime(2150, 3, 1, tzinfo=dt.UTC))
    assert await partition_of(session, last_of_january) == "audit_log_p2150_01"
    assert await partition_of(session, first_of_february) == "audit_log_p2150_02"
    assert await partition_of(session, first_of_march) == "audit_log_p2150_03"


async def test_create_partitions_moves_rows_that_landed_in_the_default_partition(session):
    stranded = await insert_audit_row(session, dt.datetime(2150, 5, 10, tzinfo=dt.UTC))

    async with session.begin_nested():
        created = await session.scalar(text("SELECT audit_log_create_partitions('2150-05-01', 1)"))

    assert created == 1
    assert await partition_of(session, stranded) == "audit_log_p2150_05"


async def test_a_many_row_insert_is_audited_row_by_row_in_insertion_order(session):
    """Inserts are audited per statement (one INSERT ... SELECT), with the row trigger's trail."""
    await set_actor(session, ADA)
    inserted = await session.execute(
        text(
            "INSERT INTO users (email, email_key, display_name)"
            " SELECT 'bulk-' || n || '@example.test', 'bulk-' || n || '@example.test',"
            "        'Bulk ' || n FROM generate_series(1, 5) AS n RETURNING id"
        )
    )
    ids = list(inserted.scalars())
    await session.execute(
        text("UPDATE users SET display_name = 'Bulk renamed' WHERE id = :id"), {"id": ids[0]}
    )

    trail = (
        await session.execute(
            text(
                "SELECT a.record_id, a.action, a.seq, a.user_id, a.user_agent,"
                "       a.old_data IS NULL AS no_old, a.changed_fields IS NULL AS no_changes,"
                "       a.new_data = to_jsonb(u) - 'password_hash' AS whole_row"
                "  FROM audit_log AS a JOIN users AS u ON u.id = a.record_id"
                " WHERE a.record_id = ANY(:ids) AND a.action = 'INSERT' ORDER BY a.seq"
            ),
            {"ids": ids},
        )
    ).all()
    assert [row.record_id for row in trail] == ids
    assert {(row.user_id, row.user_agent) for row in trail} == {(ADA.user_id, "pytest/1.0")}
    assert all(row.no_old and row.no_changes for row in trail)
    # The first user was renamed after the insert: its INSERT row keeps the inserted name.
    assert [row.whole_row for row in trail] == [False, True, True, True, True]
    renamed = await only_audit_row(session, ids[0], "UPDATE")
    assert renamed.seq > trail[-1].seq
    assert renamed.changed_fields == ["display_name"]
