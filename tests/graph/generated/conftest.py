"""Fixtures for generated requests: a small world of rows and tokens, and one way to send."""

import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from graph.core.global_id import encode_global_id
from models.settings import Settings
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.generated import answers
from tests.graph.generated.answers import Sent
from tests.graph.serving import http_client, served_app

ROLES = ("admin", "host", "member")


@dataclass(frozen=True)
class World:
    """Rows for real IDs to point at, and the users who sign in."""

    user_ids: dict[str, uuid.UUID]
    ids: dict[str, str]


@pytest.fixture
async def world(session: AsyncSession) -> World:
    """An admin, a host with a venue, a member with a booking of it and a photo of it."""
    users = {role: await make_user(session, role=role) for role in ROLES}
    venue = await make_venue(session, owner=users["host"])
    booking = await make_booking(session, user=users["member"], venue=venue)
    media = await make_media(session, owner=users["member"], venue=venue, booking=booking)
    login = await make_login_session(session, user=users["member"])
    # Committed (a release of the session's savepoint), so that `send` can roll back whatever
    # a request left half done without losing them; the test's outer transaction still ends
    # in a rollback.
    await session.commit()
    rows = {
        "Venue": venue.id,
        "Booking": booking.id,
        "Media": media.id,
        "User": users["member"].id,
        "Session": login.id,
    }
    user_ids = {role: user.id for role, user in users.items()}
    return World(
        user_ids=user_ids, ids={name: encode_global_id(name, id_) for name, id_ in rows.items()}
    )


@pytest.fixture
async def production_app(test_database, session: AsyncSession) -> AsyncIterator[FastAPI]:
    """The app as production serves it: fast path on, GraphiQL and introspection off."""
    settings = Settings(
        database_url=test_database.url, graphiql=False, introspection=False, fast_path=True
    )
    async with served_app(settings, session) as application:
        yield application


@pytest.fixture
async def production_client(production_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the production-like app in process."""
    async with http_client(production_app) as http:
        yield http


Send = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture(params=["served", "production"])
def target(request: pytest.FixtureRequest) -> httpx.AsyncClient:
    """The app as tests serve it, or as production does (one at a time: they share metrics)."""
    name = "client" if request.param == "served" else "production_client"
    client: httpx.AsyncClient = request.getfixturevalue(name)
    return client


@pytest.fixture
def send(
    target: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> Send:
    """Send one request as `role` (None: anonymous) to the target app and check its answer."""
    caplog.set_level(logging.ERROR)

    async def run(
        sent: Sent,
        *,
        role: str | None = None,
        user_agent: str | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json", **sent.headers}
        # Examples share the test's session, unlike requests in production: start each from
        # a clean state, whatever the previous one left behind.
        await session.rollback()
        if role is not None:
            # A fresh token per request: a generated logOut must not sign out the next one.
            token = secrets.token_urlsafe(16)
            user = await session.get(models.User, world.user_ids[role])
            await make_login_session(session, user=user, token=token)
            await session.commit()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if user_agent is not None:
            headers["User-Agent"] = user_agent
        sent = Sent(sent.method, sent.path, sent.content, headers)
        caplog.clear()
        started = time.perf_counter()
        try:
            response = await target.request(
                sent.method, sent.path, content=sent.content, headers=headers
            )
        except Exception as error:  # noqa: BLE001 - any exception here is a bare 500
            return answers.unhandled(sent, error)
        elapsed = time.perf_counter() - started
        invalidated = connection.invalidated
        answers.check(sent, response, answers.Observed(elapsed, list(caplog.records), invalidated))
        return response

    return run
