"""Keyset pagination (`graph/core/paging.py`) through the root lists: Relay arguments, cursors,
page flags in both directions, rows inserted between pages, nullable and computed sort keys."""

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import models
from graph.core.cursors import KeyKind
from graph.core.paging import Ordering, Page, SortKey, fetch_page, page_window
from graph.core.request_database import RequestDatabase
from tests.factories import make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

VENUES = """
query Venues($first: Int, $after: String, $last: Int, $before: String, $orderBy: VenueOrder) {
  venues(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def venues(execute, **variables):
    result = await execute(VENUES, variables)
    assert result.errors is None, result.errors
    connection = result.data["venues"]
    return [edge["node"]["name"] for edge in connection["edges"]], connection["pageInfo"]


async def error_of(execute, query=VENUES, **variables):
    result = await execute(query, variables)
    assert result.data is None or all(value is None for value in result.data.values())
    (error,) = result.errors
    return error


@pytest.fixture
async def five(session):
    """Venues A to E, listed in that order."""
    return [await make_venue(session, name=name) for name in "ABCDE"]


@pytest.mark.usefixtures("five")
async def test_forward_pages_have_right_flags_on_both_sides(execute):
    names, info = await venues(execute, first=2)
    assert names == ["A", "B"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (False, True)

    names, info = await venues(execute, first=2, after=info["endCursor"])
    assert names == ["C", "D"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, True)

    names, info = await venues(execute, first=2, after=info["endCursor"])
    assert names == ["E"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, False)

    # Past the end: an empty page still knows there is something before it.
    names, info = await venues(execute, first=2, after=info["endCursor"])
    assert names == []
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, False)
    assert info["startCursor"] is info["endCursor"] is None


@pytest.mark.usefixtures("five")
async def test_backward_pages_have_right_flags_on_both_sides(execute):
    names, info = await venues(execute, last=2)
    assert names == ["D", "E"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, False)

    names, info = await venues(execute, last=2, before=info["startCursor"])
    assert names == ["B", "C"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, True)

    names, info = await venues(execute, last=2, before=info["startCursor"])
    assert names == ["A"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (False, True)


@pytest.mark.usefixtures("five")
async def test_after_and_before_together_bound_the_page(execute):
    _, first_page = await venues(execute, first=1)  # ends at A
    _, last_page = await venues(execute, last=1)  # starts at E

    names, info = await venues(
        execute, first=10, after=first_page["endCursor"], before=last_page["startCursor"]
    )
    assert names == ["B", "C", "D"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, True)

    names, info = await venues(
        execute, last=2, after=first_page["endCursor"], before=last_page["startCursor"]
    )
    assert names == ["C", "D"]
    assert (info["hasPreviousPage"], info["hasNextPage"]) == (True, True)


async def test_default_page_size_is_20(session, execute):
    for _ in range(21):
        await make_venue(session)
    names, info = await venues(execute)
    assert len(names) == 20
    assert info["hasNextPage"] is True


@pytest.mark.usefixtures("five")
async def test_first_zero_returns_no_edges_but_knows_more_exist(execute):
    names, info = await venues(execute, first=0)
    assert names == []
    assert info["hasNextPage"] is True


@pytest.mark.parametrize(
    ("variables", "field", "text"),
    [
        ({"first": 2, "last": 2}, "last", "not both"),
        ({"first": 101}, "first", "between 0 and 100; got 101"),
        ({"first": -1}, "first", "between 0 and 100; got -1"),
        ({"last": 500}, "last", "between 0 and 100; got 500"),
        ({"after": "garbage"}, "after", "not a valid cursor"),
        ({"before": "garbage"}, "before", "not a valid cursor"),
    ],
)
async def test_bad_relay_arguments_are_bad_user_input(execute, variables, field, text):
    error = await error_of(execute, **variables)
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert text in error.message


def forged(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        forged("Venue.NAME_ASC", "A", "not-a-uuid"),
        forged("Venue.CREATED_AT_ASC", "yesterday", "0190a6a0-0000-7000-8000-000000000000"),
        forged(
            "Venue.CREATED_AT_ASC", "2030-01-01T00:00:00", "0190a6a0-0000-7000-8000-000000000000"
        ),
        forged("Venue.CREATED_AT_ASC", 17, "0190a6a0-0000-7000-8000-000000000000"),
        forged("Venue.CREATED_AT_ASC", None, "0190a6a0-0000-7000-8000-000000000000"),
        forged("Venue.CREATED_AT_ASC", "2030-01-01T00:00:00+00:00"),
        forged({"an": "object"}),
    ],
)
async def test_cursors_with_wrong_types_or_shape_are_bad_user_input(execute, cursor):
    error = await error_of(execute, first=2, after=cursor, orderBy="CREATED_AT_ASC")
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


@pytest.mark.usefixtures("five")
async def test_a_cursor_of_another_order_is_refused(execute):
    _, info = await venues(execute, first=1, orderBy="NAME_ASC")
    error = await error_of(execute, first=1, after=info["endCursor"], orderBy="NAME_DESC")
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_rows_inserted_between_pages_neither_repeat_nor_skip(session, execute):
    for name in ["b", "d", "f", "h"]:
        await make_venue(session, name=name)

    names, info = await venues(execute, first=2, orderBy="NAME_ASC")
    assert names == ["b", "d"]
    # One lands before the cursor (already passed), one after it (still ahead), one ties
    # with the cursor row's name (the id tie-break puts it after the existing "d").
    await make_venue(session, name="a")
    await make_venue(session, name="e")
    await make_venue(session, name="d")
    names, info = await venues(execute, first=10, after=info["endCursor"], orderBy="NAME_ASC")
    assert names == ["d", "e", "f", "h"]
    assert info["hasPreviousPage"] is True

    # And backwards from the end, in a descending order.
    names, info = await venues(execute, first=3, orderBy="NAME_DESC")
    assert names == ["h", "f", "e"]
    await make_venue(session, name="g")  # before the cursor in this order: already passed
    await make_venue(session, name="c")
    names, info = await venues(execute, first=10, after=info["endCursor"], orderBy="NAME_DESC")
    assert names == ["d", "d", "c", "b", "a"]


async def test_every_order_pages_through_every_row_once_both_ways(session, execute):
    rates = ["30.00", "10.00", "30.00", "20.00", "10.00", "30.00", "50.00"]
    for index, rate in enumerate(rates):
        await make_venue(session, name=f"v{index % 3}", hourly_rate=Decimal(rate))
    for order in ["CREATED_AT_ASC", "CREATED_AT_DESC", "NAME_ASC", "NAME_DESC",
                  "HOURLY_RATE_ASC", "HOURLY_RATE_DESC"]:  # fmt: skip
        everything, _ = await venues(execute, first=100, orderBy=order)
        forward, after = [], None
        while True:
            names, info = await venues(execute, first=2, after=after, orderBy=order)
            forward += names
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        backward: list[str] = []
        before = None
        while True:
            names, info = await venues(execute, last=3, before=before, orderBy=order)
            backward = names + backward
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
        assert forward == backward == everything, order
        assert len(everything) == len(rates)


MEDIA = """
query Media($first: Int, $after: String, $last: Int, $before: String, $orderBy: MediaOrder) {
  media(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    edges { node { title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_a_nullable_key_sorts_nulls_last_and_pages_both_ways(session, execute):
    venue = await make_venue(session)
    shot = dt.datetime(2030, 5, 1, tzinfo=dt.UTC)
    for title, hours in [("n1", None), ("t2", 2), ("n2", None), ("t1", 1), ("t3", 3)]:
        captured_at = None if hours is None else shot + dt.timedelta(hours=hours)
        await make_media(session, venue=venue, title=title, captured_at=captured_at)

    async def titles(**variables):
        result = await execute(MEDIA, variables)
        assert result.errors is None, result.errors
        connection = result.data["media"]
        return [e["node"]["title"] for e in connection["edges"]], connection["pageInfo"]

    for order, expected in [
        ("CAPTURED_AT_ASC", ["t1", "t2", "t3", "n1", "n2"]),
        # Descending is ascending reversed, ties too, but for the nulls, which stay last.
        ("CAPTURED_AT_DESC", ["t3", "t2", "t1", "n2", "n1"]),
    ]:
        forward, after = [], None
        for _ in range(5):
            names, info = await titles(first=2, after=after, orderBy=order)
            forward += names
            after = info["endCursor"]
            if not info["hasNextPage"]:
                break
        backward: list[str] = []
        before = None
        for _ in range(5):
            names, info = await titles(last=2, before=before, orderBy=order)
            backward = names + backward
            before = info["startCursor"]
            if not info["hasPreviousPage"]:
                break
        assert forward == backward == expected, order


async def test_a_computed_sort_key_pages_like_a_column(session):
    """What `RELEVANCE` and `DISTANCE` will be: an expression selected beside the row."""
    for name in ["aaaa", "b", "cc", "ddd", "ee", "f"]:
        await make_venue(session, name=name)
    length = func.length(models.Venue.name)
    ordering = Ordering(
        "test.NAME_LENGTH",
        (
            SortKey(length, KeyKind.INTEGER, descending=True),
            SortKey.column(models.Venue.id, KeyKind.UUID),
        ),
    )
    db = RequestDatabase(session)
    statement = select(models.Venue)
    seen: list[tuple[str, int]] = []
    after = None
    while True:
        window = page_window(ordering, first=2, after=after)
        page: Page[models.Venue] = await fetch_page(
            db, statement, ordering=ordering, window=window, extras={"length": length}
        )
        seen += [(row.row.name, row.extras["length"]) for row in page.rows]
        if not page.has_next_page:
            break
        after = page.rows[-1].cursor
    assert seen == [("aaaa", 4), ("ddd", 3), ("cc", 2), ("ee", 2), ("b", 1), ("f", 1)]


async def test_soft_deleted_rows_do_not_count_towards_the_flags(session, execute):
    first, second = await make_venue(session, name="A"), await make_venue(session, name="B")
    _, info = await venues(execute, first=1)
    await models.soft_delete(session, first)
    # The cursor row is gone and nothing live precedes the next page.
    names, info = await venues(execute, first=1, after=info["endCursor"])
    assert names == ["B"]
    assert info["hasPreviousPage"] is False
    assert second.deleted_at is None


TOTAL = """
query Venues($first: Int, $filter: VenueFilter) {
  venues(first: $first, filter: $filter) { totalCount edges { node { name } } }
}
"""

WITHOUT_TOTAL = """
query Venues($first: Int, $filter: VenueFilter) {
  venues(first: $first, filter: $filter) { edges { node { name } } }
}
"""


async def test_total_count_counts_the_filtered_list_only_when_selected(
    session, execute, count_statements
):
    for index in range(5):
        await make_venue(session, city="Lyon" if index % 2 else "Paris")
    await models.soft_delete(session, await make_venue(session, city="Paris"))
    variables = {"first": 1, "filter": {"city": "Paris"}}

    with count_statements as without:
        result = await execute(WITHOUT_TOTAL, variables, paths="loaders")
    assert result.errors is None
    statements_without_total = without.count
    with count_statements as counted:
        result = await execute(TOTAL, variables, paths="loaders")
    assert result.errors is None

    assert result.data["venues"]["totalCount"] == 3
    assert len(result.data["venues"]["edges"]) == 1
    assert statements_without_total == 1
    assert counted.count == 2
    assert "count(*)" in counted.statements[-1]


async def test_total_count_with_include_deleted_counts_deleted_rows(session, execute):
    admin = await make_user(session, role="admin")
    await make_venue(session)
    await models.soft_delete(session, await make_venue(session))
    query = "{ venues(includeDeleted: true) { totalCount } live: venues { totalCount } }"
    result = await execute(query, viewer=viewer_of(admin))
    assert result.errors is None
    assert result.data == {"venues": {"totalCount": 2}, "live": {"totalCount": 1}}
