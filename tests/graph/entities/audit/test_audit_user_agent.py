"""A client's User-Agent, however long or odd, never fails the write the audit trail records.

The audit trail keeps at most 512 characters of it, as login sessions do; `set_actor` cuts it
(and drops NUL, which PostgreSQL text cannot hold) and the trigger bounds it again for writes
made without `set_actor`.
"""

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.global_id import encode_global_id
from models import AuditLog, LoginSession
from models.audit import MAX_USER_AGENT_LENGTH
from tests.factories import make_booking, make_login_session, make_user, make_venue

LONG_AGENT = "Mozilla/5.0 (" + "x" * 9_986 + ")"
TOKEN = "agent-token"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { user { id } token } }
"""
UPDATE_PROFILE = """
mutation Rename($input: UpdateProfileInput!) { updateProfile(input: $input) { user { id } } }
"""
UPDATE_PREFERENCES = """
mutation Prefer($patch: JSON!) { updatePreferences(input: {patch: $patch}) { user { id } } }
"""
CREATE_VENUE = """
mutation Open($input: CreateVenueInput!) { createVenue(input: $input) { venue { id } } }
"""
CREATE_BOOKING = """
mutation Book($input: CreateBookingInput!) { createBooking(input: $input) { booking { id } } }
"""
CANCEL_BOOKING = """
mutation Cancel($id: ID!) { cancelBooking(input: {id: $id}) { booking { id status } } }
"""
VENUE_INPUT = {
    "name": "Atelier Nord",
    "description": "A bright studio.",
    "address": "5 Rue des Arts",
    "city": "Lyon",
    "country": "FR",
    "location": {"latitude": 45.764, "longitude": 4.8357},
    "hourlyRate": "42.50",
    "currency": "EUR",
}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], *, agent: str | bytes
) -> dict[str, Any]:
    """POST an operation as the signed-in user with `agent` as User-Agent; the JSON body."""
    response = await client.post(
        "/graphql",
        headers=[
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"user-agent", agent if isinstance(agent, bytes) else agent.encode()),
        ],
        json={"query": query, "variables": variables},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def agents_recorded(session: AsyncSession, record_id: uuid.UUID) -> list[str | None]:
    statement = select(AuditLog.user_agent).where(AuditLog.record_id == record_id)
    return list((await session.execute(statement)).scalars())


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []


async def test_sign_up_with_a_10000_character_user_agent_keeps_its_first_512(
    session, client, caplog
):
    variables = {
        "input": {"email": "long@example.test", "password": "correct horse", "displayName": "L"}
    }
    with caplog.at_level(logging.INFO):
        response = await client.post(
            "/graphql",
            headers={"User-Agent": LONG_AGENT},
            json={"query": SIGN_UP, "variables": variables},
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "errors" not in body, body
    user_id = (
        await session.execute(
            text("SELECT id FROM users WHERE email = :e"), {"e": "long@example.test"}
        )
    ).scalar_one()
    assert await agents_recorded(session, user_id) == [LONG_AGENT[:MAX_USER_AGENT_LENGTH]]
    login = (
        await session.execute(select(LoginSession).where(LoginSession.user_id == user_id))
    ).scalar_one()
    assert login.user_agent == LONG_AGENT[:MAX_USER_AGENT_LENGTH]  # the same cut as sessions
    assert_no_error_logged(caplog)


@pytest.mark.parametrize(
    "agent",
    [
        pytest.param(LONG_AGENT, id="10000-characters"),
        pytest.param("x" * MAX_USER_AGENT_LENGTH, id="exactly-512"),
        pytest.param(b"caf\xe9/1.0 \xff", id="latin-1-bytes"),
        pytest.param("nul\x00inside/1.0", id="nul"),
    ],
)
async def test_every_audited_mutation_succeeds_whatever_the_user_agent(
    session, client, caplog, agent
):
    host = await make_user(session, role="host")
    await make_login_session(session, user=host, token=TOKEN)
    other_venue = await make_venue(session)
    booking = await make_booking(session, user=host, venue=other_venue)
    expected = (agent.decode("latin-1") if isinstance(agent, bytes) else agent.replace("\x00", ""))[
        :MAX_USER_AGENT_LENGTH
    ]

    with caplog.at_level(logging.INFO):
        await post(client, UPDATE_PROFILE, {"input": {"displayName": "Renamed"}}, agent=agent)
        await post(client, UPDATE_PREFERENCES, {"patch": {"theme": "dark"}}, agent=agent)
        opened = await post(client, CREATE_VENUE, {"input": VENUE_INPUT}, agent=agent)
        booked = await post(
            client,
            CREATE_BOOKING,
            {
                "input": {
                    "venueId": encode_global_id("Venue", other_venue.id),
                    "startsAt": "2031-05-01T10:00:00+00:00",
                    "endsAt": "2031-05-01T12:00:00+00:00",
                }
            },
            agent=agent,
        )
        cancelled = await post(
            client, CANCEL_BOOKING, {"id": encode_global_id("Booking", booking.id)}, agent=agent
        )

    assert opened["data"]["createVenue"]["venue"]["id"]
    assert booked["data"]["createBooking"]["booking"]["id"]
    assert cancelled["data"]["cancelBooking"]["booking"]["status"] == "CANCELLED"
    written = await session.execute(
        select(AuditLog.table_name, AuditLog.action, AuditLog.user_agent)
        .where(AuditLog.user_id == host.id)
        .order_by(AuditLog.seq)
    )
    assert [tuple(row) for row in written] == [
        ("users", "UPDATE", expected),
        ("users", "UPDATE", expected),
        ("venues", "INSERT", expected),
        ("bookings", "INSERT", expected),
        ("bookings", "UPDATE", expected),
    ]
    assert_no_error_logged(caplog)


async def test_the_trigger_bounds_the_actor_set_without_set_actor(session):
    # A script setting the settings itself (no `set_actor`) cannot fail its writes either.
    await session.execute(
        text(
            "SELECT set_config('app.current_user_agent', :agent, true),"
            " set_config('app.current_user_email', :email, true)"
        ),
        {"agent": LONG_AGENT, "email": "e" * 400 + "@example.test"},
    )
    venue = await make_venue(session)

    (row,) = (
        await session.execute(select(AuditLog).where(AuditLog.record_id == venue.id))
    ).scalars()
    assert row.user_agent == LONG_AGENT[:512]
    assert row.user_email == ("e" * 400)[:320]


@pytest.fixture
async def scoped_client(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client connecting from a link-local IPv6 address with a zone, as a server reports it."""
    transport = httpx.ASGITransport(app=app, client=("fe80::1%" + "eth" * 100, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_an_ipv6_zone_in_the_client_address_does_not_fail_audited_writes(
    session, scoped_client, caplog
):
    host = await make_user(session, role="host")
    await make_login_session(session, user=host, token=TOKEN)

    with caplog.at_level(logging.INFO):
        await post(scoped_client, UPDATE_PROFILE, {"input": {"displayName": "Zoned"}}, agent="z")
        await post(scoped_client, CREATE_VENUE, {"input": VENUE_INPUT}, agent="z")

    written = await session.execute(
        select(AuditLog.ip_address).where(AuditLog.user_id == host.id).order_by(AuditLog.seq)
    )
    assert [str(address) for address in written.scalars()] == ["fe80::1", "fe80::1"]
    assert_no_error_logged(caplog)
