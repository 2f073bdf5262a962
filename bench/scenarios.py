"""What the benchmark measures: datasets and the GraphQL requests run against them."""

import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from graph.core.global_id import encode_global_id
from models import auth
from models.actor import Actor, set_actor
from models.seed import DEMO_ACCOUNTS
from models.user import get_by_email


@dataclass(frozen=True)
class Dataset:
    """A database the benchmark seeds once and reuses."""

    database: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Scenario:
    """One request shape, sent over and over by wrk."""

    name: str
    dataset: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Makes a bearer token for requests that need a viewer (gets the dataset's libpq URL).
    token: Callable[[str], Coroutine[Any, Any, str]] | None = None
    # Variables that depend on the seeded rows, such as an ID (gets the dataset's libpq URL);
    # merged over `variables` once, before the scenario runs.
    resolve: Callable[[str], Coroutine[Any, Any, dict[str, Any]]] | None = None
    # Vary the body per request (bench/graphql.lua builds it): "slots" books a distinct free
    # one-hour slot each time, `$input` being a CreateBookingInput.
    mode: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the request."""
        return {"query": self.query, "variables": self.variables}

    def with_variables(self, variables: dict[str, Any]) -> "Scenario":
        """The scenario with `variables` merged over its own."""
        return Scenario(
            self.name,
            self.dataset,
            self.query,
            {**self.variables, **variables},
            token=self.token,
            mode=self.mode,
        )


DATASETS = {
    # `sartiq seed --scale 10`: 10,000 users, 3,000 venues, 200,000 bookings, 50,000 media.
    "scale10": Dataset(database="sartiq_bench_scale10", counts={"scale": 10}),
    # Issue 6's shape: the data PostGraphile and the floor are measured on, in the same run.
    "bench": Dataset(
        database="sartiq_bench",
        counts={"users": 10_000, "venues": 2_000, "bookings": 100_000, "media": 20_000},
    ),
}

PARIS = {"latitude": 48.8566, "longitude": 2.3522}

VENUE_LIST = """
query BenchVenueList { venues(first: 20) { edges { node { id name city hourlyRate } } } }
"""
SEARCH = """
query BenchSearch($q: String!) {
  venues(first: 20, search: $q) { edges { rank node { id name city } } }
}
"""
NEAR = """
query BenchNear($near: NearInput!) {
  venues(first: 20, near: $near) { edges { distanceMeters node { id name } } }
}
"""
SEARCH_NEAR = """
query BenchSearchNear($q: String!, $near: NearInput!) {
  venues(first: 20, search: $q, near: $near, orderBy: RELEVANCE) {
    edges { rank distanceMeters node { id name } }
  }
}
"""
NEAREST_FIRST = """
query BenchNearestFirst($near: NearInput!) {
  venues(first: 20, near: $near, orderBy: DISTANCE) { edges { distanceMeters node { id name } } }
}
"""

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("venue_list", "scale10", VENUE_LIST),
        Scenario("search", "scale10", SEARCH, {"q": "loft studio"}),
        Scenario("near", "scale10", NEAR, {"near": {**PARIS, "radiusMeters": 3000}}),
        Scenario(
            "search_near",
            "scale10",
            SEARCH_NEAR,
            {"q": "studio", "near": {**PARIS, "radiusMeters": 10000}},
        ),
        Scenario(
            "nearest_first",
            "scale10",
            NEAREST_FIRST,
            {"near": {**PARIS, "radiusMeters": 50000}},
        ),
    )
}

# Issue 6: the nested list as the frontend writes it, and the other operations, on "bench".
NESTED_LIST = """
query BenchNestedList {
  venues(first: 50) { edges { node { id name
    bookings(first: 10) { edges { node { id startsAt amount status
      user { id displayName email } } } }
    media(first: 5) { edges { node { title width } } } } } }
}
"""
VENUE_BOOKINGS = """
query BenchVenueBookings($id: ID!) {
  venue(id: $id) { id name city hourlyRate
    bookings(first: 20) { edges { node { id startsAt endsAt status amount
      user { id displayName } } } } }
}
"""
VENUES_SEARCH = """
query BenchVenuesSearch($q: String!) {
  venues(first: 20, search: $q) { edges { rank node { id name city } } }
}
"""
VENUES_NEAREST = """
query BenchVenuesNearest($near: NearInput!) {
  venues(first: 20, near: $near, orderBy: DISTANCE) { edges { distanceMeters node { id name } } }
}
"""
CREATE_BOOKING = """
mutation BenchCreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id startsAt endsAt amount status } }
}
"""
# PostGraphile v5's (Amber preset) spelling of NESTED_LIST. It orders and filters only by
# indexed columns, so its lists come in primary-key order (UUIDv7: creation order) rather than
# by start time; the bench data has no soft-deleted rows, so both return the same amount of data.
POSTGRAPHILE_NESTED_LIST = """
query BenchNestedList {
  allVenues(first: 50, orderBy: PRIMARY_KEY_ASC) { nodes { id name
    bookingsByVenueId(first: 10, orderBy: PRIMARY_KEY_ASC) { nodes { id startsAt amount status
      userByUserId { id displayName email } } }
    mediaByVenueId(first: 5, orderBy: PRIMARY_KEY_ASC) { nodes { title width } } } }
}
"""
# Venues createBooking spreads its slots over (their global IDs travel to wrk in one variable).
SLOT_VENUES = 200


async def admin_token(dsn: str) -> str:
    """A bearer token of the seeded admin: a login session inserted through models.auth."""
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            admin = await get_by_email(session, email=DEMO_ACCOUNTS["admin"])
            if admin is None:
                message = f"{DEMO_ACCOUNTS['admin']} is not in the benchmark database"
                raise RuntimeError(message)
            await set_actor(session, Actor(user_id=admin.id, email=admin.email, user_agent="bench"))
            _, token = await auth.start_session(
                session,
                user=admin,
                lifetime=dt.timedelta(hours=2),
                user_agent="sartiq bench",
                ip_address=None,
            )
    finally:
        await engine.dispose()
    return token


async def first_venue(dsn: str) -> dict[str, Any]:
    """`$id`: the first venue of the default list (oldest listing first)."""
    connection = await asyncpg.connect(dsn)
    try:
        row_id = await connection.fetchval(
            "SELECT id FROM venues WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT 1"
        )
    finally:
        await connection.close()
    return {"id": encode_global_id("Venue", row_id)}


@dataclass(frozen=True)
class Slots:
    """Where free one-hour slots start: slot n is venue n mod len(venues), hour n div len."""

    venue_ids: list[str]
    base: dt.datetime

    def input(self, slot: int) -> dict[str, str]:
        """The CreateBookingInput of slot `slot` (bench/graphql.lua computes the same)."""
        starts = self.base + dt.timedelta(hours=slot // len(self.venue_ids))
        return {
            "venueId": self.venue_ids[slot % len(self.venue_ids)],
            "startsAt": starts.isoformat(),
            "endsAt": (starts + dt.timedelta(hours=1)).isoformat(),
        }


FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


async def free_slots(dsn: str) -> Slots:
    """Slots after every booking there is (and after 2100), so none of them conflicts.

    Asked afresh before each wrk run: the warm-up's and earlier runs' bookings stay.
    """
    connection = await asyncpg.connect(dsn)
    try:
        ids = await connection.fetch(
            "SELECT id FROM venues WHERE deleted_at IS NULL ORDER BY id LIMIT $1", SLOT_VENUES
        )
        latest: dt.datetime | None = await connection.fetchval("SELECT max(ends_at) FROM bookings")
    finally:
        await connection.close()
    base = max(FAR_FUTURE, latest or FAR_FUTURE)
    base = base.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    return Slots([encode_global_id("Venue", row["id"]) for row in ids], base)


SCENARIOS.update(
    {
        scenario.name: scenario
        for scenario in (
            Scenario("nested_list", "bench", NESTED_LIST, token=admin_token),
            Scenario(
                "venue_bookings", "bench", VENUE_BOOKINGS, token=admin_token, resolve=first_venue
            ),
            Scenario("venues_search", "bench", VENUES_SEARCH, {"q": "loft studio"}),
            Scenario(
                "venues_nearest",
                "bench",
                VENUES_NEAREST,
                {"near": {**PARIS, "radiusMeters": 50000}},
            ),
            Scenario("create_booking", "bench", CREATE_BOOKING, token=admin_token, mode="slots"),
        )
    }
)
