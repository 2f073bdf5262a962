"""The guarantee frontends rely on: a query's statement count depends on its shape alone.

The same nested query returning 1, 10 and 100 parents runs the same, written-down number of
statements: one per list, per loader and per depth, never one per row.
"""

import pytest

from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

NESTED = """
query Nested($first: Int!) {
  venues(first: $first) {
    totalCount
    edges { node {
      name
      owner { displayName }
      bookings(first: 5) {
        totalCount
        edges { node { status user { displayName } } }
      }
      media(first: 5) { totalCount edges { node { title } } }
    } }
  }
  bookings(first: $first) {
    totalCount
    edges { node { status venue { name owner { displayName } } } }
  }
}
"""

# The venues page and its count; the bookings page and its count; the venues' owners; the
# venues' bookings (one window query) and their counts (one GROUP BY); the venues' media and
# their counts; the root bookings' venues; and one statement for the users asked for at the
# same depth: the venues' bookings' guests and the root bookings' venues' owners.
STATEMENTS = 11


async def seed(session, parents: int) -> None:
    """`parents` venues, each with three bookings by different members and two photos."""
    for _ in range(parents):
        venue = await make_venue(session)
        for _ in range(3):
            await make_booking(session, venue=venue, user=await make_user(session))
        for _ in range(2):
            await make_media(session, venue=venue)


@pytest.mark.parametrize("path", ["loaders", "both"])
@pytest.mark.parametrize("parents", [1, 10, 100])
async def test_nested_query_runs_the_same_statements_for_1_10_and_100_parents(
    session, execute, count_statements, parents, path
):
    admin = viewer_of(await make_user(session, role="admin"))
    await seed(session, parents)

    with count_statements as counted:
        result = await execute(NESTED, {"first": parents}, viewer=admin, paths=path)

    assert result.errors is None, result.errors
    venues = result.data["venues"]
    assert venues["totalCount"] == parents
    assert len(venues["edges"]) == parents
    for edge in venues["edges"]:
        node = edge["node"]
        assert node["owner"]["displayName"]
        assert node["bookings"]["totalCount"] == 3
        assert len(node["bookings"]["edges"]) == 3
        assert all(b["node"]["user"]["displayName"] for b in node["bookings"]["edges"])
        assert node["media"]["totalCount"] == 2
    bookings = result.data["bookings"]
    assert bookings["totalCount"] == 3 * parents
    assert len(bookings["edges"]) == parents
    assert all(b["node"]["venue"]["owner"]["displayName"] for b in bookings["edges"])
    # Compiled (production's path, "both" in the tests): one statement for any shape.
    expected = STATEMENTS if path == "loaders" else 1
    assert counted.count == expected, "\n\n".join(counted.statements)


USERS_WITH_SESSIONS = """
query Sessions($first: Int!) {
  users(first: $first) {
    edges { node { sessions(first: 2) { totalCount edges { node { id } } } } }
  }
}
"""


@pytest.mark.parametrize("path", ["loaders", "both"])
@pytest.mark.parametrize("members", [1, 10, 30])
async def test_sessions_and_their_counts_take_one_statement_each_for_any_number_of_users(
    session, execute, count_statements, members, path
):
    admin_row = await make_user(session, role="admin")
    for _ in range(members):
        member = await make_user(session)
        for _ in range(3):
            await make_login_session(session, user=member)

    with count_statements as counted:
        result = await execute(
            USERS_WITH_SESSIONS, {"first": members + 1}, viewer=viewer_of(admin_row), paths=path
        )

    assert result.errors is None, result.errors
    counts = [edge["node"]["sessions"]["totalCount"] for edge in result.data["users"]["edges"]]
    assert sorted(counts) == [0] + [3] * members  # the admin has none of their own
    # The users page, their sessions (one window query), their counts (one GROUP BY); or the
    # compiled statement.
    assert counted.count == (3 if path == "loaders" else 1), "\n\n".join(counted.statements)


# Every connection field of the schema, each with every argument it takes that changes the
# statement (a filter, an order, a cursor, paging backwards), under as many parents as the
# data has. Root lists are their own parents.
CONNECTIONS = {
    "venues": 'venues(first: $n, orderBy: NAME_ASC, filter: {city: "Lyon"}) { totalCount }',
    "bookings": "bookings(last: $n, filter: {status: [PENDING]}) { totalCount }",
    "media": "media(first: $n, orderBy: TITLE_DESC) { totalCount edges { cursor } }",
    "users": "users(first: $n, orderBy: DISPLAY_NAME_DESC) { totalCount edges { node { email } } }",
    "Venue.bookings": """venues(first: $n) { edges { node { bookings(last: 2,
        filter: {status: [PENDING, CONFIRMED]}, orderBy: AMOUNT_DESC) { totalCount
        pageInfo { hasPreviousPage } edges { node { user { email } } } } } } }""",
    "Venue.media": """venues(first: $n) { edges { node { media(first: 1, orderBy: TITLE_ASC)
        { totalCount edges { cursor node { title } } } } } }""",
    "User.sessions": """users(first: $n) { edges { node { sessions(first: 2) { totalCount
        edges { node { current } } } } } }""",
}


@pytest.mark.parametrize("field", list(CONNECTIONS))
async def test_every_connection_runs_as_many_statements_for_1_as_for_many_parents(
    session, execute, count_statements, field
):
    admin = viewer_of(await make_user(session, role="admin"))
    await seed(session, 8)
    for _ in range(2):
        await make_login_session(session, user=await make_user(session))
    query = f"query Q($n: Int!) {{ {CONNECTIONS[field]} }}"
    counts = {}
    for path in ("loaders", "both"):
        for parents in (1, 8):
            with count_statements as counted:
                result = await execute(query, {"n": parents}, viewer=admin, paths=path)
            assert result.errors is None, result.errors
            counts[path, parents] = counted.count

    assert counts["loaders", 1] == counts["loaders", 8]
    # Compiled (production): one statement, whatever the shape.
    assert counts["both", 1] == counts["both", 8] == 1
