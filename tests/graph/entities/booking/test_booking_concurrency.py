"""Racing requests through the real app, each on its own pooled connection.

The rows these tests race over must be visible to every connection, so they are committed
through the `engine` fixture (not the rolled-back `session`) and deleted again afterwards.
"""

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models.settings import Settings
from tests.factories import make_login_session, make_user, make_venue

RACERS = 50
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } }
}
"""
CONFIRM = "mutation Confirm($id: ID!) { confirmBooking(input: {id: $id}) { booking { status } } }"


@dataclass
class Committed:
    """Committed rows: a host's venue and RACERS guests, each with a bearer token."""

    venue_id: uuid.UUID
    host_token: str
    guest_tokens: list[str]
    user_ids: list[uuid.UUID]


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        venue = await make_venue(setup, owner=host)
        await make_login_session(setup, user=host, token=f"host-{venue.id}")
        guests = [await make_user(setup) for _ in range(RACERS)]
        for n, guest in enumerate(guests):
            await make_login_session(setup, user=guest, token=f"guest-{n}-{venue.id}")
        await setup.commit()
    user_ids = [host.id, *(guest.id for guest in guests)]
    try:
        yield Committed(
            venue_id=venue.id,
            host_token=f"host-{venue.id}",
            guest_tokens=[f"guest-{n}-{venue.id}" for n in range(RACERS)],
            user_ids=user_ids,
        )
    finally:
        async with engine.begin() as connection:
            deleted = await connection.execute(
                text("DELETE FROM bookings WHERE venue_id = :venue RETURNING id"),
                {"venue": venue.id},
            )
            record_ids = [*deleted.scalars(), venue.id, *user_ids]
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = ANY(:users)"), {"users": user_ids}
            )
            await connection.execute(text("DELETE FROM venues WHERE id = :id"), {"id": venue.id})
            await connection.execute(
                text("DELETE FROM users WHERE id = ANY(:users)"), {"users": user_ids}
            )
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = ANY(:ids)"), {"ids": record_ids}
            )


@dataclass
class PoolUse:
    """How many of the app's pooled connections were checked out at once, at most."""

    out: int = 0
    peak: int = 0
    connections: set[int] = field(default_factory=set)


@pytest.fixture
async def real_app(test_database) -> AsyncIterator[tuple[FastAPI, PoolUse]]:
    """The app with its own engine and pool: no session shared between requests."""
    # Every racer reaches the database at once: a pooled connection each, none waits.
    settings = Settings(database_url=test_database.url, db_pool_size=RACERS, db_max_overflow=0)
    application = create_app(settings)
    use = PoolUse()
    async with application.router.lifespan_context(application):
        pool = application.state.engine.sync_engine.pool

        def checkout(dbapi_connection: Any, *_: Any) -> None:
            use.out += 1
            use.peak = max(use.peak, use.out)
            use.connections.add(id(dbapi_connection))

        def checkin(*_: Any) -> None:
            use.out -= 1

        event.listen(pool, "checkout", checkout)
        event.listen(pool, "checkin", checkin)
        yield application, use


async def post_all(
    app: FastAPI, requests: list[tuple[str, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Send every (token, query, variables) request at once; the JSON bodies, in order."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"query": query, "variables": variables},
                )
                for token, query, variables in requests
            )
        )
    assert {response.status_code for response in responses} == {200}
    return [response.json() for response in responses]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_concurrent_overlapping_bookings_let_exactly_one_through(engine, committed, real_app):
    app, pool_use = real_app
    base = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=5)
    # Every slot contains [base + 19 min, base + 3 h): each pair overlaps.
    requests = [
        (
            token,
            CREATE,
            {
                "input": {
                    "venueId": encode_global_id("Venue", committed.venue_id),
                    "startsAt": (base + dt.timedelta(minutes=n)).isoformat(),
                    "endsAt": (base + dt.timedelta(hours=3, minutes=n)).isoformat(),
                }
            },
        )
        for n, token in enumerate(committed.guest_tokens)
    ]

    bodies = await post_all(app, requests)

    booked = [body for body in bodies if "errors" not in body]
    refused = [body for body in bodies if "errors" in body]
    assert len(booked) == 1, bodies
    assert booked[0]["data"]["createBooking"]["booking"]["status"] == "PENDING"
    assert [codes(body) for body in refused] == [["BOOKING_CONFLICT"]] * (RACERS - 1)
    assert {body["data"] for body in refused} == {None}
    async with engine.connect() as connection:
        rows = await connection.scalar(
            text("SELECT count(*) FROM bookings WHERE venue_id = :venue"),
            {"venue": committed.venue_id},
        )
    assert rows == 1
    # The requests really ran side by side, each on a connection of its own.
    assert pool_use.peak > 1
    assert len(pool_use.connections) > 1


async def test_concurrent_confirmations_of_one_booking_let_exactly_one_through(
    engine, committed, real_app
):
    app, _ = real_app
    starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=6)
    (booked,) = await post_all(
        app,
        [
            (
                committed.guest_tokens[0],
                CREATE,
                {
                    "input": {
                        "venueId": encode_global_id("Venue", committed.venue_id),
                        "startsAt": starts_at.isoformat(),
                        "endsAt": (starts_at + dt.timedelta(hours=1)).isoformat(),
                    }
                },
            )
        ],
    )
    booking_id = booked["data"]["createBooking"]["booking"]["id"]

    bodies = await post_all(app, [(committed.host_token, CONFIRM, {"id": booking_id})] * RACERS)

    confirmed = [body for body in bodies if "errors" not in body]
    assert len(confirmed) == 1, bodies
    assert confirmed[0]["data"]["confirmBooking"]["booking"]["status"] == "CONFIRMED"
    refused = [body["errors"][0]["extensions"] for body in bodies if "errors" in body]
    assert refused == [{"code": "INVALID_TRANSITION", "currentStatus": "CONFIRMED"}] * (RACERS - 1)
    async with engine.connect() as connection:
        updates = await connection.scalar(
            text(
                "SELECT count(*) FROM audit_log a JOIN bookings b ON b.id = a.record_id"
                " WHERE b.venue_id = :venue AND a.action = 'UPDATE'"
            ),
            {"venue": committed.venue_id},
        )
    assert updates == 1
