import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import TypedDict

import asyncpg
import pytest
from argon2 import PasswordHasher

from models import seed as seed_module
from models.seed import (
    CITIES,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    SEED_USER_AGENT,
    SeedReport,
    seed_demo_data,
)


class Counts(TypedDict):
    users: int
    venues: int
    bookings: int
    media: int


# The seed commits its own transaction: every test here empties the tables again at the end.
COUNTS = Counts(users=40, venues=12, bookings=300, media=60)
TABLES = ("users", "venues", "bookings", "media")
TRUNCATE = "TRUNCATE users, sessions, venues, bookings, media, audit_log CASCADE"


@pytest.fixture
async def dsn(test_database) -> AsyncIterator[str]:
    dsn = test_database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    try:
        yield dsn
    finally:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(TRUNCATE)
        finally:
            await connection.close()


@pytest.fixture
async def db(dsn) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def seeded(dsn) -> SeedReport:
    return await seed_demo_data(dsn, **COUNTS)


async def row_counts(db) -> dict[str, int]:
    return {
        table: await db.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608 - constant names
        for table in TABLES
    }


async def test_seed_writes_the_requested_rows_and_reports_progress(dsn, db):
    lines: list[str] = []

    report = await seed_demo_data(dsn, progress=lines.append, **COUNTS)

    assert report == SeedReport(seeded=True, **COUNTS)
    assert await row_counts(db) == COUNTS
    for table, count in COUNTS.items():
        assert any(line.startswith(f"{table}: {count} rows (") for line in lines)


async def test_second_seed_writes_nothing_and_reports_existing_rows(dsn, db, seeded):
    audit_rows = await db.fetchval("SELECT count(*) FROM audit_log")

    again = await seed_demo_data(dsn)  # scale 1 would load 26,300 rows if it loaded anything

    assert seeded.seeded
    assert again == SeedReport(seeded=False, **COUNTS)
    assert await row_counts(db) == COUNTS
    assert await db.fetchval("SELECT count(*) FROM audit_log") == audit_rows


async def test_concurrent_seeds_load_once(dsn, db):
    reports = await asyncio.gather(seed_demo_data(dsn, **COUNTS), seed_demo_data(dsn, **COUNTS))

    assert sorted(report.seeded for report in reports) == [False, True]
    assert await row_counts(db) == COUNTS


@pytest.mark.usefixtures("seeded")
async def test_live_holding_bookings_never_overlap(db):
    overlapping = await db.fetchval(
        """
        SELECT count(*) FROM bookings a JOIN bookings b
          ON a.venue_id = b.venue_id AND a.id < b.id
         AND tstzrange(a.starts_at, a.ends_at, '[)') && tstzrange(b.starts_at, b.ends_at, '[)')
        WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL
          AND a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
        """
    )
    assert overlapping == 0


@pytest.mark.usefixtures("seeded")
async def test_bookings_cost_the_venue_rate_for_their_hours(db):
    row = await db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE b.amount <> v.hourly_rate
                                      * extract(epoch FROM b.ends_at - b.starts_at) / 3600
                                   OR b.currency <> v.currency) AS wrong,
               min(b.ends_at - b.starts_at) AS shortest,
               max(b.ends_at - b.starts_at) AS longest
          FROM bookings b JOIN venues v ON v.id = b.venue_id
        """
    )
    assert row["wrong"] == 0
    assert row["shortest"].total_seconds() >= 3600
    assert row["longest"].total_seconds() <= 8 * 3600


@pytest.mark.usefixtures("seeded")
async def test_booking_statuses_follow_time(db):
    misplaced = await db.fetchval(
        """
        SELECT count(*) FROM bookings
         WHERE (ends_at <= now() AND status NOT IN ('completed', 'cancelled'))
            OR (starts_at > now() AND status NOT IN ('pending', 'confirmed'))
        """
    )
    statuses = {row["status"] for row in await db.fetch("SELECT DISTINCT status FROM bookings")}
    assert misplaced == 0
    assert statuses == {"pending", "confirmed", "completed", "cancelled"}


@pytest.mark.usefixtures("seeded")
async def test_demo_accounts_have_their_roles_and_the_demo_password(db):
    rows = await db.fetch(
        "SELECT email, role, password_hash FROM users WHERE email = ANY($1::text[])",
        list(DEMO_ACCOUNTS.values()),
    )
    by_email = {row["email"]: row for row in rows}
    hasher = PasswordHasher()

    for role, email in DEMO_ACCOUNTS.items():
        assert by_email[email]["role"] == role
        assert hasher.verify(by_email[email]["password_hash"], DEMO_PASSWORD)
    roles = dict(await db.fetch("SELECT role, count(*) FROM users GROUP BY role"))
    assert roles == {"admin": 1, "host": 3, "member": 36}


@pytest.mark.usefixtures("seeded")
async def test_venues_lie_within_15_km_of_their_city(db):
    near = await db.fetchval(
        """
        SELECT count(*) FROM venues v
          JOIN unnest($1::text[], $2::text[], $3::float8[], $4::float8[])
               AS c(name, country, longitude, latitude)
            ON c.name = v.city AND c.country = v.country
         WHERE ST_DWithin(
                 v.location,
                 ST_SetSRID(ST_MakePoint(c.longitude, c.latitude), 4326)::geography,
                 15000)
        """,
        [city.name for city in CITIES],
        [city.country for city in CITIES],
        [city.longitude for city in CITIES],
        [city.latitude for city in CITIES],
    )
    cities = await db.fetchval("SELECT count(DISTINCT city) FROM venues")
    assert near == COUNTS["venues"]
    assert cities == COUNTS["venues"] == len(CITIES)  # every city gets a venue first


@pytest.mark.usefixtures("seeded")
async def test_media_belong_to_their_venue_or_booking(db):
    row = await db.fetchrow(
        """
        SELECT count(*) FILTER (WHERE b.id IS NOT NULL
                                  AND (m.owner_id <> b.user_id OR m.venue_id <> b.venue_id))
                 AS wrong_booking,
               count(*) FILTER (WHERE b.id IS NULL AND v.id IS NOT NULL
                                  AND m.owner_id <> v.owner_id) AS wrong_venue,
               count(*) FILTER (WHERE v.id IS NOT NULL AND m.location IS NOT NULL
                                  AND NOT ST_DWithin(m.location, v.location, 1000))
                 AS far_from_venue,
               count(*) FILTER (WHERE m.resource_type = 'VIDEO') AS videos,
               count(*) FILTER (WHERE m.storage_key <> 'media/' || m.id || '.' || m.extension)
                 AS odd_keys
          FROM media m
          LEFT JOIN venues v ON v.id = m.venue_id
          LEFT JOIN bookings b ON b.id = m.booking_id
        """
    )
    assert dict(row) == {
        "wrong_booking": 0,
        "wrong_venue": 0,
        "far_from_venue": 0,
        "videos": row["videos"],
        "odd_keys": 0,
    }
    venues_with_a_cover = await db.fetchval("SELECT count(DISTINCT venue_id) FROM media")
    assert venues_with_a_cover == COUNTS["venues"]


@pytest.mark.usefixtures("seeded")
async def test_audit_log_has_one_insert_per_seeded_row_by_the_seed(db):
    rows = await db.fetch(
        "SELECT table_name, action, user_agent, count(*) AS n, count(DISTINCT record_id) AS ids"
        " FROM audit_log GROUP BY 1, 2, 3"
    )
    assert {(r["table_name"], r["action"], r["user_agent"], r["n"], r["ids"]) for r in rows} == {
        (table, "INSERT", SEED_USER_AGENT, count, count) for table, count in COUNTS.items()
    }
    for table in TABLES:
        unaudited = await db.fetchval(
            f"SELECT count(*) FROM {table} t WHERE NOT EXISTS"  # noqa: S608 - constant names
            " (SELECT 1 FROM audit_log a WHERE a.table_name = $1 AND a.record_id = t.id)",
            table,
        )
        assert unaudited == 0


async def test_a_load_failing_midway_leaves_nothing(dsn, db):
    def fail_after_bookings(line: str) -> None:
        if line.startswith("bookings:"):
            raise RuntimeError(line)

    with pytest.raises(RuntimeError, match="bookings: 300 rows"):
        await seed_demo_data(dsn, progress=fail_after_bookings, **COUNTS)

    assert await row_counts(db) == dict.fromkeys(TABLES, 0)
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_a_check_violation_rolls_the_whole_load_back(dsn, db, monkeypatch):
    lowercase_country = dataclasses.replace(CITIES[0], country="fr")
    monkeypatch.setattr(seed_module, "CITIES", (lowercase_country, *CITIES[1:]))

    with pytest.raises(asyncpg.CheckViolationError, match="ck_venues_country_iso3166"):
        await seed_demo_data(dsn, **COUNTS)

    assert await row_counts(db) == dict.fromkeys(TABLES, 0)
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


FINGERPRINT = {
    "users": "SELECT email, display_name, role, preferences FROM users ORDER BY email",
    "venues": (
        "SELECT name, address, hourly_rate, amenities, ST_AsText(location) FROM venues"
        " ORDER BY address, name"
    ),
    "bookings": "SELECT amount, currency, notes FROM bookings ORDER BY 1, 2, 3",
    "media": (
        "SELECT content_hash, title, tags, exif, file_size, ST_AsText(location) FROM media"
        " ORDER BY content_hash"
    ),
}


async def fingerprint(db) -> dict[str, list[tuple[object, ...]]]:
    return {name: [tuple(r) for r in await db.fetch(sql)] for name, sql in FINGERPRINT.items()}


async def test_same_random_seed_same_data(dsn, db):
    await seed_demo_data(dsn, random_seed=11, **COUNTS)
    first = await fingerprint(db)
    await db.execute(TRUNCATE)
    await seed_demo_data(dsn, random_seed=11, **COUNTS)
    second = await fingerprint(db)
    await db.execute(TRUNCATE)
    await seed_demo_data(dsn, random_seed=12, **COUNTS)
    other = await fingerprint(db)

    assert first == second
    assert other["users"] != first["users"]


@pytest.mark.parametrize(
    "arguments",
    [{"scale": 0}, {"users": 2}, {"venues": 0}, {"bookings": -1}],
    ids=["scale", "users", "venues", "bookings"],
)
async def test_impossible_counts_are_refused_before_connecting(arguments):
    with pytest.raises(ValueError, match=r"must|need"):
        await seed_demo_data("postgresql://nowhere.invalid/none", **arguments)
