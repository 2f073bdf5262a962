"""What the benchmark measures: datasets and the GraphQL requests run against them."""

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from graph.core.global_id import encode_global_id
from graph.schema.persisted_queries import operation_documents
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
class Peer:
    """PostGraphile's spelling of a scenario, run on the same database with its own variables."""

    query: str
    # PostGraphile's variables (gets the dataset's libpq URL): the same rows as the API's.
    resolve: Callable[[str], Coroutine[Any, Any, dict[str, Any]]] | None = None
    # Top-level fields of the API's answer PostGraphile has no counterpart for (left out of
    # the comparison), and the footnote that says so.
    unmatched: tuple[str, ...] = ()
    note: str | None = None


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
    # The same rows through PostGraphile, measured after the API when peers run.
    peer: Peer | None = None

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
            peer=self.peer,
        )


DATASETS = {
    # `sartiq seed --scale 10`: 10,000 users, 3,000 venues, 200,000 bookings, 50,000 media.
    "scale10": Dataset(database="sartiq_bench_scale10", counts={"scale": 10}),
    # `sartiq seed --scale 100`: 100,000 users, 30,000 venues, 2,000,000 bookings, 500,000 media.
    "scale100": Dataset(database="sartiq_bench_scale100", counts={"scale": 100}),
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


async def session_token(dsn: str, email: str) -> str:
    """A bearer token of the seeded user `email`: a login session inserted through models.auth."""
    engine = create_async_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            user = await get_by_email(session, email=email)
            if user is None:
                message = f"{email} is not in the benchmark database"
                raise RuntimeError(message)
            await set_actor(session, Actor(user_id=user.id, email=user.email, user_agent="bench"))
            _, token = await auth.start_session(
                session,
                user=user,
                lifetime=dt.timedelta(hours=2),
                user_agent="sartiq bench",
                ip_address=None,
            )
    finally:
        await engine.dispose()
    return token


async def admin_token(dsn: str) -> str:
    """A bearer token of the seeded admin."""
    return await session_token(dsn, DEMO_ACCOUNTS["admin"])


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


# --- The frontend's read operations (graph/operations/), beside PostGraphile ----------------------
#
# Each runs the document the allow-list holds for it, with the variables and viewer its screen
# has. PostGraphile has no viewers: its documents name the rows the API's viewer may see with
# conditions (a host sees every booking and media item of their venues, a member their own
# bookings), order by the same keys with the primary key last (the API's tie-break: UUIDv7
# ids, creation order), and leave out soft-deleted rows with `deletedAt: {isNull: true}`.
# Their fields come in the API's order, so bench/run.py can compare the two answers' rows.

OPERATIONS = operation_documents()
POSTGRAPHILE_TERMS = (
    "PostGraphile (v5, connection-filter) has no viewers: its documents name the viewer's rows"
    " by ID and condition; the ids, counts and list lengths of both answers were compared."
)
# Fixed once per run, so the API and PostGraphile ask for the same span of time.
TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
UPCOMING = {"from": TODAY.isoformat(), "to": (TODAY + dt.timedelta(days=91)).isoformat()}
PAGE = 20
BOOKINGS_SHOWN = 10


def postgraphile_id(type_name: str, row_id: uuid.UUID) -> str:
    """PostGraphile v5's node ID of a row: base64 of the JSON list `[type name, primary key]`."""
    text = json.dumps([type_name, str(row_id)], separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()


async def demo_host_venue(dsn: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The demo host's id and their first venue's (oldest listing first)."""
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT u.id AS host, v.id AS venue FROM users u JOIN venues v ON v.owner_id = u.id"
            " WHERE u.email = $1 AND v.deleted_at IS NULL ORDER BY v.created_at, v.id LIMIT 1",
            DEMO_ACCOUNTS["host"],
        )
    finally:
        await connection.close()
    if row is None:
        message = f"{DEMO_ACCOUNTS['host']} has no venue in the benchmark database"
        raise RuntimeError(message)
    return row["host"], row["venue"]


async def busiest_member(dsn: str) -> tuple[uuid.UUID, str]:
    """The id and email of the member with the most bookings (a full "my bookings" screen)."""
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT u.id, u.email FROM users u JOIN bookings b ON b.user_id = u.id"
            " WHERE u.role = 'member' AND u.deleted_at IS NULL AND b.deleted_at IS NULL"
            " GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1"
        )
    finally:
        await connection.close()
    if row is None:
        message = "no member has bookings in the benchmark database"
        raise RuntimeError(message)
    return row["id"], row["email"]


async def host_token(dsn: str) -> str:
    """A bearer token of the demo host."""
    return await session_token(dsn, DEMO_ACCOUNTS["host"])


async def member_token(dsn: str) -> str:
    """A bearer token of the member with the most bookings."""
    _, email = await busiest_member(dsn)
    return await session_token(dsn, email)


async def venue_details(dsn: str) -> dict[str, Any]:
    """The demo host's first venue, with its first bookings."""
    _, venue = await demo_host_venue(dsn)
    return {"id": encode_global_id("Venue", venue), "bookings": BOOKINGS_SHOWN}


async def venue_details_peer(dsn: str) -> dict[str, Any]:
    """`venue_details` in PostGraphile's terms."""
    _, venue = await demo_host_venue(dsn)
    return {"id": postgraphile_id("Venue", venue), "bookings": BOOKINGS_SHOWN}


async def host_dashboard(dsn: str) -> dict[str, Any]:
    """The demo host's dashboard, with bookings per month over the seeded span of time."""
    host, _ = await demo_host_venue(dsn)
    return {
        "ownerId": encode_global_id("User", host),
        "from": (TODAY - dt.timedelta(days=183)).replace(day=1).isoformat(),
        "to": (TODAY + dt.timedelta(days=123)).replace(day=1).isoformat(),
        "bookings": BOOKINGS_SHOWN,
    }


async def host_dashboard_peer(dsn: str) -> dict[str, Any]:
    """`host_dashboard` in PostGraphile's terms (no statistics)."""
    host, _ = await demo_host_venue(dsn)
    return {"ownerId": str(host), "venues": PAGE, "bookings": BOOKINGS_SHOWN}


async def my_bookings_peer(dsn: str) -> dict[str, Any]:
    """The busiest member's upcoming pending and confirmed bookings, in PostGraphile's terms."""
    member, _ = await busiest_member(dsn)
    return {
        "userId": str(member),
        "status": ["pending", "confirmed"],
        "from": UPCOMING["from"],
        "to": UPCOMING["to"],
        "first": PAGE,
    }


async def viewer_peer(dsn: str) -> dict[str, Any]:
    """The busiest member's account, found by ID since PostGraphile has no viewer."""
    member, _ = await busiest_member(dsn)
    return {"id": postgraphile_id("User", member), "sessions": PAGE}


async def venue_history(dsn: str) -> dict[str, Any]:
    """The change log of the demo host's first venue."""
    _, venue = await demo_host_venue(dsn)
    return {"id": encode_global_id("Venue", venue), "first": PAGE}


async def venue_history_peer(dsn: str) -> dict[str, Any]:
    """`venue_history` in PostGraphile's terms: the venue, and its audit rows by table and id."""
    _, venue = await demo_host_venue(dsn)
    return {"id": postgraphile_id("Venue", venue), "rowId": str(venue), "first": PAGE}


# Venue search: Paris venues at 30 to 100 an hour, cheapest first (179 of 2,000 match).
SEARCH_FILTER = {"city": "Paris", "min": "30", "max": "100"}


async def venue_search_list_peer(_: str) -> dict[str, Any]:
    """The search's variables in PostGraphile's terms."""
    return {**SEARCH_FILTER, "first": PAGE}


POSTGRAPHILE_VENUE_DETAILS = """
query VenueDetails($id: ID!, $bookings: Int!) {
  venue(id: $id) { id name city latitude longitude hourlyRate
    userByOwnerId { id displayName }
    bookingsByVenueId(first: $bookings, orderBy: [STARTS_AT_ASC, PRIMARY_KEY_ASC],
        filter: {deletedAt: {isNull: true}}) {
      edges { cursor node { id startsAt endsAt status amount userByUserId { id displayName } } }
      pageInfo { hasNextPage endCursor } }
    mediaByVenueId(first: 5, orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC],
        filter: {deletedAt: {isNull: true}}) {
      edges { node { id title width height } } } }
}
"""
POSTGRAPHILE_VENUE_SEARCH_LIST = """
query VenueSearchList($city: String!, $min: BigFloat!, $max: BigFloat!, $first: Int!) {
  allVenues(
    filter: {city: {equalTo: $city},
      hourlyRate: {greaterThanOrEqualTo: $min, lessThanOrEqualTo: $max},
      deletedAt: {isNull: true}}
    orderBy: [HOURLY_RATE_ASC, PRIMARY_KEY_ASC], first: $first
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id name city country latitude longitude hourlyRate currency
      userByOwnerId { id displayName }
      mediaByVenueId(first: 1, orderBy: [CREATED_AT_ASC, PRIMARY_KEY_ASC],
          filter: {bookingId: {isNull: true}, deletedAt: {isNull: true}}) {
        edges { node { id title resourceType storageKey extension width height altText caption
          tags capturedAt createdAt } } } } }
  }
}
"""
POSTGRAPHILE_HOST_DASHBOARD = """
query HostDashboard($ownerId: UUID!, $venues: Int!, $bookings: Int!) {
  allVenues(condition: {ownerId: $ownerId}, filter: {deletedAt: {isNull: true}},
      orderBy: [NAME_ASC, PRIMARY_KEY_ASC], first: $venues) {
    totalCount
    edges { node {
      id name city country latitude longitude hourlyRate currency
      userByOwnerId { id displayName }
      bookingsByVenueId(first: $bookings, orderBy: [STARTS_AT_ASC, PRIMARY_KEY_ASC],
          filter: {deletedAt: {isNull: true}}) {
        totalCount
        edges { node { id startsAt endsAt status amount currency notes createdAt
          userByUserId { id displayName email } } } } } }
  }
}
"""
POSTGRAPHILE_MY_BOOKINGS = """
query MyBookings(
  $userId: UUID!, $status: [String!]!, $from: Datetime!, $to: Datetime!, $first: Int!
) {
  allBookings(condition: {userId: $userId},
      filter: {status: {in: $status}, startsAt: {greaterThanOrEqualTo: $from, lessThan: $to},
        deletedAt: {isNull: true}},
      orderBy: [STARTS_AT_ASC, PRIMARY_KEY_ASC], first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id startsAt endsAt status amount currency notes createdAt
      venueByVenueId { id name city country latitude longitude hourlyRate currency
        userByOwnerId { id displayName } address } } }
  }
}
"""
POSTGRAPHILE_VIEWER = """
query Viewer($id: ID!, $sessions: Int!) {
  user(id: $id) { id displayName email role createdAt preferences
    sessionsByUserId(first: $sessions, orderBy: [CREATED_AT_DESC, PRIMARY_KEY_DESC]) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id createdAt lastSeenAt expiresAt revokedAt userAgent ipAddress } } } }
}
"""
POSTGRAPHILE_VENUE_HISTORY = """
query VenueHistory($id: ID!, $rowId: UUID!, $first: Int!) {
  venue(id: $id) { id name }
  allAuditLogs(condition: {tableName: "venues", recordId: $rowId}, orderBy: SEQ_DESC,
      first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id action changedFields oldData newData userEmail createdAt
      actor { id displayName } } }
  }
}
"""

READ_OPERATIONS = (
    Scenario(
        "VenueDetails",
        "bench",
        OPERATIONS["VenueDetails"],
        token=host_token,
        resolve=venue_details,
        peer=Peer(POSTGRAPHILE_VENUE_DETAILS, venue_details_peer),
    ),
    Scenario(
        "VenueSearchList",
        "bench",
        OPERATIONS["VenueSearchList"],
        {
            "filter": {
                "city": SEARCH_FILTER["city"],
                "hourlyRate": {"min": SEARCH_FILTER["min"], "max": SEARCH_FILTER["max"]},
            },
            "orderBy": "HOURLY_RATE_ASC",
            "first": PAGE,
        },
        peer=Peer(POSTGRAPHILE_VENUE_SEARCH_LIST, venue_search_list_peer),
    ),
    Scenario(
        "HostDashboard",
        "bench",
        OPERATIONS["HostDashboard"],
        token=host_token,
        resolve=host_dashboard,
        peer=Peer(
            POSTGRAPHILE_HOST_DASHBOARD,
            host_dashboard_peer,
            unmatched=("bookingStats",),
            note="HostDashboard: PostGraphile without bookingStats (bookings grouped by month"
            " need @graphile/pg-aggregates); the API's figure includes it.",
        ),
    ),
    Scenario(
        "MyBookings",
        "bench",
        OPERATIONS["MyBookings"],
        {"status": ["PENDING", "CONFIRMED"], "startsAt": UPCOMING},
        token=member_token,
        peer=Peer(POSTGRAPHILE_MY_BOOKINGS, my_bookings_peer),
    ),
    Scenario(
        "Viewer",
        "bench",
        OPERATIONS["Viewer"],
        {"sessions": PAGE},
        token=member_token,
        peer=Peer(
            POSTGRAPHILE_VIEWER,
            viewer_peer,
            note="Viewer: PostGraphile without Session.current (whether a session is the"
            " request's own: it has no request session).",
        ),
    ),
    Scenario(
        "VenueHistory",
        "bench",
        OPERATIONS["VenueHistory"],
        token=host_token,
        resolve=venue_history,
        peer=Peer(POSTGRAPHILE_VENUE_HISTORY, venue_history_peer),
    ),
)

SCENARIOS.update(
    {
        scenario.name: scenario
        for scenario in (
            Scenario(
                "nested_list",
                "bench",
                NESTED_LIST,
                token=admin_token,
                peer=Peer(POSTGRAPHILE_NESTED_LIST),
            ),
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
            *READ_OPERATIONS,
            Scenario("create_booking", "bench", CREATE_BOOKING, token=admin_token, mode="slots"),
        )
    }
)
