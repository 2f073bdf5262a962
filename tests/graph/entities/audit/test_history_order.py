"""History reads in the order changes committed, even when a writer waited for another's lock.

A transaction that starts first but updates a row after another transaction committed its own
change to that row used to be stamped earlier (`now()` is the transaction's start), so its
change showed as older than the one it followed. The trigger now stamps and numbers audit rows
once the row lock is held. The rows these tests race over are committed through the `engine`
fixture (every connection must see them) and deleted afterwards.
"""

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.cursors import KeyKind, encode_cursor
from graph.core.global_id import encode_global_id
from graph.core.loaders import HISTORY_ORDERING
from graph.http.app import create_app
from models.settings import Settings
from tests.factories import make_booking, make_login_session, make_user, make_venue

BOOKINGS_PER_ROUND = 20
ROUNDS = 3
CONFIRM = "mutation C($id: ID!) { confirmBooking(input: {id: $id}) { booking { status } } }"
CANCEL = "mutation X($id: ID!) { cancelBooking(input: {id: $id}) { booking { status } } }"
HISTORY = """
query History($id: ID!) {
  node(id: $id) {
    ... on Booking {
      status
      history(first: 10) {
        totalCount
        edges { cursor node { action oldData newData createdAt } }
      }
    }
  }
}
"""


@dataclass
class Committed:
    """A host's venue, a guest, and pending bookings of the guest at that venue."""

    host_token: str
    guest_token: str
    booking_ids: list[uuid.UUID]


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        guest = await make_user(setup)
        venue = await make_venue(setup, owner=host)
        await make_login_session(setup, user=host, token=f"host-{venue.id}")
        await make_login_session(setup, user=guest, token=f"guest-{venue.id}")
        start = dt.datetime(2032, 1, 1, 10, tzinfo=dt.UTC)
        bookings = [
            await make_booking(
                setup, user=guest, venue=venue, starts_at=start + dt.timedelta(days=n)
            )
            for n in range(BOOKINGS_PER_ROUND * ROUNDS + 1)
        ]
        await setup.commit()
    booking_ids = [booking.id for booking in bookings]
    try:
        yield Committed(f"host-{venue.id}", f"guest-{venue.id}", booking_ids)
    finally:
        async with engine.begin() as connection:
            users = [host.id, guest.id]
            await connection.execute(
                text("DELETE FROM bookings WHERE venue_id = :venue"), {"venue": venue.id}
            )
            await connection.execute(text("DELETE FROM venues WHERE id = :id"), {"id": venue.id})
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = ANY(:users)"), {"users": users}
            )
            await connection.execute(
                text("DELETE FROM users WHERE id = ANY(:users)"), {"users": users}
            )
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = ANY(:ids)"),
                {"ids": [*booking_ids, venue.id, *users]},
            )


@pytest.fixture
async def racing_client(test_database) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a pool of its own, a connection per racing request, none shared."""
    settings = Settings(
        database_url=test_database.url, db_pool_size=2 * BOOKINGS_PER_ROUND, db_max_overflow=0
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60
        ) as client,
    ):
        yield client


async def post(
    client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"},
        json={"query": query, "variables": variables},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


async def history_of(
    client: httpx.AsyncClient, token: str, booking_id: uuid.UUID
) -> tuple[str, list[dict[str, Any]]]:
    """The booking's status and its history, newest first, as the host reads them."""
    body = await post(client, token, HISTORY, {"id": encode_global_id("Booking", booking_id)})
    assert "errors" not in body, body
    node = body["data"]["node"]
    assert node["history"]["totalCount"] == len(node["history"]["edges"])
    return node["status"], [edge["node"] for edge in node["history"]["edges"]]


def statuses_newest_first(events: list[dict[str, Any]]) -> list[str]:
    """The status each event left the booking in, newest first; each update must follow on."""
    for newer, older in itertools.pairwise(events):
        # An update starts from the status the event before it left.
        assert newer["oldData"]["status"] == older["newData"]["status"], events
    times = [dt.datetime.fromisoformat(event["createdAt"]) for event in events]
    assert times == sorted(times, reverse=True), events
    return [event["newData"]["status"] for event in events]


async def test_a_change_that_waited_for_the_lock_is_newer_than_the_one_it_waited_for(
    engine, committed, client
):
    booking_id = committed.booking_ids[-1]
    update = text("UPDATE bookings SET status = :to WHERE id = :id AND status = ANY(:allowed)")
    async with engine.connect() as cancelling, engine.connect() as confirming:
        # The cancelling transaction starts first: `now()` is fixed before the confirmation.
        await cancelling.execute(text("SELECT now()"))
        await confirming.execute(
            update, {"to": "confirmed", "id": booking_id, "allowed": ["pending"]}
        )
        waiting = asyncio.create_task(
            cancelling.execute(
                update,
                {"to": "cancelled", "id": booking_id, "allowed": ["pending", "confirmed"]},
            )
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the confirmation's row lock
        await confirming.commit()
        assert (await waiting).rowcount == 1
        await cancelling.commit()

    status, events = await history_of(client, committed.host_token, booking_id)

    assert status == "CANCELLED"
    assert [event["action"] for event in events] == ["UPDATE", "UPDATE", "INSERT"]
    assert statuses_newest_first(events) == ["cancelled", "confirmed", "pending"]


async def test_racing_confirm_and_cancel_leave_a_history_in_commit_order(committed, racing_client):
    outcomes: dict[str, int] = {}
    for round_number in range(ROUNDS):
        ids = committed.booking_ids[
            round_number * BOOKINGS_PER_ROUND : (round_number + 1) * BOOKINGS_PER_ROUND
        ]
        requests = []
        for booking_id in ids:
            variables = {"id": encode_global_id("Booking", booking_id)}
            requests.append(post(racing_client, committed.host_token, CONFIRM, variables))
            requests.append(post(racing_client, committed.guest_token, CANCEL, variables))
        bodies = await asyncio.gather(*requests)

        for n, booking_id in enumerate(ids):
            confirmed, cancelled = bodies[2 * n], bodies[2 * n + 1]
            # Cancelling works from PENDING and CONFIRMED: it always goes through.
            assert cancelled.get("errors") is None, cancelled
            confirm_won = confirmed.get("errors") is None
            if not confirm_won:
                assert [e["extensions"]["code"] for e in confirmed["errors"]] == [
                    "INVALID_TRANSITION"
                ]

            status, events = await history_of(racing_client, committed.host_token, booking_id)

            assert status == "CANCELLED"
            statuses = statuses_newest_first(events)
            # The newest event is the state the booking is in; the commits, in order, below.
            if confirm_won:
                assert statuses == ["cancelled", "confirmed", "pending"]
            else:
                assert statuses == ["cancelled", "pending"]
            outcomes[" > ".join(statuses)] = outcomes.get(" > ".join(statuses), 0) + 1
    assert sum(outcomes.values()) == ROUNDS * BOOKINGS_PER_ROUND


async def test_history_pages_follow_the_commit_order(engine, committed, client):
    booking_id = committed.booking_ids[0]
    async with engine.begin() as connection:
        for status in ("confirmed", "pending", "confirmed", "cancelled"):
            await connection.execute(
                text("UPDATE bookings SET status = :s WHERE id = :id"),
                {"s": status, "id": booking_id},
            )
    query = """
    query Page($id: ID!, $after: String) {
      node(id: $id) { ... on Booking { history(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { newData } }
      } } }
    }
    """
    seen: list[str] = []
    after = None
    while True:
        body = await post(
            client,
            committed.host_token,
            query,
            {"id": encode_global_id("Booking", booking_id), "after": after},
        )
        page = body["data"]["node"]["history"]
        seen += [edge["node"]["newData"]["status"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # One transaction, one `now()`: only the sequence tells these apart.
    assert seen == ["cancelled", "confirmed", "pending", "confirmed", "pending"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        encode_global_id("Booking", uuid.uuid4()),
        encode_cursor(HISTORY_ORDERING.name, (KeyKind.INTEGER,), (-1,)),
        encode_cursor(HISTORY_ORDERING.name, (KeyKind.INTEGER,), (2**63,)),  # past bigint
        encode_cursor(HISTORY_ORDERING.name, (KeyKind.TEXT,), ("1" * 5000,)),
    ],
)
async def test_a_bad_history_cursor_is_bad_user_input(committed, client, cursor):
    body = await post(
        client,
        committed.host_token,
        "query($id: ID!, $after: String) { node(id: $id) { ... on Booking {"
        " history(after: $after) { totalCount } } } }",
        {"id": encode_global_id("Booking", committed.booking_ids[0]), "after": cursor},
    )

    assert [error["extensions"] for error in body["errors"]] == [
        {"code": "BAD_USER_INPUT", "field": "after"}
    ]
