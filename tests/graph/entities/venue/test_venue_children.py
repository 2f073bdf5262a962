"""`Venue.bookings` and `Venue.media` take the root lists' arguments and page as they do.

Each child page must be the root list's page of the same ordering and filter narrowed to the
venue (`filter: {venueId}`): the same edges, cursors and pageInfo, forward and backward, so a
cursor of one continues in the other and relay-compiler's `@connection` can page the child.
Over HTTP on the general (loader) path: the compiled path does not take these arguments yet.
"""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from graph.core.global_id import encode_global_id
from graph.entities.booking.inputs import BOOKING_ORDERINGS, BookingOrder
from graph.entities.media.inputs import MEDIA_ORDERINGS, MediaOrder
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.serving import serving

PAGE = """
  totalCount
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id } }
"""
ARGUMENTS = (
    "first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy"
)


def child_query(field: str, filter_type: str, order_type: str) -> str:
    """The venue's `field` connection, every argument a variable."""
    return f"""
    query Child($id: ID!, $first: Int, $after: String, $last: Int, $before: String,
                $filter: {filter_type}, $orderBy: {order_type}) {{
      venue(id: $id) {{ {field}({ARGUMENTS}) {{ {PAGE} }} }}
    }}"""


def root_query(field: str, filter_type: str, order_type: str) -> str:
    """The root `field` list, every argument a variable."""
    return f"""
    query Root($first: Int, $after: String, $last: Int, $before: String,
               $filter: {filter_type}, $orderBy: {order_type}) {{
      {field}({ARGUMENTS}) {{ {PAGE} }}
    }}"""


LISTS = {
    "bookings": (
        child_query("bookings", "BookingFilter", "BookingOrder"),
        root_query("bookings", "BookingFilter", "BookingOrder"),
    ),
    "media": (
        child_query("media", "MediaFilter", "MediaOrder"),
        root_query("media", "MediaFilter", "MediaOrder"),
    ),
}
BOOKING_ORDERS = [
    "STARTS_AT_ASC",
    "STARTS_AT_DESC",
    "CREATED_AT_ASC",
    "CREATED_AT_DESC",
    "AMOUNT_ASC",
    "AMOUNT_DESC",
]
MEDIA_ORDERS = [
    "CREATED_AT_ASC",
    "CREATED_AT_DESC",
    "CAPTURED_AT_ASC",
    "CAPTURED_AT_DESC",
    "TITLE_ASC",
    "TITLE_DESC",
]
START = dt.datetime(2032, 3, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
async def general(test_database, session) -> AsyncIterator[httpx.AsyncClient]:
    """The served app with the compiled path off: these arguments are the loaders' to answer."""
    async with serving(session, database_url=test_database.url, fast_path=False) as http:
        yield http


async def post(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def signed_in(session, role: str, user=None) -> tuple[Any, str]:
    user = user or await make_user(session, role=role)
    token = f"{role}-{user.id}"
    await make_login_session(session, user=user, token=token)
    return user, token


async def world(session) -> dict[str, Any]:
    """Two venues with bookings and media whose sort keys tie and hold nulls, and viewers."""
    _, admin_token = await signed_in(session, "admin")
    member, member_token = await signed_in(session, "member")
    venues = [await make_venue(session), await make_venue(session)]
    statuses = ["pending", "confirmed", "cancelled", "confirmed", "completed", "pending", "pending"]
    hours = [2, 3, 2, 1, 3, 2, 4]  # equal amounts: the id breaks the tie
    for day, (status, length) in enumerate(zip(statuses, hours, strict=True)):
        await make_booking(
            session,
            venue=venues[0],
            user=member if day % 3 == 0 else None,
            starts_at=START + dt.timedelta(days=day),
            hours=length,
            status=status,
        )
    for day in range(3):
        await make_booking(session, venue=venues[1], starts_at=START + dt.timedelta(days=day))
    captured = [None, START, None, START - dt.timedelta(days=2), START, None]
    titles = ["Hall", "Attic", "Hall", "Bar", "Cellar", "Attic"]
    for index, (when, title) in enumerate(zip(captured, titles, strict=True)):
        await make_media(
            session,
            venue=venues[0],
            captured_at=when,
            title=title,
            resource_type="VIDEO" if index % 2 else "IMAGE",
        )
    await make_media(session, venue=venues[1])
    return {
        "venues": [encode_global_id("Venue", venue.id) for venue in venues],
        "tokens": {"admin": admin_token, "member": member_token, "anonymous": None},
    }


async def child_page(
    http: httpx.AsyncClient, field: str, venue: str, arguments: dict[str, Any], token: str | None
) -> dict[str, Any]:
    body = await post(http, LISTS[field][0], {"id": venue, **arguments}, token)
    assert "errors" not in body, body
    return body["data"]["venue"][field]


async def root_page(
    http: httpx.AsyncClient, field: str, venue: str, arguments: dict[str, Any], token: str | None
) -> dict[str, Any]:
    narrowed = {**arguments, "filter": {**(arguments.get("filter") or {}), "venueId": venue}}
    body = await post(http, LISTS[field][1], narrowed, token)
    assert "errors" not in body, body
    return body["data"][field]


async def walk(  # noqa: PLR0913 - which list, which way, as whom
    http: httpx.AsyncClient,
    field: str,
    venue: str,
    arguments: dict[str, Any],
    token: str | None,
    *,
    backward: bool,
) -> list[str]:
    """Page the child connection to its end by its cursors, each page equal to the root's."""
    size = "last" if backward else "first"
    cursor: str | None = None
    seen: list[str] = []
    for _ in range(20):
        step = {**arguments, size: 2, ("before" if backward else "after"): cursor}
        child = await child_page(http, field, venue, step, token)
        assert child == await root_page(http, field, venue, step, token)
        ids = [edge["node"]["id"] for edge in child["edges"]]
        seen = ids + seen if backward else seen + ids
        info = child["pageInfo"]
        if not (info["hasPreviousPage"] if backward else info["hasNextPage"]):
            return seen
        cursor = info["startCursor"] if backward else info["endCursor"]
    pytest.fail("the pages never ended")


async def paged_both_ways(http, field, venue, arguments, token) -> None:
    """Forward and backward walks meet the whole list, in order, each row once."""
    whole = await root_page(http, field, venue, {**arguments, "first": 100}, token)
    everything = [edge["node"]["id"] for edge in whole["edges"]]
    forward = await walk(http, field, venue, arguments, token, backward=False)
    backward = await walk(http, field, venue, arguments, token, backward=True)
    assert forward == everything
    assert backward == everything


@pytest.mark.parametrize("order", BOOKING_ORDERS)
async def test_venue_bookings_page_both_ways_as_the_root_list_does(session, general, order):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    await paged_both_ways(general, "bookings", seeded["venues"][0], {"orderBy": order}, token)


@pytest.mark.parametrize("order", MEDIA_ORDERS)
async def test_venue_media_page_both_ways_as_the_root_list_does(session, general, order):
    seeded = await world(session)
    await paged_both_ways(general, "media", seeded["venues"][0], {"orderBy": order}, None)


@pytest.mark.parametrize(
    ("field", "arguments", "viewer", "expected_total"),
    [
        ("bookings", {"filter": {"status": ["PENDING", "CONFIRMED"]}}, "admin", 5),
        (
            "bookings",
            {"filter": {"startsAt": {"from": "2032-03-02T00:00:00Z"}}, "orderBy": "AMOUNT_DESC"},
            "admin",
            6,
        ),
        ("bookings", {}, "member", 3),  # their own bookings only
        ("bookings", {"filter": {"status": ["PENDING"]}}, "member", 2),
        ("media", {"filter": {"resourceType": "VIDEO"}, "orderBy": "TITLE_ASC"}, "anonymous", 3),
        ("media", {"filter": {"resourceType": "IMAGE"}}, "admin", 3),
    ],
)
async def test_filters_and_totals_are_the_root_lists(  # noqa: PLR0913, PLR0917 - the case and fixtures
    session, general, field, arguments, viewer, expected_total
):
    seeded = await world(session)
    token = seeded["tokens"][viewer]
    venue = seeded["venues"][0]
    page = await child_page(general, field, venue, arguments, token)
    assert page["totalCount"] == expected_total
    assert page == await root_page(general, field, venue, arguments, token)
    await paged_both_ways(general, field, venue, arguments, token)


async def test_without_arguments_the_page_is_unchanged(session, general):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    page = await child_page(general, "bookings", venue, {}, token)
    # Ten at most, earliest start first: the root list's default order and cursors.
    assert page == await root_page(general, "bookings", venue, {"first": 10}, token)
    assert page["totalCount"] == 7
    assert page["pageInfo"]["hasPreviousPage"] is False


async def test_last_pages_from_the_end_without_first(session, general):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    everything = await root_page(general, "bookings", venue, {"first": 100}, token)
    for arguments in ({"last": 3}, {"first": None, "last": 3}):
        page = await child_page(general, "bookings", venue, arguments, token)
        assert page["edges"] == everything["edges"][-3:]
        assert page["pageInfo"]["hasPreviousPage"] is True
        assert page["pageInfo"]["hasNextPage"] is False
    # Neither given (`first` passed as null): the child's default page of 10.
    page = await child_page(general, "bookings", venue, {"first": None}, token)
    assert len(page["edges"]) == 7


async def test_a_cursor_continues_between_child_and_root_list(session, general):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    arguments = {"orderBy": "AMOUNT_ASC", "first": 3}
    child = await child_page(general, "bookings", venue, arguments, token)
    after_child = {**arguments, "after": child["pageInfo"]["endCursor"]}
    root = await root_page(general, "bookings", venue, after_child, token)
    assert root == await child_page(general, "bookings", venue, after_child, token)
    assert root["edges"]
    assert root["pageInfo"]["hasPreviousPage"] is True


ALIASED = """
query Two($id: ID!) {
  venue(id: $id) {
    cheap: bookings(first: 2, orderBy: AMOUNT_ASC) { edges { node { id } } }
    dear: bookings(first: 2, orderBy: AMOUNT_DESC) { edges { node { id } } }
    pending: bookings(first: 2, filter: {status: [PENDING]}) { totalCount }
    all: bookings(first: 2) { totalCount }
  }
}
"""


async def test_different_arguments_in_one_request_load_apart(session, general):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    body = await post(general, ALIASED, {"id": venue}, token)
    assert "errors" not in body, body
    data = body["data"]["venue"]
    for alias, order in (("cheap", "AMOUNT_ASC"), ("dear", "AMOUNT_DESC")):
        root = await root_page(general, "bookings", venue, {"first": 2, "orderBy": order}, token)
        assert data[alias]["edges"] == [{"node": edge["node"]} for edge in root["edges"]]
    assert data["cheap"] != data["dear"]
    assert (data["pending"]["totalCount"], data["all"]["totalCount"]) == (3, 7)


def too_many_tags() -> list[str]:
    return [f"tag{n}" for n in range(21)]


BAD_ARGUMENTS = [
    ("bookings", {"after": "not-a-cursor"}),
    ("bookings", {"before": "not-a-cursor"}),
    ("bookings", {"first": 2, "last": 2}),
    ("bookings", {"first": 101}),
    ("bookings", {"first": -1}),
    ("bookings", {"last": 101}),
    ("bookings", {"filter": {"userId": "not-an-id"}}),
    (
        "bookings",
        {"filter": {"startsAt": {"from": "2032-03-05T00:00:00Z", "to": "2032-03-01T00:00:00Z"}}},
    ),
    ("media", {"orderBy": "RELEVANCE"}),
    ("media", {"orderBy": "DISTANCE"}),
    ("media", {"filter": {"extension": "no such"}}),
    ("media", {"filter": {"tags": too_many_tags()}}),
    ("media", {"last": 2, "first": 2}),
]


@pytest.mark.parametrize(("field", "arguments"), BAD_ARGUMENTS)
async def test_bad_arguments_are_refused_as_the_root_list_refuses_them(
    session, general, field, arguments
):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    child, root = LISTS[field]
    child_body = await post(general, child, {"id": venue, **arguments}, token)
    root_body = await post(general, root, arguments, token)
    assert child_body["data"] == {"venue": None}
    [child_error] = child_body["errors"]
    [root_error] = root_body["errors"]
    assert child_error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (child_error["message"], child_error["extensions"]) == (
        root_error["message"],
        root_error["extensions"],
    )


async def test_a_cursor_of_another_ordering_is_refused_as_by_the_root_list(session, general):
    seeded = await world(session)
    token = seeded["tokens"]["admin"]
    venue = seeded["venues"][0]
    page = await child_page(general, "bookings", venue, {"first": 1}, token)
    other = {"after": page["pageInfo"]["endCursor"], "orderBy": "AMOUNT_DESC"}
    child_body = await post(general, LISTS["bookings"][0], {"id": venue, **other}, token)
    root_body = await post(general, LISTS["bookings"][1], other, token)
    [child_error] = child_body["errors"]
    [root_error] = root_body["errors"]
    assert child_error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
    assert (child_error["message"], child_error["extensions"]) == (
        root_error["message"],
        root_error["extensions"],
    )


MANY_VENUES = """
query Many($venues: Int!, $after: String, $before: String) {
  venues(first: $venues) {
    edges { node {
      bookings(
        first: 2, after: $after, orderBy: AMOUNT_DESC, filter: {status: [PENDING, CONFIRMED]}
      ) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id amount } }
      }
      media(last: 2, before: $before, orderBy: TITLE_ASC, filter: {resourceType: IMAGE}) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage }
        edges { node { id title } }
      }
    } }
  }
}
"""

# The login session, the venues page, the venues' bookings (one window query) and their counts
# (one GROUP BY), the same two for their media.
MANY_VENUES_STATEMENTS = 6


@pytest.mark.parametrize("venues", [1, 5])
async def test_statements_do_not_depend_on_the_number_of_venues(
    session, general, count_statements, venues
):
    _, token = await signed_in(session, "admin")
    for _ in range(venues):
        venue = await make_venue(session)
        for day, hours in enumerate([1, 2, 3, 4]):
            await make_booking(
                session,
                venue=venue,
                starts_at=START + dt.timedelta(days=day),
                hours=hours,
                status="confirmed",
            )
        for title in ("A", "B", "C", "D"):
            await make_media(session, venue=venue, title=title)
    # Cursors hold sort-key values only, so one keyset condition pages every venue alike:
    # after each venue's 200.00 booking (a descending order ties by descending id, so the
    # smallest id is the tie's last), before its "D" photo.
    after = BOOKING_ORDERINGS[BookingOrder.AMOUNT_DESC].cursor(
        [Decimal("200.00"), uuid.UUID(int=0)]
    )
    before = MEDIA_ORDERINGS[MediaOrder.TITLE_ASC].cursor(["D", uuid.UUID(int=0)])

    with count_statements as counted:
        body = await post(
            general, MANY_VENUES, {"venues": venues, "after": after, "before": before}, token
        )

    assert "errors" not in body, body
    edges = body["data"]["venues"]["edges"]
    assert len(edges) == venues
    for edge in edges:
        bookings = edge["node"]["bookings"]
        assert bookings["totalCount"] == 4
        # After the 200.00 booking, dearest first: 150.00 then 100.00; 50.00 remains.
        assert [b["node"]["amount"] for b in bookings["edges"]] == ["150.00", "100.00"]
        assert bookings["pageInfo"]["hasPreviousPage"] is True
        assert bookings["pageInfo"]["hasNextPage"] is True
        media = edge["node"]["media"]
        assert [m["node"]["title"] for m in media["edges"]] == ["B", "C"]
        assert media["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": True}
    assert counted.count == MANY_VENUES_STATEMENTS, "\n\n".join(counted.statements)
