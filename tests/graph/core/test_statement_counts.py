"""The guarantee frontends rely on: a query's statement count depends on its shape alone.

The same nested query returning 1, 10 and 100 parents runs the same, written-down number of
statements: one per list, per loader and per depth, never one per row.
"""

import pytest

from tests.factories import make_booking, make_media, make_user, make_venue
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


@pytest.mark.parametrize("parents", [1, 10, 100])
async def test_nested_query_runs_the_same_statements_for_1_10_and_100_parents(
    session, execute, count_statements, parents
):
    admin = viewer_of(await make_user(session, role="admin"))
    await seed(session, parents)

    with count_statements as counted:
        result = await execute(NESTED, {"first": parents}, viewer=admin)

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
    assert counted.count == STATEMENTS, "\n\n".join(counted.statements)
