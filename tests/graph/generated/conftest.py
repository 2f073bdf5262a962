"""Fixtures for generated requests: worlds of rows and tokens, one way to send, both read paths."""

import datetime as dt
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.registry import Collector, DuplicateTimeseries
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

import models
from graph.core.global_id import encode_global_id
from graph.schema import metrics
from models import soft_delete
from models.settings import Settings
from tests.factories import (
    DEFAULT_BOOKINGS_FROM,
    make_booking,
    make_login_session,
    make_media,
    make_user,
    make_venue,
    point,
)
from tests.graph.generated import answers, differential
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


# --- differential testing of the two read paths (test_differential_*.py) -----------------------

READ_ROLES = ("admin", "host", "member")


@dataclass(frozen=True)
class ReadWorld:
    """Rows for reads to find, the tokens of each viewer, and cursors of real pages."""

    ids: dict[str, str]
    tokens: dict[str, str]
    cursors: dict[str, list[str]]


async def _make_read_rows(session: AsyncSession) -> tuple[dict[str, str], dict[str, str]]:
    """Venues in three cities, bookings in every status, media and sessions; IDs and tokens."""
    users = {
        "admin": await make_user(session, role="admin", display_name="Ada Admin"),
        "host": await make_user(session, role="host", display_name="Hana Host"),
        "host2": await make_user(session, role="host", display_name="Otto Owner"),
        "member": await make_user(
            session,
            display_name="Mia Member",
            preferences={"home": {"latitude": 48.853, "longitude": 2.3499}},
        ),
        "member2": await make_user(session, display_name="Max Member"),
    }
    venues: list[models.Venue] = []
    for n, (name, city, latitude, longitude) in enumerate(differential.VENUES):
        venues.append(
            await make_venue(
                session,
                owner=users["host" if n < 3 else "host2"],
                address=f"{n + 1} {city} Street",
                name=name,
                city=city,
                country={"Paris": "FR", "Lisbon": "PT", "Berlin": "DE"}[city],
                latitude=latitude,
                longitude=longitude,
                hourly_rate=Decimal(40 + 15 * n),
                amenities={"wifi": n % 2 == 0, "seats": 4 * n},
                description=f"A place for {name.lower()} meetings in {city}",
            )
        )
    name, city, latitude, longitude = differential.DELETED_VENUE
    gone = await make_venue(
        session, owner=users["host"], name=name, city=city, latitude=latitude, longitude=longitude
    )
    bookings: list[models.Booking] = []
    statuses = ("pending", "confirmed", "completed", "cancelled")
    for n, venue in enumerate(venues):
        for guest in ("member", "member2", "host") if n < 2 else ("member",):
            bookings.append(
                await make_booking(
                    session, user=users[guest], venue=venue, status=statuses[len(bookings) % 4]
                )
            )
    for n, title in enumerate(differential.MEDIA_TITLES):
        venue = venues[n]
        await make_media(
            session,
            owner=users["member" if n % 2 else "host"],
            venue=venue,
            booking=bookings[n] if n % 2 else None,
            resource_type="VIDEO" if n == 1 else "IMAGE",
            title=title,
            tags=["sunny", "indoor"][: n % 3],
            location=point(latitude=48.85 + n / 100, longitude=2.35) if n < 3 else None,
            captured_at=DEFAULT_BOOKINGS_FROM - dt.timedelta(days=n),
        )
    first_media = await make_media(session, owner=users["member"], title="Loft detail")
    await soft_delete(session, gone)
    tokens = {}
    for role in READ_ROLES:
        tokens[role] = f"differential-{role}-{secrets.token_hex(8)}"
        await make_login_session(session, user=users[role], token=tokens[role])
    login = await make_login_session(
        session, user=users["member"], revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    await session.commit()
    rows = {
        "Venue": ("Venue", venues[0].id),
        "OddVenue": ("Venue", venues[-1].id),
        "GoneVenue": ("Venue", gone.id),
        "Booking": ("Booking", bookings[0].id),
        "Media": ("Media", first_media.id),
        "User": ("User", users["member"].id),
        "Host": ("User", users["host"].id),
        "Session": ("Session", login.id),
    }
    ids = {key: encode_global_id(name, id_) for key, (name, id_) in rows.items()}
    return ids, tokens


CURSOR_PAGES = """
query Pages($venue: ID!) {
  venues(first: 3) { edges { cursor } }
  venues_name: venues(first: 3, orderBy: NAME_ASC) { edges { cursor } }
  venues_search: venues(first: 3, search: "loft") { edges { cursor } }
  bookings(first: 3) { edges { cursor } }
  bookings_starts: bookings(first: 3, orderBy: STARTS_AT_ASC) { edges { cursor } }
  media(first: 3) { edges { cursor } }
  venues_city: venues(first: 3, filter: {city: "Paris"}, orderBy: NAME_ASC) { edges { cursor } }
  users(first: 3) { edges { cursor } }
  search(query: "loft", first: 3) { edges { cursor } }
  viewer { sessions(first: 3) { edges { cursor } } history(first: 3) { edges { cursor } } }
  venue(id: $venue) {
    bookings(first: 3) { edges { cursor } }
    media(first: 3) { edges { cursor } }
    history(first: 3) { edges { cursor node { id } } }
  }
}
"""


def _cursors(value: object, found: dict[str, list[str]], key: str = "") -> None:
    """Every edge cursor in a response, by the list (the field name before any `_`) it pages."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "cursor" and isinstance(item, str):
                found.setdefault(key.split("_", maxsplit=1)[0], []).append(item)
                if "_" in key:
                    found.setdefault(key, []).append(item)
            else:
                _cursors(item, found, key if name in {"edges", "node"} else name)
    elif isinstance(value, list):
        for item in value:
            _cursors(item, found, key)


@dataclass(frozen=True)
class ReadPaths:
    """One client per read path, both on the test's session."""

    compiled: httpx.AsyncClient
    loaders: httpx.AsyncClient


@pytest.fixture
async def read_paths(
    test_database, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ReadPaths]:
    """The app with the compiled path, and the app with only the loader path, both running.

    Each app reports its pool under the same metric names; the second one's pool goes
    unreported rather than refused as a duplicate.
    """
    register, unregister = metrics.register_pool, metrics.unregister_pool
    unreported: list[metrics.PoolCollector] = []

    def register_once(engines: dict[str, AsyncEngine]) -> metrics.PoolCollector:
        try:
            return register(engines)
        except DuplicateTimeseries:
            unreported.append(metrics.PoolCollector(engines))
            return unreported[-1]

    def unregister_once(collector: Collector) -> None:
        if collector not in unreported:
            unregister(collector)

    monkeypatch.setattr(metrics, "register_pool", register_once)
    monkeypatch.setattr(metrics, "unregister_pool", unregister_once)
    async with (
        served_app(Settings(database_url=test_database.url, fast_path=True), session) as fast,
        served_app(Settings(database_url=test_database.url, fast_path=False), session) as slow,
        http_client(fast) as compiled,
        http_client(slow) as loaders,
    ):
        yield ReadPaths(compiled=compiled, loaders=loaders)


@pytest.fixture
async def read_world(session: AsyncSession, read_paths: ReadPaths) -> ReadWorld:
    """The rows, the viewers' tokens, and cursors read from real pages (by the loader path)."""
    ids, tokens = await _make_read_rows(session)
    response = await read_paths.loaders.post(
        "/graphql",
        json={"query": CURSOR_PAGES, "variables": {"venue": ids["Venue"]}},
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    payload = response.json()
    assert not payload.get("errors"), payload
    cursors: dict[str, list[str]] = {}
    _cursors(payload["data"], cursors)
    ids["AuditEvent"] = payload["data"]["venue"]["history"]["edges"][0]["node"]["id"]
    return ReadWorld(ids=ids, tokens=tokens, cursors=cursors)


@dataclass(frozen=True)
class Compared:
    """What both paths answered to one request, and which path the compiled app took."""

    status: int
    body: bytes
    path: str


CompareReads = Callable[..., Awaitable[Compared]]


@pytest.fixture
def compare_reads(
    read_paths: ReadPaths, read_world: ReadWorld, session: AsyncSession
) -> CompareReads:
    """Send one read request as `role` to both apps; fail unless status and bytes are equal."""

    async def run(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: str | None = None,
        operation_name: str | None = None,
    ) -> Compared:
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = variables
        if operation_name is not None:
            payload["operationName"] = operation_name
        content = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if role is not None:
            headers["Authorization"] = f"Bearer {read_world.tokens[role]}"
        # A request that failed half-way must not leave the session unusable for the next.
        await session.rollback()
        before = differential.read_path_counts()
        fast = await read_paths.compiled.post("/graphql", content=content, headers=headers)
        path = differential.which_path(before, differential.read_path_counts())
        await session.rollback()
        slow = await read_paths.loaders.post("/graphql", content=content, headers=headers)
        described = (
            f"as {role or 'anonymous'}: {content.decode()}\n"
            f"compiled path ({path}) -> HTTP {fast.status_code}: {fast.content.decode()}\n"
            f"loader path -> HTTP {slow.status_code}: {slow.content.decode()}"
        )
        assert fast.status_code == slow.status_code, described
        assert differential.comparable(fast.content) == differential.comparable(slow.content), (
            described
        )
        return Compared(status=fast.status_code, body=fast.content, path=path)

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How the differential tests' documents were answered: compiled or fallen back."""
    for test, tally in differential.TALLIES.items():
        terminalreporter.write_line(f"{test}: {tally.summary()}")
        for message, count in tally.messages.most_common(10):
            terminalreporter.write_line(f"  {count} x {message}")
