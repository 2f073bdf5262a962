"""Subscriptions over graphql-transport-ws against the served app, on real PostgreSQL.

A booking made through `createBooking` over HTTP reaches the websocket subscribers who may see
it, read with each subscriber's own viewer; availability is public and re-sent on changes and
after the listener reconnects.
"""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from graph.http.app import create_app
from models.settings import Settings
from tests.graph.live.live import (
    AVAILABILITY,
    BOOKING_CHANGES,
    CANCEL_BOOKING,
    SESSION_REVOKED,
    book,
    gid,
    graphql,
    live_client,
    slot,
    world,
)
from tests.graph.serving import served_over_tcp


@pytest.fixture(scope="module")
def server(test_database) -> Iterator[str]:
    """The app served over TCP on the test database (its own pool: rows are committed)."""
    application = create_app(Settings(database_url=test_database.url, graphiql=False))
    with served_over_tcp(application) as base_url:
        yield base_url


def window(days: int) -> dict[str, str]:
    start, _ = slot(days, hours=0)
    end, _ = slot(days + 1, hours=0)
    return {"from": start.isoformat(), "to": end.isoformat()}


async def test_availability_is_sent_then_resent_when_a_booking_is_made_and_cancelled(
    server, engine
):
    async with world(engine) as made:
        host, _ = await made.user("host")
        _, token = await made.user()
        venue = await made.venue(host)
        span = slot(10)
        async with live_client(server) as anonymous:
            await anonymous.subscribe(
                "a", AVAILABILITY, {"venueId": gid("Venue", venue.id), **window(10)}
            )
            first = await anonymous.next_data("a")
            assert first["venueAvailability"]["reason"] == "INITIAL"
            assert first["venueAvailability"]["busy"] == []

            booking_id = await book(server, token, venue, span)
            booked = (await anonymous.next_data("a"))["venueAvailability"]
            assert booked["reason"] == "BOOKING_CHANGED"
            assert len(booked["busy"]) == 1
            # Intervals only: nothing about the guest.
            assert set(booked["busy"][0]) == {"startsAt", "endsAt"}

            answer = await graphql(server, CANCEL_BOOKING, {"input": {"id": booking_id}}, token)
            assert "errors" not in answer, answer
            cancelled = (await anonymous.next_data("a"))["venueAvailability"]
            assert cancelled["busy"] == []
            # A booking outside the window says nothing.
            await book(server, token, venue, slot(20))
            await anonymous.nothing()


async def test_booking_changes_reach_exactly_the_viewers_who_may_see_them(server, engine):
    async with world(engine) as made:
        host, host_token = await made.user("host")
        _, other_host_token = await made.user("host")
        _, admin_token = await made.user("admin")
        guest, guest_token = await made.user()
        _, stranger_token = await made.user()
        venue = await made.venue(host)
        async with (
            live_client(server, guest_token) as as_guest,
            live_client(server, host_token) as as_host,
            live_client(server, other_host_token) as as_other_host,
            live_client(server, admin_token) as as_admin,
            live_client(server, stranger_token) as as_stranger,
        ):
            for client in (as_guest, as_host, as_other_host, as_admin, as_stranger):
                await client.subscribe("b", BOOKING_CHANGES)
            booking_id = await book(server, guest_token, venue, slot(11))

            for client in (as_guest, as_host, as_admin):
                change = (await client.next_data("b"))["bookingChanges"]
                assert change["kind"] == "CREATED"
                assert change["bookingId"] == booking_id
                assert change["booking"]["status"] == "PENDING"
                assert change["booking"]["user"]["email"] == guest.email
            await as_other_host.nothing(0.3)
            await as_stranger.nothing(0.3)

            answer = await graphql(
                server, CANCEL_BOOKING, {"input": {"id": booking_id}}, guest_token
            )
            assert "errors" not in answer, answer
            change = (await as_host.next_data("b"))["bookingChanges"]
            assert (change["kind"], change["booking"]["status"]) == ("CANCELLED", "CANCELLED")


async def test_anonymous_viewers_may_not_follow_booking_changes(server):
    async with live_client(server) as anonymous:
        await anonymous.subscribe("b", BOOKING_CHANGES)
        message = await anonymous.receive()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_listener_reconnects_and_availability_resyncs(server, engine, test_database):
    async with world(engine) as made:
        host, _ = await made.user("host")
        _, token = await made.user()
        venue = await made.venue(host)
        async with live_client(server) as anonymous:
            await anonymous.subscribe(
                "a", AVAILABILITY, {"venueId": gid("Venue", venue.id), **window(12)}
            )
            assert (await anonymous.next_data("a"))["venueAvailability"]["reason"] == "INITIAL"
            async with engine.connect() as connection:
                terminated = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = :name AND application_name LIKE 'sartiq-graph-listen/%'"
                    ),
                    {"name": test_database.name},
                )
            assert terminated == 1
            resynced = (await anonymous.next_data("a"))["venueAvailability"]
            assert resynced["reason"] == "RESYNC"
            # Listening again: a new booking still arrives.
            await book(server, token, venue, slot(12))
            assert len((await anonymous.next_data("a"))["venueAvailability"]["busy"]) == 1


async def test_a_revoked_session_is_told_then_its_connection_closes(server, engine):
    async with world(engine) as made:
        user, token = await made.user()
        async with live_client(server, token) as signed_in:
            await signed_in.subscribe("s", SESSION_REVOKED)
            await signed_in.nothing(0.3)
            async with engine.connect() as connection:
                await connection.execute(
                    text("UPDATE sessions SET revoked_at = now() WHERE user_id = :user"),
                    {"user": user.id},
                )
                await connection.commit()
            revoked = (await signed_in.next_data("s"))["sessionRevoked"]
            assert revoked["current"] is True
            assert await signed_in.closed() == (4440, "Session ended; sign in again")


async def test_a_deleted_booking_is_announced_without_its_row_to_those_who_could_see_it(
    server, engine
):
    async with world(engine) as made:
        host, host_token = await made.user("host")
        _, guest_token = await made.user()
        _, stranger_token = await made.user()
        venue = await made.venue(host)
        booking_id = await book(server, guest_token, venue, slot(13))
        async with (
            live_client(server, host_token) as as_host,
            live_client(server, stranger_token) as as_stranger,
        ):
            await as_host.subscribe("b", BOOKING_CHANGES)
            await as_stranger.subscribe("b", BOOKING_CHANGES)
            await as_host.nothing(0.3)
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE bookings SET deleted_at = now() WHERE venue_id = :venue"),
                    {"venue": venue.id},
                )
            change = (await as_host.next_data("b"))["bookingChanges"]
            assert change == {"kind": "DELETED", "bookingId": booking_id, "booking": None}
            await as_stranger.nothing(0.3)


async def test_an_expiring_session_closes_its_connection(server, engine):
    async with world(engine) as made:
        user, token = await made.user()
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE sessions SET expires_at = now() + interval '1 second'"
                    " WHERE user_id = :user"
                ),
                {"user": user.id},
            )
        async with live_client(server, token) as signed_in:
            assert await signed_in.closed() == (4440, "Session ended; sign in again")


async def test_queries_run_over_the_websocket_too(server, engine):
    async with world(engine) as made:
        host, _ = await made.user("host")
        venue = await made.venue(host)
        async with live_client(server) as client:
            await client.subscribe(
                "q", "query Q($id: ID!) { venue(id: $id) { name } }", {"id": gid("Venue", venue.id)}
            )
            assert await client.next_data("q") == {"venue": {"name": venue.name}}
            assert await client.receive() == {"id": "q", "type": "complete"}


async def test_a_subscription_over_http_is_refused_with_a_code(server):
    async with httpx.AsyncClient(base_url=server, timeout=5) as http:
        response = await http.post("/graphql", json={"query": SESSION_REVOKED})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_client_offering_compression_gets_an_uncompressed_connection(server):
    # The websockets client offers permessage-deflate, as browsers do; the server as served
    # (graph/http/serving.py) declines it, and the protocol goes on uncompressed.
    async with live_client(server) as client:
        request, response = client.socket.request, client.socket.response
        assert request is not None
        assert response is not None
        assert "permessage-deflate" in (request.headers.get("Sec-WebSocket-Extensions") or "")
        assert response.headers.get("Sec-WebSocket-Extensions") is None
        # Messages still go both ways (this one is refused: a subscription needs a field).
        await client.subscribe("1", "subscription { __typename }")
        answer = await client.receive()
        assert answer["type"] == "error"
        assert answer["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
