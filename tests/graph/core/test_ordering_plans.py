"""Every ordering a list offers is walked by an index, and `totalCount` counts an index.

The demo data is seeded once for the module (committed, emptied again at the end), VACUUMed
and ANALYZEd, large enough that the planner prefers an index to sorting. Each ordering of each
root list and child connection is read three ways (the first 100, the 5 after that page's end,
the 5 before it) on both paths (`execute` compares their bytes), and each SELECT the request
ran is EXPLAINed (ANALYZE, FORMAT JSON) with its parameters: no node reads the listed table
sequentially, no Sort has the table's rows beneath it unless a Limit stands between (an
Incremental Sort over an index's presorted key is fine), and a page after or before a cursor
reads about a page of the table's rows per loop, not the rows before the cursor.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

import models
from graph.core.global_id import encode_global_id
from graph.entities.booking.inputs import BookingOrder
from graph.entities.media.inputs import MediaOrder
from graph.entities.user.inputs import UserOrder
from graph.entities.venue.inputs import VenueOrder
from models.seed import DEMO_ACCOUNTS, seed_demo_data
from tests.graph.statement_plans import explained as run_and_explain
from tests.graph.statement_plans import plan_nodes
from tests.graph.viewers import viewer_of

# The demo data's shape (`sartiq seed`: about 67 bookings and 17 media per venue, here more
# media), so that the planner's estimate of one venue's children is what production sees.
SIZES = {"users": 1500, "venues": 1000, "bookings": 67000, "media": 40000}
USERS, VENUES, BOOKINGS, MEDIA = SIZES.values()
TRUNCATE = "TRUNCATE users, sessions, venues, bookings, media, audit_log CASCADE"
# Rows of the listed table one loop of a scan may read for a page of 5 (plus one, and the
# rows a visibility rule filters out): far fewer than the 100 before the cursor.
PAGE_READ = 40
# Sessions accumulate (one per device and login, kept until they expire): a long-lived
# account holds dozens, which is when a page of them should not read all of them.
SESSIONS_PER_USER = 40
# Children of one venue, sessions of the admin.
MANY = 300


@pytest.fixture(scope="module")
async def seeded(test_database) -> AsyncIterator[None]:
    dsn = test_database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
    await seed_demo_data(dsn, users=USERS, venues=VENUES, bookings=BOOKINGS, media=MEDIA)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            """
            INSERT INTO sessions (user_id, token_hash, expires_at, created_at)
            SELECT u.id, sha256(convert_to(u.id::text || g, 'UTF8')),
                   now() + interval '1 day', now() - g * interval '1 minute'
              FROM users u, generate_series(1, $1) AS g
            """,
            SESSIONS_PER_USER,
        )
        # One venue with many children and the admin with many sessions, so that a child
        # page after the 100th row has rows before it to not read. Amounts and titles tie.
        venue_id = await connection.fetchval("SELECT id FROM venues ORDER BY id LIMIT 1")
        admin_id = await connection.fetchval(
            "SELECT id FROM users WHERE email = $1", DEMO_ACCOUNTS["admin"]
        )
        await connection.execute(
            """
            INSERT INTO bookings (user_id, venue_id, starts_at, ends_at, status, amount, currency)
            SELECT $2, $1, now() - g * interval '1 day',
                   now() - g * interval '1 day' + interval '1 hour', 'completed', 10 * (g % 7),
                   'EUR'
              FROM generate_series(1, $3) AS g
            """,
            venue_id,
            admin_id,
            MANY,
        )
        await connection.execute(
            """
            INSERT INTO media (owner_id, venue_id, resource_type, storage_key, content_hash,
                               extension, file_size, title, captured_at)
            SELECT $2, $1, 'IMAGE', 'many/' || g || '.jpg', md5(g::text) || md5(g::text), 'jpg',
                   1000 + g, 'Photo ' || g % 13, now() - g * interval '1 hour'
              FROM generate_series(1, $3) AS g
            """,
            venue_id,
            admin_id,
            MANY,
        )
        await connection.execute(
            """
            INSERT INTO sessions (user_id, token_hash, expires_at, created_at)
            SELECT $1, sha256(convert_to('many' || g, 'UTF8')), now() + interval '1 day',
                   now() - g * interval '1 second'
              FROM generate_series(1, $2) AS g
            """,
            admin_id,
            MANY,
        )
        await connection.execute("VACUUM ANALYZE")
        yield
    finally:
        await connection.execute(TRUNCATE)
        await connection.close()


def outline(plan: dict[str, Any], depth: int = 0) -> str:
    """A plan as indented lines: node, table, index, actual and estimated rows."""
    line = (
        f"{'  ' * depth}{plan['Node Type']} {plan.get('Relation Name', '')}"
        f" {plan.get('Index Name', '')} rows={plan.get('Actual Rows')} est={plan.get('Plan Rows')}"
    )
    return "\n".join([line, *(outline(child, depth + 1) for child in plan.get("Plans", []))])


def unlimited_scans(plan: dict[str, Any], table: str) -> Iterator[dict[str, Any]]:
    """Nodes reading `table` under `plan` with no Limit between them and it."""
    if plan.get("Relation Name") == table:
        yield plan
    for child in plan.get("Plans", []):
        if child["Node Type"] != "Limit":
            yield from unlimited_scans(child, table)


def sorts_over_table(plan: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return [
        node
        for node in plan_nodes(plan)
        if node["Node Type"] == "Sort" and any(unlimited_scans(node, table))
    ]


async def explained(connection, execute, query, variables, viewer):
    """Run `query` on both paths; EXPLAIN ANALYZE each SELECT it ran, with its parameters."""
    return await run_and_explain(
        connection, execute, query, variables, viewer=viewer, options="ANALYZE, FORMAT JSON"
    )


def assert_walked(plans, table: str, *, page_read: int | None) -> None:
    reading = [n for plan in plans for n in plan_nodes(plan) if n.get("Relation Name") == table]
    assert reading, f"no statement read {table}"
    for node in reading:
        assert node["Node Type"] != "Seq Scan", node
        if page_read is not None:
            read = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
            assert read <= page_read, (read, node)
    for plan in plans:
        assert not sorts_over_table(plan, table), outline(plan)
        for node in plan_nodes(plan):
            if node["Node Type"] == "Incremental Sort":
                below = node["Plans"][0]
                assert below["Node Type"] in {"Index Scan", "Index Only Scan"}, below
                assert below.get("Relation Name") == table, below


ROOT = """
query ($first: Int, $after: String, $last: Int, $before: String, $orderBy: %(order)s,
       $includeDeleted: Boolean) {
  %(field)s(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy,
            includeDeleted: $includeDeleted) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""

CHILD = """
query ($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
       $orderBy: %(order)s) {
  venue(id: $id) {
    %(field)s(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id } }
    }
  }
}
"""


async def three_pages(  # noqa: PLR0913, PLR0917 - the request and where its connection is
    connection, execute, query, table, variables, viewer, connection_of, *, deep=100
):
    """The first and last 100; 5 after the first 100 and 5 before the last: each walked.

    Each short page reads from a cursor 100 rows in from where it starts, away from the rows
    it reads towards, so reading more than about a page would show.
    """
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for size, into in (({"first": deep}, first), ({"last": deep}, last)):
        data, plans = await explained(connection, execute, query, {**variables, **size}, viewer)
        assert_walked(plans, table, page_read=None)
        into.update(connection_of(data))
        assert len(into["edges"]) == deep
    short_pages = (
        ({"first": 5, "after": first["pageInfo"]["endCursor"]}, "hasPreviousPage"),
        ({"last": 5, "before": last["pageInfo"]["startCursor"]}, "hasNextPage"),
    )
    for window, rows_beyond_the_cursor in short_pages:
        data, plans = await explained(connection, execute, query, {**variables, **window}, viewer)
        assert_walked(plans, table, page_read=PAGE_READ)
        page = connection_of(data)
        assert page["pageInfo"][rows_beyond_the_cursor]
        assert len(page["edges"]) == 5


async def user_by_email(session, email: str) -> models.User:
    return (
        await session.execute(select(models.User).where(models.User.email == email))
    ).scalar_one()


ROOT_LISTS = [
    ("venues", "venues", "VenueOrder", VenueOrder, None),
    ("media", "media", "MediaOrder", MediaOrder, None),
    ("bookings", "bookings", "BookingOrder", BookingOrder, "admin"),
    ("users", "users", "UserOrder", UserOrder, "admin"),
]
COLUMN_ORDERS = {"RELEVANCE", "DISTANCE"}


def root_cases() -> Iterator[Any]:
    for field, table, order_type, order, who in ROOT_LISTS:
        for member in order:
            if member.value not in COLUMN_ORDERS:
                yield pytest.param(
                    field, table, order_type, member.value, who, id=f"{field}-{member.value}"
                )


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("field", "table", "order_type", "order", "who"), list(root_cases()))
async def test_root_list_orderings_walk_an_index(  # noqa: PLR0913, PLR0917 - parameters
    connection, session, execute, field, table, order_type, order, who
):
    viewer = viewer_of(await user_by_email(session, DEMO_ACCOUNTS[who])) if who else None
    query = ROOT % {"field": field, "order": order_type}
    await three_pages(
        connection, execute, query, table, {"orderBy": order}, viewer, lambda data: data[field]
    )


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("order", ["NAME_DESC", "HOURLY_RATE_ASC", "CREATED_AT_DESC"])
async def test_admins_deleted_rows_walk_the_same_indexes(connection, session, execute, order):
    admin = viewer_of(await user_by_email(session, DEMO_ACCOUNTS["admin"]))
    query = ROOT % {"field": "venues", "order": "VenueOrder"}
    variables = {"orderBy": order, "includeDeleted": True}
    await three_pages(connection, execute, query, "venues", variables, admin, lambda d: d["venues"])


def child_cases() -> Iterator[Any]:
    for field, table, order_type, order in (
        ("bookings", "bookings", "BookingOrder", BookingOrder),
        ("media", "media", "MediaOrder", MediaOrder),
    ):
        for member in order:
            if member.value not in COLUMN_ORDERS:
                yield pytest.param(
                    field, table, order_type, member.value, id=f"{field}-{member.value}"
                )


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize(("field", "table", "order_type", "order"), list(child_cases()))
async def test_child_connection_orderings_walk_an_index(  # noqa: PLR0913, PLR0917 - parameters
    connection, session, execute, field, table, order_type, order
):
    admin = viewer_of(await user_by_email(session, DEMO_ACCOUNTS["admin"]))
    venue_id = (
        await session.execute(select(models.Venue.id).order_by(models.Venue.id).limit(1))
    ).scalar_one()
    query = CHILD % {"field": field, "order": order_type}
    variables = {"id": encode_global_id("Venue", venue_id), "orderBy": order}
    await three_pages(
        connection, execute, query, table, variables, admin, lambda d: d["venue"][field], deep=10
    )


SESSIONS = """
query ($first: Int!, $after: String) {
  viewer { sessions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor } edges { cursor node { id } }
  } }
}
"""


@pytest.mark.usefixtures("seeded")
async def test_sessions_walk_an_index(connection, session, execute):
    admin = viewer_of(await user_by_email(session, DEMO_ACCOUNTS["admin"]))
    data, plans = await explained(connection, execute, SESSIONS, {"first": 10}, admin)
    assert_walked(plans, "sessions", page_read=None)
    cursor = data["viewer"]["sessions"]["pageInfo"]["endCursor"]
    data, plans = await explained(
        connection, execute, SESSIONS, {"first": 5, "after": cursor}, admin
    )
    assert_walked(plans, "sessions", page_read=PAGE_READ)
    assert len(data["viewer"]["sessions"]["edges"]) == 5


COUNTED = "query { venues { totalCount } users { totalCount } }"
LIVE_COUNTS = (
    "SELECT (SELECT count(*) FROM venues WHERE deleted_at IS NULL),"
    " (SELECT count(*) FROM users WHERE deleted_at IS NULL)"
)


@pytest.mark.usefixtures("seeded")
async def test_total_count_is_exact_and_counts_an_index_alone(connection, session, execute):
    admin = viewer_of(await user_by_email(session, DEMO_ACCOUNTS["admin"]))
    venues, users = (await connection.exec_driver_sql(LIVE_COUNTS)).one()

    data, plans = await explained(connection, execute, COUNTED, {}, admin)

    assert data == {"venues": {"totalCount": venues}, "users": {"totalCount": users}}
    # Bookings are not here: a count of most of a narrow table's rows costs the same from the
    # heap as from an index, and PostgreSQL rightly reads the heap (see `totalCount`).
    for table in ("venues", "users"):
        reading = [n for plan in plans for n in plan_nodes(plan) if n.get("Relation Name") == table]
        counted = [node for node in reading if node["Node Type"] == "Index Only Scan"]
        assert counted, [outline(node) for node in reading]
        for node in counted:
            assert node["Heap Fetches"] == 0, outline(node)
        # Besides the count, at most a page is read (the compiled path's unselected edges).
        for node in reading:
            assert node in counted or node["Actual Rows"] <= PAGE_READ, outline(node)


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("who", ["member", "host"])
async def test_total_count_counts_what_the_viewer_may_see(connection, session, execute, who):
    viewer = viewer_of(await user_by_email(session, DEMO_ACCOUNTS[who]))
    venues_seen = await execute("query { venues(first: 100) { edges { node { id } } } }", {})
    data, _ = await explained(
        connection, execute, "query { venues { totalCount } bookings { totalCount } }", {}, viewer
    )
    everything = await execute(
        "query { bookings(first: 100) { pageInfo { hasNextPage } edges { node { id } } } }",
        {},
        viewer=viewer,
    )
    live_venues = (await connection.exec_driver_sql(LIVE_COUNTS)).one()[0]
    assert data["venues"]["totalCount"] == live_venues
    assert len(venues_seen.data["venues"]["edges"]) == min(100, live_venues)
    page = everything.data["bookings"]
    if not page["pageInfo"]["hasNextPage"]:
        assert data["bookings"]["totalCount"] == len(page["edges"])
    else:
        assert data["bookings"]["totalCount"] > len(page["edges"])
