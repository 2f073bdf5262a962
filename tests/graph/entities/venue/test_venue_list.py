from graph.core.global_id import encode_global_id
from tests.factories import make_venue

VENUES = """
query Venues($first: Int!, $after: String) {
  venues(first: $first, after: $after) {
    edges { cursor node { id name owner { displayName } } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


async def page(execute, first, after=None, *, paths="both"):
    result = await execute(VENUES, {"first": first, "after": after}, paths=paths)
    assert result.errors is None
    return result.data["venues"]


async def test_pages_follow_listing_order_without_repeats_or_gaps(session, execute):
    created = [await make_venue(session, name=f"Venue {i}") for i in range(5)]

    first_page = await page(execute, 2)
    assert [e["node"]["name"] for e in first_page["edges"]] == ["Venue 0", "Venue 1"]
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert first_page["pageInfo"]["hasPreviousPage"] is False

    second_page = await page(execute, 2, first_page["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in second_page["edges"]] == ["Venue 2", "Venue 3"]
    assert second_page["pageInfo"]["hasPreviousPage"] is True

    # A venue listed between requests lands after the existing ones: no repeat, no skip.
    await make_venue(session, name="Venue 5")
    third_page = await page(execute, 10, second_page["pageInfo"]["endCursor"])
    assert [e["node"]["name"] for e in third_page["edges"]] == ["Venue 4", "Venue 5"]
    assert third_page["pageInfo"]["hasNextPage"] is False
    assert third_page["edges"][0]["node"]["id"] == encode_global_id("Venue", created[4].id)


async def test_statements_do_not_grow_with_the_page(session, execute, count_statements):
    for _ in range(12):
        await make_venue(session)
    # One counter: each `with` starts it again, so each count is read before the next.
    counts = []
    for first, paths in ((2, "loaders"), (12, "loaders"), (12, "both")):
        with count_statements as counted:
            await page(execute, first, paths=paths)
        counts.append(counted.count)
    # The venues, then all their owners at once; compiled, one statement.
    assert counts == [2, 2, 1]


async def test_bad_cursor_and_page_size_are_bad_user_input(execute):
    result = await execute(VENUES, {"first": 2, "after": "garbage"})
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": "after"}
    result = await execute(VENUES, {"first": 500})
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": "first"}
