"""The permission matrix: every role against every query, mutation and sensitive field.

The world (fixture `world`, built fresh for every test): an admin; host A owning venue A, which
has a public photo; host B owning venue B; member M with a booking at venue A and a photo on
that booking; member N with a (confirmed) booking at venue B; plus a soft-deleted venue, photo,
booking and user for `includeDeleted`. Every user has one login session; each viewer signs in
with theirs. Viewers: anonymous, member_m, member_n, host_a, host_b, admin.

A table per area; each row names an operation, what to pick from its data, and every role's
exact outcome: the picked value, or `Refused(code)` when the operation fails with exactly one
error of that `extensions.code` and the picked value is null. Reads run every role against one
world (one test per row); writes run each role on a fresh world (one test per row and role) and
also check that a refused write leaves nothing behind.

Where the issue is silent, the tables pin what the code does:
- what you may not see is absent, not refused: `node`/`nodes` give null, lists and nested lists
  leave it out, mutations on it are NOT_FOUND; what you may see but not change is FORBIDDEN;
- a user's public profile (display name) is readable by anyone holding the user's ID;
- deleted objects are null for `node`/`venue`, admins included: only lists take `includeDeleted`;
- `history` of an object you see but do not own or host is FORBIDDEN (signed out:
  UNAUTHENTICATED), which nulls the enclosing object;
- `User.email` reached by `node` or as an audit event's `actor` is null for a host even when the
  host sees the same email as the guest of one of their bookings.
"""

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.global_id import encode_global_id, encode_timestamped_id
from graph.core.viewer import Viewer
from models import Actor, AuditLog, LoginSession, User, set_actor
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue

ROLES = ("anonymous", "member_m", "member_n", "host_a", "host_b", "admin")
EMAIL = {
    "admin": "admin@matrix.test",
    "host_a": "host.a@matrix.test",
    "host_b": "host.b@matrix.test",
    "member_m": "member.m@matrix.test",
    "member_n": "member.n@matrix.test",
}
NAME = {
    "admin": "Admin",
    "host_a": "Host A",
    "host_b": "Host B",
    "member_m": "Member M",
    "member_n": "Member N",
}
DEVICE = {role: f"{NAME[role]}'s phone" for role in NAME}
M_EMAIL, N_EMAIL, HOST_A_EMAIL = EMAIL["member_m"], EMAIL["member_n"], EMAIL["host_a"]
DAY_ONE = dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC)


# -- outcomes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """The operation fails with exactly one error carrying this `extensions.code`."""

    code: str


UNAUTHENTICATED = Refused("UNAUTHENTICATED")
FORBIDDEN = Refused("FORBIDDEN")
NOT_FOUND = Refused("NOT_FOUND")
_LIKE_OTHERS = object()

# Who sees M's booking and the photo on it: the guest, the venue's host, admins.
M_SIDE = "member_m host_a admin"


def only(
    roles: str, value: Any, *, others: Any = None, anonymous: Any = _LIKE_OTHERS
) -> dict[str, Any]:
    """`value` for the space-separated `roles`; `others` for the rest, anonymous unless given."""
    chosen = roles.split()
    assert set(chosen) <= set(ROLES), chosen
    expect = {role: value if role in chosen else others for role in ROLES}
    if anonymous is not _LIKE_OTHERS:
        expect["anonymous"] = anonymous
    return expect


def everyone(value: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, value)


def signed_in(values: Any) -> dict[str, Any]:
    """UNAUTHENTICATED when signed out; `values` (one for all, or a dict by role) otherwise."""
    if not isinstance(values, dict):
        values = {role: values for role in ROLES if role != "anonymous"}
    return values | {"anonymous": UNAUTHENTICATED}


def admins_only(value: Any) -> dict[str, Any]:
    return only("admin", value, others=FORBIDDEN, anonymous=UNAUTHENTICATED)


# -- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    """One test's cast: users and their login sessions, a few rows, and global IDs by name."""

    users: dict[str, User]
    logins: dict[str, LoginSession]
    rows: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def viewer(self, role: str) -> Viewer | None:
        """`role` signed in with its own login session; None for anonymous."""
        if role == "anonymous":
            return None
        return Viewer.from_login(self.users[role], self.logins[role])


@pytest.fixture
async def world(session: AsyncSession) -> World:
    users = {
        role: await make_user(
            session,
            role=role.split("_")[0],
            email=EMAIL[role],
            display_name=NAME[role],
            preferences={"theme": "dark"} if role == "member_m" else {},
        )
        for role in NAME
    }
    logins = {
        role: await make_login_session(session, user=user, user_agent=DEVICE[role])
        for role, user in users.items()
    }
    m, n, host_a, host_b = (users[r] for r in ("member_m", "member_n", "host_a", "host_b"))
    deleted_at = dt.datetime.now(dt.UTC)

    venue_a = await make_venue(session, owner=host_a, name="Venue A")
    photo_a = await make_media(session, owner=host_a, venue=venue_a, title="A photo")
    venue_b = await make_venue(session, owner=host_b, name="Venue B")
    gone_venue = await make_venue(session, owner=host_a, name="Gone venue", deleted_at=deleted_at)
    gone_photo = await make_media(
        session, owner=host_a, venue=venue_a, title="Gone photo", deleted_at=deleted_at
    )
    gone_user = await make_user(session, display_name="Gone user", deleted_at=deleted_at)
    booking_n = await make_booking(
        session,
        user=n,
        venue=venue_b,
        starts_at=DAY_ONE + dt.timedelta(days=1),
        status="confirmed",
        notes="N at B",
    )
    await make_booking(
        session,
        user=m,
        venue=venue_a,
        starts_at=DAY_ONE + dt.timedelta(days=2),
        status="cancelled",
        notes="M gone",
        deleted_at=deleted_at,
    )
    # M's own rows are recorded in the audit trail as made by M.
    await set_actor(session, Actor(user_id=m.id, email=m.email, ip_address=None, user_agent=None))
    booking_m = await make_booking(
        session, user=m, venue=venue_a, starts_at=DAY_ONE, notes="M at A"
    )
    photo_m = await make_media(session, owner=m, venue=venue_a, booking=booking_m, title="M photo")

    world = World(
        users=users, logins=logins, rows={"booking_m": booking_m, "gone_venue": gone_venue}
    )
    world.ids = {
        "venue_a": encode_global_id("Venue", venue_a.id),
        "venue_b": encode_global_id("Venue", venue_b.id),
        "gone_venue": encode_global_id("Venue", gone_venue.id),
        "booking_m": encode_global_id("Booking", booking_m.id),
        "booking_n": encode_global_id("Booking", booking_n.id),
        "photo_a": encode_global_id("Media", photo_a.id),
        "photo_m": encode_global_id("Media", photo_m.id),
        "gone_photo": encode_global_id("Media", gone_photo.id),
        "session_m": encode_global_id("Session", logins["member_m"].id),
        "user_m": encode_global_id("User", m.id),
        "gone_user": encode_global_id("User", gone_user.id),
    }
    return world


# -- rows and runners ---------------------------------------------------------------------------

Pick = Callable[[Any], Any]
Variables = Callable[[World], dict[str, Any]]
Before = Callable[[AsyncSession, World], Awaitable[None]]


def dig(data: Any, *path: str) -> Any:
    """The value at `path` in the response data; None where a null cuts the path short."""
    for key in path:
        if data is None:
            return None
        data = data[key]
    return data


def at(*path: str) -> Pick:
    return lambda data: dig(data, *path)


def column(*path: str, of: str = "") -> Pick:
    """Pick `of` (a dotted path; empty for the whole node) from each edge of the connection."""
    keys = of.split(".") if of else []

    def pick(data: Any) -> Any:
        connection = dig(data, *path)
        if connection is None:
            return None
        return [dig(edge, "node", *keys) for edge in connection["edges"]]

    return pick


def is_set(*path: str) -> Pick:
    """Whether the last field of `path` is non-null; None when its parent is null."""

    def pick(data: Any) -> Any:
        parent = dig(data, *path[:-1])
        return None if parent is None else parent[path[-1]] is not None

    return pick


def ids(*names: str, key: str = "id") -> Variables:
    """Variables holding the world's global IDs by name (one, or a list)."""
    if len(names) == 1:
        return lambda world: {key: world.ids[names[0]]}
    return lambda world: {key: [world.ids[name] for name in names]}


@dataclass(frozen=True)
class Case:
    """One row: an operation, what to pick from its data, and every role's outcome."""

    name: str
    operation: str
    expect: dict[str, Any]
    pick: Pick
    variables: Variables = lambda _: {}
    before: Before | None = None
    # role -> how the code breaks the rules there; the row is a strict xfail.
    holes: dict[str, str] = field(default_factory=dict)


class KnownHoleError(AssertionError):
    """A role gets what the issue's rules say it must not."""


def _hole_marks(case: Case) -> list[pytest.MarkDecorator]:
    if not case.holes:
        return []
    roles_by_reason: dict[str, list[str]] = {}
    for role, why in case.holes.items():
        roles_by_reason.setdefault(why, []).append(role)
    reason = "; ".join(f"{', '.join(roles)}: {why}" for why, roles in roles_by_reason.items())
    return [pytest.mark.xfail(strict=True, raises=KnownHoleError, reason=reason)]


def per_case(cases: list[Case]) -> pytest.MarkDecorator:
    """One test per row (reads: every role against one world)."""
    for case in cases:
        assert set(case.expect) == set(ROLES), case.name
    return pytest.mark.parametrize(
        "case", [pytest.param(case, id=case.name, marks=_hole_marks(case)) for case in cases]
    )


def per_case_and_role(cases: list[Case]) -> pytest.MarkDecorator:
    """One test per row and role (writes: each on a fresh world)."""
    params = []
    for case in cases:
        assert set(case.expect) == set(ROLES), case.name
        for role in ROLES:
            marks = _hole_marks(case) if role in case.holes else []
            params.append(pytest.param(case, role, id=f"{case.name}-{role}", marks=marks))
    return pytest.mark.parametrize(("case", "role"), params)


async def outcome(execute, case: Case, world: World, role: str) -> Any:
    """What `role` gets: the picked value, a `Refused`, or the whole response when neither."""
    result = await execute(case.operation, case.variables(world), viewer=world.viewer(role))
    picked = case.pick(result.data)
    if not result.errors:
        return picked
    codes = [(error.extensions or {}).get("code") for error in result.errors]
    if len(codes) == 1 and picked is None:
        return Refused(str(codes[0]))
    return {"errors": [str(error) for error in result.errors], "data": result.data}


def check(case: Case, got: dict[str, Any]) -> None:
    """Assert each role's outcome; known holes last, as `KnownHoleError`."""
    kept = {role: got[role] for role in got if role not in case.holes}
    assert kept == {role: case.expect[role] for role in kept}
    holes = [
        f"{role} got {got[role]!r}; the rules say {case.expect[role]!r}"
        for role in case.holes
        if role in got and got[role] != case.expect[role]
    ]
    if holes:
        raise KnownHoleError("\n".join(holes))


async def check_reads(case: Case, session: AsyncSession, world: World, execute) -> None:
    if case.before is not None:
        await case.before(session, world)
    check(case, {role: await outcome(execute, case, world, role) for role in ROLES})


# -- root queries -------------------------------------------------------------------------------

NODE_LABELS = """
  __typename
  ... on Venue { name }
  ... on Booking { notes }
  ... on User { displayName }
  ... on Media { title }
  ... on Session { userAgent }
  ... on AuditEvent { tableName }
"""
NODE = f"query Node($id: ID!) {{ node(id: $id) {{ {NODE_LABELS} }} }}"
NODES = f"query Nodes($ids: [ID!]!) {{ nodes(ids: $ids) {{ {NODE_LABELS} }} }}"


def label(node: dict[str, Any] | None) -> Any:
    """The one field a node selects besides `__typename`; None for a null node."""
    if node is None:
        return None
    (value,) = (value for key, value in node.items() if key != "__typename")
    return value


def node_case(
    target: str,
    expect: dict[str, Any],
    *,
    before: Before | None = None,
    holes: dict[str, str] | None = None,
) -> Case:
    return Case(
        f"node-{target}",
        NODE,
        expect,
        pick=lambda data: label(data["node"]),
        variables=ids(target),
        before=before,
        holes=holes or {},
    )


async def name_event_m(session: AsyncSession, world: World) -> None:
    """Name the audit event recording the insert of M's booking `event_m`."""
    inserted = await session.scalar(
        select(AuditLog).where(
            AuditLog.record_id == world.rows["booking_m"].id, AuditLog.action == "INSERT"
        )
    )
    assert inserted is not None
    world.ids["event_m"] = encode_timestamped_id("AuditEvent", inserted.id, inserted.created_at)


async def photo_of_gone_venue(session: AsyncSession, world: World) -> None:
    """Host A's photo of their deleted venue, named `gone_venue_photo`."""
    photo = await make_media(
        session,
        owner=world.users["host_a"],
        venue=world.rows["gone_venue"],
        title="Gone venue photo",
    )
    world.ids["gone_venue_photo"] = encode_global_id("Media", photo.id)


def list_of(root: str, fields: str, *, include_deleted: bool = False) -> str:
    arguments = "(includeDeleted: true)" if include_deleted else ""
    return f"query {{ {root}{arguments} {{ edges {{ node {{ {fields} }} }} }} }}"


VENUE = "query Venue($id: ID!) {{ venue(id: $id) {{ {fields} }} }}"
BOOKING_STATS = """
query {
  bookingStats(from: "2029-06-01T00:00:00Z", to: "2031-01-01T00:00:00Z", groupBy: STATUS) {
    key count
  }
}
"""
VENUES = ["Venue A", "Venue B"]
USERS = ["Admin", "Host A", "Host B", "Member M", "Member N"]
PUBLIC_AND_M_PHOTO = only(M_SIDE, ["A photo", "M photo"], others=["A photo"])
M_DEVICE = DEVICE["member_m"]

QUERIES = [
    node_case("venue_a", everyone("Venue A")),
    node_case("gone_venue", everyone(None)),
    node_case("booking_m", only(M_SIDE, "M at A")),
    node_case("booking_n", only("member_n host_b admin", "N at B")),
    node_case("photo_a", everyone("A photo")),
    node_case("photo_m", only(M_SIDE, "M photo")),
    node_case(
        "gone_venue_photo",
        only("host_a admin", "Gone venue photo"),
        before=photo_of_gone_venue,
    ),
    node_case("user_m", everyone("Member M")),
    node_case("gone_user", everyone(None)),
    node_case("session_m", only("member_m admin", M_DEVICE)),
    node_case("event_m", only("admin", "bookings"), before=name_event_m),
    Case(
        "nodes",
        NODES,
        {
            "anonymous": ["Venue A", None, None, "Member M", None],
            "member_m": ["Venue A", "M at A", "M photo", "Member M", M_DEVICE],
            "member_n": ["Venue A", None, None, "Member M", None],
            "host_a": ["Venue A", "M at A", "M photo", "Member M", None],
            "host_b": ["Venue A", None, None, "Member M", None],
            "admin": ["Venue A", "M at A", "M photo", "Member M", M_DEVICE],
        },
        pick=lambda data: [label(node) for node in data["nodes"]],
        variables=ids("venue_a", "booking_m", "photo_m", "user_m", "session_m", key="ids"),
    ),
    Case(
        "venue",
        VENUE.format(fields="name"),
        everyone("Venue A"),
        pick=at("venue", "name"),
        variables=ids("venue_a"),
    ),
    Case(
        "venue-deleted",
        VENUE.format(fields="name"),
        everyone(None),
        pick=at("venue", "name"),
        variables=ids("gone_venue"),
    ),
    Case(
        "venue.bookings",
        VENUE.format(fields="bookings { edges { node { notes } } }"),
        only(M_SIDE, ["M at A"], others=[]),
        pick=column("venue", "bookings", of="notes"),
        variables=ids("venue_a"),
    ),
    Case(
        "venue.bookings.totalCount",
        VENUE.format(fields="bookings { totalCount }"),
        only(M_SIDE, 1, others=0),
        pick=at("venue", "bookings", "totalCount"),
        variables=ids("venue_a"),
    ),
    Case(
        "venue.media",
        VENUE.format(fields="media { edges { node { title } } }"),
        PUBLIC_AND_M_PHOTO,
        pick=column("venue", "media", of="title"),
        variables=ids("venue_a"),
    ),
    Case("venues", list_of("venues", "name"), everyone(VENUES), pick=column("venues", of="name")),
    Case(
        "venues-includeDeleted",
        list_of("venues", "name", include_deleted=True),
        admins_only([*VENUES, "Gone venue"]),
        pick=column("venues", of="name"),
    ),
    Case(
        "bookings",
        list_of("bookings", "notes"),
        signed_in(
            {
                "member_m": ["M at A"],
                "member_n": ["N at B"],
                "host_a": ["M at A"],
                "host_b": ["N at B"],
                "admin": ["M at A", "N at B"],
            }
        ),
        pick=column("bookings", of="notes"),
    ),
    Case(
        "bookings-includeDeleted",
        list_of("bookings", "notes", include_deleted=True),
        admins_only(["M at A", "N at B", "M gone"]),
        pick=column("bookings", of="notes"),
    ),
    Case("media", list_of("media", "title"), PUBLIC_AND_M_PHOTO, pick=column("media", of="title")),
    Case(
        "media-includeDeleted",
        list_of("media", "title", include_deleted=True),
        admins_only(["A photo", "Gone photo", "M photo"]),
        pick=column("media", of="title"),
    ),
    Case(
        "users",
        list_of("users", "displayName"),
        admins_only(USERS),
        pick=column("users", of="displayName"),
    ),
    Case(
        "users-includeDeleted",
        list_of("users", "displayName", include_deleted=True),
        admins_only([*USERS, "Gone user"]),
        pick=column("users", of="displayName"),
    ),
    Case(
        "viewer",
        "query { viewer { displayName } }",
        {"anonymous": None} | NAME,
        pick=at("viewer", "displayName"),
    ),
    Case(
        "viewer.sessions",
        "query { viewer { sessions { edges { node { userAgent current } } } } }",
        {"anonymous": None}
        | {role: [{"userAgent": DEVICE[role], "current": True}] for role in NAME},
        pick=column("viewer", "sessions"),
    ),
    Case(
        "bookingStats",
        BOOKING_STATS,
        signed_in(
            {
                "member_m": [{"key": "PENDING", "count": 1}],
                "member_n": [{"key": "CONFIRMED", "count": 1}],
                "host_a": [{"key": "PENDING", "count": 1}],
                "host_b": [{"key": "CONFIRMED", "count": 1}],
                "admin": [{"key": "CONFIRMED", "count": 1}, {"key": "PENDING", "count": 1}],
            }
        ),
        pick=at("bookingStats"),
    ),
]


@per_case(QUERIES)
async def test_query(case: Case, session, world: World, execute):
    await check_reads(case, session, world, execute)


# -- sensitive fields ---------------------------------------------------------------------------

ON_NODE = "query Node($id: ID!) {{ node(id: $id) {{ ... on {type} {{ {fields} }} }} }}"
ONE_EVENT = 1  # each object of the world has one audit event: its insert


async def host_a_confirms_booking_m(session: AsyncSession, world: World) -> None:
    """Host A confirms M's booking from their browser; the audit trail records who and where."""
    host_a = world.users["host_a"]
    actor = Actor(
        user_id=host_a.id,
        email=host_a.email,
        ip_address="203.0.113.7",
        user_agent="Host A's browser",
    )
    await set_actor(session, actor)
    world.rows["booking_m"].status = "confirmed"
    await session.flush()


def updates_in_history(data: Any) -> Any:
    events = column("node", "history")(data)
    if events is None:
        return None
    who = ("actorEmail", "ipAddress", "userAgent")
    return [{key: event[key] for key in who} for event in events if event["action"] == "UPDATE"]


HOST_A_DEVICE = {
    "actorEmail": HOST_A_EMAIL,
    "ipAddress": "203.0.113.7",
    "userAgent": "Host A's browser",
}
NOBODY = {"actorEmail": None, "ipAddress": None, "userAgent": None}

SENSITIVE = [
    Case(
        "viewer.email",
        "query { viewer { email } }",
        {"anonymous": None} | EMAIL,
        pick=at("viewer", "email"),
    ),
    Case(
        "User.email-by-node",
        ON_NODE.format(type="User", fields="email"),
        only("member_m admin", M_EMAIL),
        pick=at("node", "email"),
        variables=ids("user_m"),
    ),
    Case(
        "User.email-users",
        list_of("users", "email"),
        admins_only(list(EMAIL.values())),
        pick=column("users", of="email"),
    ),
    Case(
        "User.email-venue.owner",
        VENUE.format(fields="owner { email }"),
        only("host_a admin", HOST_A_EMAIL),
        pick=at("venue", "owner", "email"),
        variables=ids("venue_a"),
    ),
    Case(
        "User.email-booking.user",
        ON_NODE.format(type="Booking", fields="user { email }"),
        only(M_SIDE, M_EMAIL),
        pick=at("node", "user", "email"),
        variables=ids("booking_m"),
    ),
    Case(
        "User.email-booking.venue.owner",
        ON_NODE.format(type="Booking", fields="venue { owner { email } }"),
        only("host_a admin", HOST_A_EMAIL),
        pick=at("node", "venue", "owner", "email"),
        variables=ids("booking_m"),
    ),
    Case(
        "User.email-venue.bookings.user",
        VENUE.format(fields="bookings { edges { node { user { email } } } }"),
        only(M_SIDE, [M_EMAIL], others=[]),
        pick=column("venue", "bookings", of="user.email"),
        variables=ids("venue_a"),
    ),
    Case(
        "User.email-bookings.user",
        list_of("bookings", "user { email }"),
        signed_in(
            {
                "member_m": [M_EMAIL],
                "member_n": [N_EMAIL],
                "host_a": [M_EMAIL],
                "host_b": [N_EMAIL],
                "admin": [M_EMAIL, N_EMAIL],
            }
        ),
        pick=column("bookings", of="user.email"),
    ),
    Case(
        "User.email-session.user",
        ON_NODE.format(type="Session", fields="user { email }"),
        only("member_m admin", M_EMAIL),
        pick=at("node", "user", "email"),
        variables=ids("session_m"),
    ),
    Case(
        "User.email-history.actor",
        ON_NODE.format(type="Booking", fields="history { edges { node { actor { email } } } }"),
        only("member_m admin", [M_EMAIL]) | {"host_a": [None]},
        pick=column("node", "history", of="actor.email"),
        variables=ids("booking_m"),
    ),
    Case(
        "AuditEvent.actor-of-host-seen-by-guest",
        ON_NODE.format(
            type="Booking",
            fields="history { edges { node { action actorEmail ipAddress userAgent } } }",
        ),
        only("host_a admin", [HOST_A_DEVICE]) | {"member_m": [NOBODY]},
        pick=updates_in_history,
        variables=ids("booking_m"),
        before=host_a_confirms_booking_m,
    ),
    Case(
        "User.preferences-by-node",
        ON_NODE.format(type="User", fields="preferences"),
        only("member_m admin", {"theme": "dark"}),
        pick=at("node", "preferences"),
        variables=ids("user_m"),
    ),
    Case(
        "User.preferences-booking.user",
        ON_NODE.format(type="Booking", fields="user { preferences }"),
        only("member_m admin", {"theme": "dark"}),
        pick=at("node", "user", "preferences"),
        variables=ids("booking_m"),
    ),
    Case(
        "User.preferences-venue.owner",
        VENUE.format(fields="owner { preferences }"),
        only("host_a admin", {}),
        pick=at("venue", "owner", "preferences"),
        variables=ids("venue_a"),
    ),
    Case(
        "User.sessions-by-node",
        ON_NODE.format(type="User", fields="sessions { edges { node { userAgent } } }"),
        only("member_m admin", [M_DEVICE], others=FORBIDDEN, anonymous=UNAUTHENTICATED),
        pick=column("node", "sessions", of="userAgent"),
        variables=ids("user_m"),
    ),
    Case(
        "Booking.notes-bookings-of-venue-a",
        "query($venue: ID!) { bookings(filter: {venueId: $venue}) { edges { node { notes } } } }",
        signed_in(only(M_SIDE, ["M at A"], others=[])),
        pick=column("bookings", of="notes"),
        variables=ids("venue_a", key="venue"),
    ),
    Case(
        "Booking.notes-in-history",
        ON_NODE.format(type="Booking", fields="history { edges { node { newData } } }"),
        only(M_SIDE, ["M at A"]),
        pick=column("node", "history", of="newData.notes"),
        variables=ids("booking_m"),
    ),
    Case(
        "User.history",
        ON_NODE.format(type="User", fields="history { totalCount }"),
        only("member_m admin", ONE_EVENT, others=FORBIDDEN, anonymous=UNAUTHENTICATED),
        pick=at("node", "history", "totalCount"),
        variables=ids("user_m"),
    ),
    Case(
        "User.history-venue.owner",
        VENUE.format(fields="owner { history { totalCount } }"),
        only("host_a admin", ONE_EVENT, others=FORBIDDEN, anonymous=UNAUTHENTICATED),
        pick=at("venue", "owner", "history", "totalCount"),
        variables=ids("venue_a"),
    ),
    Case(
        "Venue.history",
        VENUE.format(fields="history { totalCount }"),
        only("host_a admin", ONE_EVENT, others=FORBIDDEN, anonymous=UNAUTHENTICATED),
        pick=at("venue", "history", "totalCount"),
        variables=ids("venue_a"),
    ),
    Case(
        "Booking.history",
        ON_NODE.format(type="Booking", fields="history { totalCount }"),
        only(M_SIDE, ONE_EVENT),
        pick=at("node", "history", "totalCount"),
        variables=ids("booking_m"),
    ),
    Case(
        "Media.history-public-photo",
        ON_NODE.format(type="Media", fields="history { totalCount }"),
        only("host_a admin", ONE_EVENT, others=FORBIDDEN, anonymous=UNAUTHENTICATED),
        pick=at("node", "history", "totalCount"),
        variables=ids("photo_a"),
    ),
    Case(
        "Media.history-booking-photo",
        ON_NODE.format(type="Media", fields="history { totalCount }"),
        only(M_SIDE, ONE_EVENT),
        pick=at("node", "history", "totalCount"),
        variables=ids("photo_m"),
    ),
]


@per_case(SENSITIVE)
async def test_sensitive_field(case: Case, session, world: World, execute):
    await check_reads(case, session, world, execute)


# -- mutations ----------------------------------------------------------------------------------


def in_three_days(world: World) -> dict[str, Any]:
    starts_at = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    starts_at += dt.timedelta(days=3)
    return {
        "venue": world.ids["venue_a"],
        "startsAt": starts_at.isoformat(),
        "endsAt": (starts_at + dt.timedelta(hours=2)).isoformat(),
    }


def new_photo(**attached_to: str) -> Variables:
    """An `AddMediaInput`, attached to the world's objects named by `attached_to`."""

    def variables(world: World) -> dict[str, Any]:
        photo = {
            "resourceType": "IMAGE",
            "storageKey": "media/matrix-new.jpg",
            "contentHash": "ab" * 32,
            "extension": "jpg",
            "fileSize": 2048,
            "title": "New photo",
        }
        return {"input": photo | {key: world.ids[name] for key, name in attached_to.items()}}

    return variables


async def booking_m_confirmed(session: AsyncSession, world: World) -> None:
    world.rows["booking_m"].status = "confirmed"
    await session.flush()


def revoked(root: str) -> Pick:
    """Whose session the payload holds, and whether it is revoked."""

    def pick(data: Any) -> Any:
        login = dig(data, root, "session")
        return None if login is None else (login["userAgent"], login["revokedAt"] is not None)

    return pick


CREATE_VENUE = """
mutation {
  createVenue(input: {
    name: "New venue", address: "1 Quai", city: "Paris", country: "FR",
    location: {latitude: 48.85, longitude: 2.35}, hourlyRate: "40.00", currency: "EUR"
  }) { venue { owner { displayName } } }
}
"""
CREATE_BOOKING = """
mutation($venue: ID!, $startsAt: DateTime!, $endsAt: DateTime!) {
  createBooking(input: {venueId: $venue, startsAt: $startsAt, endsAt: $endsAt}) {
    booking { user { displayName } }
  }
}
"""
ON_ID = "mutation($id: ID!) {{ {name}(input: {{id: $id{extra}}}) {{ {payload} }} }}"
ADD_MEDIA = "mutation($input: AddMediaInput!) { addMedia(input: $input) { media { title } } }"
UPDATE_PROFILE = """
mutation { updateProfile(input: {displayName: "Renamed"}) { user { email displayName } } }
"""
UPDATE_PREFERENCES = """
mutation { updatePreferences(input: {patch: {lang: "fr"}}) { user { email preferences } } }
"""


def on_id(name: str, payload: str, extra: str = "") -> str:
    return ON_ID.format(name=name, payload=payload, extra=extra)


# Who may change venue A and its public photo: its host and admins. Other viewers see them, so
# they are FORBIDDEN; deleted ones they cannot see are NOT_FOUND.
def venue_a_managers(value: Any, *, others: Refused = FORBIDDEN) -> dict[str, Any]:
    return only("host_a admin", value, others=others, anonymous=UNAUTHENTICATED)


# Who may act on M's booking and the photo on it: M, host A, admins. N and host B cannot see
# them: NOT_FOUND.
def m_side(value: Any, *, member_m: Any = None) -> dict[str, Any]:
    expect = only(M_SIDE, value, others=NOT_FOUND, anonymous=UNAUTHENTICATED)
    return expect | ({"member_m": member_m} if member_m is not None else {})


MUTATIONS = [
    Case(
        "createVenue",
        CREATE_VENUE,
        {
            "anonymous": UNAUTHENTICATED,
            "member_m": FORBIDDEN,
            "member_n": FORBIDDEN,
            "host_a": "Host A",
            "host_b": "Host B",
            "admin": "Admin",
        },
        pick=at("createVenue", "venue", "owner", "displayName"),
    ),
    Case(
        "updateVenue-a",
        on_id("updateVenue", "venue { name }", extra=', name: "Renamed"'),
        venue_a_managers("Renamed"),
        pick=at("updateVenue", "venue", "name"),
        variables=ids("venue_a"),
    ),
    Case(
        "deleteVenue-a",
        on_id("deleteVenue", "venue { deletedAt }"),
        venue_a_managers(True),  # noqa: FBT003 - deletedAt is set
        pick=is_set("deleteVenue", "venue", "deletedAt"),
        variables=ids("venue_a"),
    ),
    Case(
        "restoreVenue-deleted",
        on_id("restoreVenue", "venue { deletedAt }"),
        venue_a_managers(False, others=NOT_FOUND),  # noqa: FBT003 - deletedAt is cleared
        pick=is_set("restoreVenue", "venue", "deletedAt"),
        variables=ids("gone_venue"),
    ),
    Case(
        "createBooking-a",
        CREATE_BOOKING,
        signed_in(NAME),
        pick=at("createBooking", "booking", "user", "displayName"),
        variables=in_three_days,
    ),
    Case(
        "createBooking-deleted-venue",
        CREATE_BOOKING,
        signed_in(NOT_FOUND),
        pick=at("createBooking", "booking", "user", "displayName"),
        variables=lambda world: in_three_days(world) | {"venue": world.ids["gone_venue"]},
    ),
    Case(
        "confirmBooking-m",
        on_id("confirmBooking", "booking { status }"),
        m_side("CONFIRMED", member_m=FORBIDDEN),
        pick=at("confirmBooking", "booking", "status"),
        variables=ids("booking_m"),
    ),
    Case(
        "cancelBooking-m",
        on_id("cancelBooking", "booking { status }"),
        m_side("CANCELLED"),
        pick=at("cancelBooking", "booking", "status"),
        variables=ids("booking_m"),
    ),
    Case(
        "completeBooking-m",
        on_id("completeBooking", "booking { status }"),
        m_side("COMPLETED", member_m=FORBIDDEN),
        pick=at("completeBooking", "booking", "status"),
        variables=ids("booking_m"),
        before=booking_m_confirmed,
    ),
    Case(
        "addMedia-unattached",
        ADD_MEDIA,
        signed_in("New photo"),
        pick=at("addMedia", "media", "title"),
        variables=new_photo(),
    ),
    Case(
        "addMedia-venue-a",
        ADD_MEDIA,
        venue_a_managers("New photo"),
        pick=at("addMedia", "media", "title"),
        variables=new_photo(venueId="venue_a"),
    ),
    Case(
        "addMedia-booking-m",
        ADD_MEDIA,
        m_side("New photo"),
        pick=at("addMedia", "media", "title"),
        variables=new_photo(bookingId="booking_m"),
    ),
    Case(
        "updateMedia-public-photo",
        on_id("updateMedia", "media { title }", extra=', title: "Retitled"'),
        venue_a_managers("Retitled"),
        pick=at("updateMedia", "media", "title"),
        variables=ids("photo_a"),
    ),
    Case(
        "updateMedia-booking-photo",
        on_id("updateMedia", "media { title }", extra=', title: "Retitled"'),
        m_side("Retitled"),
        pick=at("updateMedia", "media", "title"),
        variables=ids("photo_m"),
    ),
    Case(
        "deleteMedia-public-photo",
        on_id("deleteMedia", "media { deletedAt }"),
        venue_a_managers(True),  # noqa: FBT003 - deletedAt is set
        pick=is_set("deleteMedia", "media", "deletedAt"),
        variables=ids("photo_a"),
    ),
    Case(
        "deleteMedia-booking-photo",
        on_id("deleteMedia", "media { deletedAt }"),
        m_side(True),  # noqa: FBT003 - deletedAt is set
        pick=is_set("deleteMedia", "media", "deletedAt"),
        variables=ids("photo_m"),
    ),
    Case(
        "restoreMedia-deleted-photo",
        on_id("restoreMedia", "media { deletedAt }"),
        venue_a_managers(False, others=NOT_FOUND),  # noqa: FBT003 - deletedAt is cleared
        pick=is_set("restoreMedia", "media", "deletedAt"),
        variables=ids("gone_photo"),
    ),
    Case(
        "updateProfile",
        UPDATE_PROFILE,
        signed_in({role: {"email": EMAIL[role], "displayName": "Renamed"} for role in NAME}),
        pick=at("updateProfile", "user"),
    ),
    Case(
        "updatePreferences",
        UPDATE_PREFERENCES,
        signed_in({role: {"email": EMAIL[role], "preferences": {"lang": "fr"}} for role in NAME})
        | {"member_m": {"email": M_EMAIL, "preferences": {"theme": "dark", "lang": "fr"}}},
        pick=at("updatePreferences", "user"),
    ),
    Case(
        "revokeSession-of-m",
        on_id("revokeSession", "session { userAgent revokedAt }"),
        only("member_m admin", (M_DEVICE, True), others=NOT_FOUND, anonymous=UNAUTHENTICATED),
        pick=revoked("revokeSession"),
        variables=ids("session_m"),
    ),
    Case(
        "logOut",
        "mutation { logOut { session { userAgent revokedAt } } }",
        signed_in({role: (DEVICE[role], True) for role in NAME}),
        pick=revoked("logOut"),
    ),
]


async def footprint(session: AsyncSession) -> tuple[int, int]:
    """What a write leaves behind: audit events and revoked login sessions, counted."""
    events = select(func.count()).select_from(AuditLog).scalar_subquery()
    revoked_logins = (
        select(func.count())
        .select_from(LoginSession)
        .where(LoginSession.revoked_at.is_not(None))
        .scalar_subquery()
    )
    counts = (await session.execute(select(events, revoked_logins))).one()
    return counts[0], counts[1]


@per_case_and_role(MUTATIONS)
async def test_mutation(case: Case, role: str, session, world: World, execute):
    if case.before is not None:
        await case.before(session, world)
    before = await footprint(session)

    got = await outcome(execute, case, world, role)

    check(case, {role: got})
    wrote = await footprint(session) != before
    assert wrote is not isinstance(got, Refused), "a write happens exactly when it is allowed"
