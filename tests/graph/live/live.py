"""Helpers for subscription tests: committed rows, a served app, a graphql-transport-ws client.

Notifications are sent at commit, so these tests commit their rows (on their own database
connections, not the rolled-back test session) and delete what they made at the end.
"""

import asyncio
import contextlib
import datetime as dt
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from graph.core.global_id import encode_global_id
from models import Booking, LoginSession, User, Venue
from tests.factories import make_login_session, make_user, make_venue

PROTOCOL = "graphql-transport-ws"
WAIT_SECONDS = 5.0

AVAILABILITY = """
subscription Availability($venueId: ID!, $from: DateTime!, $to: DateTime!) {
  venueAvailability(venueId: $venueId, from: $from, to: $to) {
    venueId reason busy { startsAt endsAt }
  }
}
"""

BOOKING_CHANGES = """
subscription BookingChanges {
  bookingChanges { kind bookingId booking { id status notes user { id email } } }
}
"""

SESSION_REVOKED = "subscription Revoked { sessionRevoked { sessionId current } }"

CREATE_BOOKING = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } }
}
"""

CANCEL_BOOKING = """
mutation Cancel($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } }
}
"""


class World:
    """Committed users, venues and tokens of one test, deleted at its end."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.user_ids: list[uuid.UUID] = []
        self.venue_ids: list[uuid.UUID] = []

    async def user(self, role: str = "member") -> tuple[User, str]:
        """A committed user and a bearer token of theirs."""
        user = await make_user(self.session, role=role)
        token = secrets.token_urlsafe(32)
        await make_login_session(self.session, user=user, token=token)
        await self.session.commit()
        self.user_ids.append(user.id)
        return user, token

    async def venue(self, owner: User) -> Venue:
        """A committed venue of `owner`."""
        venue = await make_venue(self.session, owner=owner)
        await self.session.commit()
        self.venue_ids.append(venue.id)
        return venue

    async def clean(self) -> None:
        """Delete every row the test made (bookings first: they restrict the rest)."""
        await self.session.rollback()
        await self.session.execute(
            delete(Booking).where(
                or_(Booking.venue_id.in_(self.venue_ids), Booking.user_id.in_(self.user_ids))
            )
        )
        await self.session.execute(delete(Venue).where(Venue.id.in_(self.venue_ids)))
        await self.session.execute(
            delete(LoginSession).where(LoginSession.user_id.in_(self.user_ids))
        )
        await self.session.execute(delete(User).where(User.id.in_(self.user_ids)))
        await self.session.commit()


@asynccontextmanager
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    """A `World` on its own committing session."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        made = World(session)
        try:
            yield made
        finally:
            await made.clean()


def gid(type_name: str, row_id: uuid.UUID) -> str:
    """The global ID clients see."""
    return encode_global_id(type_name, row_id)


def slot(days: int, hours: int = 2) -> tuple[dt.datetime, dt.datetime]:
    """A span `days` from now (at a whole hour), `hours` long."""
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(
        minute=0, second=0, microsecond=0
    )
    return start, start + dt.timedelta(hours=hours)


class LiveClient:
    """One graphql-transport-ws connection."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def receive(self, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.socket.recv(), seconds))

    async def subscribe(
        self, operation_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})

    async def next_data(self, operation_id: str, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
        """The data of the next `next` message of `operation_id` (failing on anything else)."""
        message = await self.receive(seconds)
        assert message.get("id") == operation_id, message
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    async def nothing(self, seconds: float = 0.7) -> None:
        """No message arrives within `seconds`."""
        try:
            message = await asyncio.wait_for(self.socket.recv(), seconds)
        except TimeoutError:
            return
        pytest.fail(f"unexpected message: {message!r}")

    async def closed(self, seconds: float = WAIT_SECONDS) -> tuple[int | None, str | None]:
        """Wait for the server's close; its code and reason."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.socket.recv(), seconds)
        return self.socket.close_code, self.socket.close_reason


def ws_url(base_url: str) -> str:
    """The websocket URL of /graphql at `base_url`."""
    return base_url.replace("http://", "ws://", 1) + "/graphql"


@asynccontextmanager
async def live_client(
    base_url: str, token: str | None = None, *, init: dict[str, Any] | None = None
) -> AsyncIterator[LiveClient]:
    """A connection acknowledged after `connection_init` with `token` (or `init` as payload)."""
    async with connect(
        ws_url(base_url), subprotocols=[Subprotocol(PROTOCOL)], open_timeout=WAIT_SECONDS
    ) as socket:
        client = LiveClient(socket)
        payload = (
            init if init is not None else ({"Authorization": f"Bearer {token}"} if token else {})
        )
        await client.send({"type": "connection_init", "payload": payload})
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client


async def graphql(
    base_url: str, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    """POST an operation; the response's JSON."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_SECONDS) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    return response.json()


async def book(
    base_url: str, token: str, venue: Venue, span: tuple[dt.datetime, dt.datetime]
) -> str:
    """Book `venue` for `span` through `createBooking`; the booking's global ID."""
    answer = await graphql(
        base_url,
        CREATE_BOOKING,
        {
            "input": {
                "venueId": gid("Venue", venue.id),
                "startsAt": span[0].isoformat(),
                "endsAt": span[1].isoformat(),
            }
        },
        token,
    )
    assert "errors" not in answer, answer
    return answer["data"]["createBooking"]["booking"]["id"]
