"""The frontend's operations in `graph/operations/` parse, validate and run on real data.

Every `.graphql` file there is checked. A file holds either one operation named like the file
(`LogIn.graphql` holds `LogIn`) or only fragments (`fragments.graphql`); fragments may be
spread from any file and are resolved across files, as the codegen tool resolves them.

Each operation also needs a scenario below: a function that makes its data with the
factories, and returns the variables to run it with, a check of the result and the viewer, so
adding an operation without a way to run it fails here.
"""

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DefinitionNode,
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    NoUnusedFragmentsRule,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    specified_rules,
    validate,
    visit,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.context import Context
from graph.core.global_id import decode_typed_id, encode_global_id
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from graph.entities.venue.inputs import VENUE_ORDERINGS, VenueOrder
from graph.schema.root import schema
from models import Actor, Booking, LoginSession, Media, auth, set_actor
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

OPERATIONS_DIR = Path(__file__).resolve().parents[3] / "graph" / "operations"
OPERATION_FILES = sorted(OPERATIONS_DIR.rglob("*.graphql"))

Check = Callable[[dict[str, Any]], Awaitable[None]]
# A scenario makes data and returns the variables, a check of the result and the viewer.
Outcome = tuple[dict[str, Any], Check, Viewer | None]
Scenario = Callable[[AsyncSession], Awaitable[Outcome]]

PASSWORD = "correct horse battery"
# Bookings are made for dates well after any test run.
MAY_2031 = dt.datetime(2031, 5, 1, tzinfo=dt.UTC)


# --- Reading the documents ----------------------------------------------------------------------


@cache
def load(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fragments(document: DocumentNode) -> list[FragmentDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]


def all_operations() -> dict[str, tuple[Path, OperationDefinitionNode]]:
    found: dict[str, tuple[Path, OperationDefinitionNode]] = {}
    for path in OPERATION_FILES:
        for operation in operations(load(path)):
            assert operation.name is not None, f"{path.name}: every operation needs a name"
            found.setdefault(operation.name.value, (path, operation))
    return found


def all_fragments() -> dict[str, FragmentDefinitionNode]:
    found: dict[str, FragmentDefinitionNode] = {}
    for path in OPERATION_FILES:
        for fragment in fragments(load(path)):
            found.setdefault(fragment.name.value, fragment)
    return found


def spread_names(node: Node) -> set[str]:
    """Names of the fragments spread directly inside `node`."""
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.add(spread.name.value)

    visit(node, Spreads())
    return names


def fragments_used_by(nodes: Iterable[Node]) -> list[FragmentDefinitionNode]:
    """The fragments `nodes` spread, directly or through other fragments, from any file."""
    known = all_fragments()
    pending = set().union(*(spread_names(node) for node in nodes))
    found: dict[str, FragmentDefinitionNode] = {}
    while pending:
        name = pending.pop()
        if name in found or name not in known:
            continue  # an unknown name is left for validation to report
        found[name] = known[name]
        pending |= spread_names(known[name])
    return [found[name] for name in sorted(found)]


def with_fragments(definitions: Iterable[DefinitionNode]) -> DocumentNode:
    """`definitions` plus the fragments they use that other files define."""
    own = list(definitions)
    own_names = {d.name.value for d in own if isinstance(d, FragmentDefinitionNode)}
    others = [f for f in fragments_used_by(own) if f.name.value not in own_names]
    return DocumentNode(definitions=(*own, *others))


def operation_source(name: str) -> str:
    """The text a client sends for operation `name`: the operation and every fragment it uses."""
    _, operation = all_operations()[name]
    return print_ast(with_fragments([operation]))


# --- Scenarios ----------------------------------------------------------------------------------


async def member_with_password(session: AsyncSession, **fields: Any):
    return await make_user(session, password_hash=await auth.hash_password(PASSWORD), **fields)


def at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def venue_details(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host", display_name="Hana Host")
    venue = await make_venue(
        session, owner=host, name="Sunlit Loft", city="Lisbon", latitude=38.7223, longitude=-9.1393
    )
    guest = await make_user(session, display_name="Gus Guest")
    start = dt.datetime(2031, 5, 1, 9, tzinfo=dt.UTC)
    first = await make_booking(session, venue=venue, user=guest, starts_at=start)
    await make_booking(session, venue=venue, user=guest, starts_at=start + dt.timedelta(days=1))
    photo = await make_media(session, venue=venue, title="Front room", width=800, height=600)

    async def check(data: dict[str, Any]) -> None:
        venue_data = data["venue"]
        assert venue_data["name"] == "Sunlit Loft"
        assert venue_data["city"] == "Lisbon"
        assert (venue_data["latitude"], venue_data["longitude"]) == pytest.approx(
            (38.7223, -9.1393)
        )
        assert Decimal(venue_data["hourlyRate"]) == Decimal("50.00")
        assert venue_data["id"] == encode_global_id("Venue", venue.id)
        assert venue_data["owner"] == {
            "id": encode_global_id("User", host.id),
            "displayName": "Hana Host",
        }
        bookings = venue_data["bookings"]
        assert len(bookings["edges"]) == 1
        node = bookings["edges"][0]["node"]
        assert node["id"] == encode_global_id("Booking", first.id)
        assert at(node["startsAt"]) == start
        assert at(node["endsAt"]) == start + dt.timedelta(hours=2)
        assert node["status"] == "PENDING"
        assert Decimal(node["amount"]) == Decimal("100.00")
        assert node["user"] == {
            "id": encode_global_id("User", guest.id),
            "displayName": "Gus Guest",
        }
        assert bookings["pageInfo"] == {
            "hasNextPage": True,
            "endCursor": bookings["edges"][0]["cursor"],
        }
        assert venue_data["media"] == {
            "edges": [
                {
                    "node": {
                        "id": encode_global_id("Media", photo.id),
                        "title": "Front room",
                        "width": 800,
                        "height": 600,
                    }
                }
            ]
        }

    # The host sees every booking of their venue.
    return {"id": encode_global_id("Venue", venue.id), "bookings": 1}, check, viewer_of(host)


async def sign_up(session: AsyncSession) -> Outcome:
    async def check(data: dict[str, Any]) -> None:
        payload = data["signUp"]
        user, session_data = payload["user"], payload["session"]
        assert user["displayName"] == "Ada Lovelace"
        assert user["email"] == "ada@example.test"
        assert user["role"] == "MEMBER"
        assert user["preferences"] == {}
        # The request itself was anonymous: the new session is not the request's.
        assert session_data["current"] is False
        assert session_data["revokedAt"] is None
        assert at(session_data["expiresAt"]) > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        # The token signs in as the new account, on the session returned.
        signed_in = await auth.authenticate(session, token=payload["token"])
        assert signed_in is not None
        account, login = signed_in
        assert encode_global_id("User", account.id) == user["id"]
        assert encode_global_id("Session", login.id) == session_data["id"]

    variables = {
        "input": {"email": "ada@example.test", "password": PASSWORD, "displayName": "Ada Lovelace"}
    }
    return variables, check, None


async def log_in(session: AsyncSession) -> Outcome:
    user = await member_with_password(session, email="lin@example.test", display_name="Lin")

    async def check(data: dict[str, Any]) -> None:
        payload = data["logIn"]
        assert payload["user"] == {
            "id": encode_global_id("User", user.id),
            "displayName": "Lin",
            "email": "lin@example.test",
            "role": "MEMBER",
            "createdAt": user.created_at.isoformat(),
        }
        assert payload["session"]["revokedAt"] is None
        assert payload["session"]["current"] is False
        signed_in = await auth.authenticate(session, token=payload["token"])
        assert signed_in is not None
        account, login = signed_in
        assert account.id == user.id
        assert encode_global_id("Session", login.id) == payload["session"]["id"]

    return {"input": {"email": "LIN@example.test", "password": PASSWORD}}, check, None


async def log_out(session: AsyncSession) -> Outcome:
    user = await make_user(session)
    login = await make_login_session(session, user=user, token="this-device")
    await make_login_session(session, user=user, token="other-device")

    async def check(data: dict[str, Any]) -> None:
        ended = data["logOut"]["session"]
        assert ended["id"] == encode_global_id("Session", login.id)
        assert ended["current"] is True
        assert ended["revokedAt"] is not None
        assert await auth.authenticate(session, token="this-device") is None
        # The user's other device stays signed in.
        assert await auth.authenticate(session, token="other-device") is not None

    return {}, check, Viewer.from_login(user, login)


async def viewer(session: AsyncSession) -> Outcome:
    user = await make_user(
        session, display_name="Vera", email="vera@example.test", preferences={"theme": "dark"}
    )
    day = dt.timedelta(days=1)
    now = dt.datetime.now(dt.UTC)
    await make_login_session(
        session, user=user, created_at=now - 3 * day, revoked_at=now - day, user_agent="Old phone"
    )
    middle = await make_login_session(session, user=user, created_at=now - 2 * day)
    newest = await make_login_session(
        session, user=user, created_at=now - day, user_agent="Firefox", ip_address="203.0.113.7"
    )
    await make_login_session(session)  # someone else's

    async def check(data: dict[str, Any]) -> None:
        me = data["viewer"]
        assert (me["id"], me["displayName"], me["email"], me["role"]) == (
            encode_global_id("User", user.id),
            "Vera",
            "vera@example.test",
            "MEMBER",
        )
        assert me["preferences"] == {"theme": "dark"}
        sessions = me["sessions"]
        assert sessions["totalCount"] == 3  # the revoked one too, not someone else's
        nodes = [edge["node"] for edge in sessions["edges"]]
        # Newest first; the request's own session is marked current.
        assert [n["id"] for n in nodes] == [
            encode_global_id("Session", newest.id),
            encode_global_id("Session", middle.id),
        ]
        assert [n["current"] for n in nodes] == [False, True]
        assert (nodes[0]["userAgent"], nodes[0]["ipAddress"]) == ("Firefox", "203.0.113.7")
        assert sessions["pageInfo"]["hasNextPage"] is True
        assert sessions["pageInfo"]["endCursor"] == sessions["edges"][1]["cursor"]

    return {"sessions": 2}, check, Viewer.from_login(user, middle)


async def update_profile(session: AsyncSession) -> Outcome:
    user = await make_user(session, display_name="Before", email="same@example.test")

    async def check(data: dict[str, Any]) -> None:
        changed = data["updateProfile"]["user"]
        assert changed["id"] == encode_global_id("User", user.id)
        assert changed["displayName"] == "After"
        assert changed["email"] == "same@example.test"  # omitted: kept
        assert user.display_name == "After"

    return {"input": {"displayName": "After"}}, check, viewer_of(user)


async def update_preferences(session: AsyncSession) -> Outcome:
    user = await make_user(
        session, preferences={"theme": "light", "notifications": {"email": True, "push": True}}
    )

    async def check(data: dict[str, Any]) -> None:
        changed = data["updatePreferences"]["user"]
        assert changed["id"] == encode_global_id("User", user.id)
        assert changed["preferences"] == {"theme": "dark", "notifications": {"email": True}}

    patch = {"theme": "dark", "notifications": {"push": None}}
    return {"input": {"patch": patch}}, check, viewer_of(user)


async def venue_search_list(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host", display_name="Porto Host")
    rates = {"Cheap": "20", "Cosy": "35", "Bright": "50", "Grand": "80", "Palace": "120"}
    venues = {
        name: await make_venue(
            session, owner=host, name=name, city="Porto", hourly_rate=Decimal(rate)
        )
        for name, rate in rates.items()
    }
    await make_venue(session, name="Elsewhere", city="Lisbon", hourly_rate=Decimal(40))
    cover = await make_media(session, venue=venues["Bright"], title="Cover", width=640)
    await make_media(session, venue=venues["Bright"], title="Second photo")
    # The second page, after "Cosy", of Porto venues at 30 to 100 an hour, cheapest first.
    after = VENUE_ORDERINGS[VenueOrder.HOURLY_RATE_ASC].cursor_of(venues["Cosy"])

    async def check(data: dict[str, Any]) -> None:
        page = data["venues"]
        assert page["totalCount"] == 3  # Cosy, Bright and Grand match, on every page
        (edge,) = page["edges"]
        card = edge["node"]
        assert card["id"] == encode_global_id("Venue", venues["Bright"].id)
        assert (card["name"], card["city"], card["country"]) == ("Bright", "Porto", "FR")
        assert (Decimal(card["hourlyRate"]), card["currency"]) == (Decimal(50), "EUR")
        assert card["owner"] == {
            "id": encode_global_id("User", host.id),
            "displayName": "Porto Host",
        }
        (photo,) = [e["node"] for e in card["media"]["edges"]]
        assert (photo["id"], photo["title"], photo["width"]) == (
            encode_global_id("Media", cover.id),
            "Cover",
            640,
        )
        assert page["pageInfo"]["hasNextPage"] is True
        assert page["pageInfo"]["startCursor"] == page["pageInfo"]["endCursor"] == edge["cursor"]

    variables = {
        "filter": {"city": "Porto", "hourlyRate": {"min": "30", "max": "100"}},
        "orderBy": "HOURLY_RATE_ASC",
        "first": 1,
        "after": after,
    }
    return variables, check, None


async def my_bookings(session: AsyncSession) -> Outcome:
    # A host who also books other venues: only the bookings they made, not their venues'.
    host = await make_user(session, role="host")
    own_venue = await make_venue(session, owner=host)
    studio = await make_venue(session, name="Studio", address="1 Rua Augusta", city="Lisbon")
    day = dt.timedelta(days=1)
    pending = await make_booking(session, user=host, venue=studio, starts_at=MAY_2031 + 3 * day)
    confirmed = await make_booking(
        session, user=host, venue=studio, starts_at=MAY_2031 + 40 * day, status="confirmed"
    )
    await make_booking(session, user=host, venue=studio, starts_at=MAY_2031, status="cancelled")
    await make_booking(session, user=host, venue=studio, starts_at=MAY_2031 + 400 * day)
    await make_booking(session, venue=own_venue, starts_at=MAY_2031 + 5 * day)  # a guest's

    async def check(data: dict[str, Any]) -> None:
        page = data["bookings"]
        assert page["totalCount"] == 2
        nodes = [edge["node"] for edge in page["edges"]]
        assert [(n["id"], n["status"]) for n in nodes] == [
            (encode_global_id("Booking", pending.id), "PENDING"),
            (encode_global_id("Booking", confirmed.id), "CONFIRMED"),
        ]
        assert at(nodes[0]["startsAt"]) == pending.starts_at
        assert Decimal(nodes[1]["amount"]) == confirmed.amount
        for node in nodes:
            assert node["venue"]["id"] == encode_global_id("Venue", studio.id)
            assert (node["venue"]["name"], node["venue"]["address"]) == ("Studio", "1 Rua Augusta")
        assert page["pageInfo"]["hasNextPage"] is False

    variables = {
        "status": ["PENDING", "CONFIRMED"],
        "startsAt": {"from": MAY_2031.isoformat(), "to": (MAY_2031 + 61 * day).isoformat()},
        "userId": encode_global_id("User", host.id),
    }
    return variables, check, viewer_of(host)


async def create_booking(session: AsyncSession) -> Outcome:
    guest = await make_user(session)
    venue = await make_venue(session, name="Quiet Room", hourly_rate=Decimal("40.00"))
    starts_at = MAY_2031.replace(hour=10)

    async def check(data: dict[str, Any]) -> None:
        booking = data["createBooking"]["booking"]
        assert booking["status"] == "PENDING"
        assert (at(booking["startsAt"]), at(booking["endsAt"])) == (
            starts_at,
            starts_at + dt.timedelta(hours=3),
        )
        assert (Decimal(booking["amount"]), booking["currency"]) == (Decimal("120.00"), "EUR")
        assert booking["notes"] == "Projector, please"
        assert booking["venue"] == {"id": encode_global_id("Venue", venue.id), "name": "Quiet Room"}
        row = await session.get(Booking, decode_typed_id(booking["id"], "Booking", field="id"))
        assert row is not None
        assert row.user_id == guest.id

    booking_input = {
        "venueId": encode_global_id("Venue", venue.id),
        "startsAt": starts_at.isoformat(),
        "endsAt": (starts_at + dt.timedelta(hours=3)).isoformat(),
        "notes": "Projector, please",
    }
    return {"input": booking_input}, check, viewer_of(guest)


async def cancel_booking(session: AsyncSession) -> Outcome:
    guest = await make_user(session)
    booking = await make_booking(session, user=guest, status="confirmed")

    async def check(data: dict[str, Any]) -> None:
        cancelled = data["cancelBooking"]["booking"]
        assert cancelled["id"] == encode_global_id("Booking", booking.id)
        assert cancelled["status"] == "CANCELLED"
        assert at(cancelled["startsAt"]) == booking.starts_at
        await session.refresh(booking)
        assert booking.status == "cancelled"

    return {"input": {"id": encode_global_id("Booking", booking.id)}}, check, viewer_of(guest)


async def confirm_booking(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host")
    guest = await make_user(session, display_name="Gia", email="gia@example.test")
    booking = await make_booking(session, user=guest, venue=await make_venue(session, owner=host))

    async def check(data: dict[str, Any]) -> None:
        confirmed = data["confirmBooking"]["booking"]
        assert confirmed["id"] == encode_global_id("Booking", booking.id)
        assert confirmed["status"] == "CONFIRMED"
        # The host sees who booked, with an email to reach them.
        assert confirmed["user"] == {
            "id": encode_global_id("User", guest.id),
            "displayName": "Gia",
            "email": "gia@example.test",
        }
        await session.refresh(booking)
        assert booking.status == "confirmed"

    return {"input": {"id": encode_global_id("Booking", booking.id)}}, check, viewer_of(host)


async def host_dashboard(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host")
    guest = await make_user(session, display_name="Gus", email="gus@example.test")
    atelier = await make_venue(session, owner=host, name="Atelier")
    boathouse = await make_venue(session, owner=host, name="Boathouse")
    day = dt.timedelta(days=1)
    first = await make_booking(
        session, user=guest, venue=atelier, starts_at=MAY_2031 + 2 * day, status="completed"
    )
    await make_booking(session, user=guest, venue=atelier, starts_at=MAY_2031 + 9 * day)
    await make_booking(
        session, user=guest, venue=boathouse, starts_at=MAY_2031 + 35 * day, status="confirmed"
    )
    # Another host's venue and its bookings: neither listed nor counted.
    await make_booking(session, user=guest, starts_at=MAY_2031 + 4 * day, status="completed")

    async def check(data: dict[str, Any]) -> None:
        venues = data["venues"]
        assert venues["totalCount"] == 2
        nodes = [edge["node"] for edge in venues["edges"]]
        assert [n["name"] for n in nodes] == ["Atelier", "Boathouse"]
        atelier_bookings = nodes[0]["bookings"]
        assert atelier_bookings["totalCount"] == 2
        (shown,) = [edge["node"] for edge in atelier_bookings["edges"]]
        assert (shown["id"], shown["status"]) == (
            encode_global_id("Booking", first.id),
            "COMPLETED",
        )
        assert shown["user"]["email"] == "gus@example.test"
        assert nodes[1]["bookings"]["totalCount"] == 1
        stats = [
            (b["key"], b["count"], b["completedCount"], Decimal(b["completedRevenue"]))
            for b in data["bookingStats"]
        ]
        assert stats == [
            ("2031-05-01", 2, 1, Decimal("100.00")),
            ("2031-06-01", 1, 0, Decimal(0)),
        ]

    variables = {
        "ownerId": encode_global_id("User", host.id),
        "from": "2031-01-01T00:00:00+00:00",
        "to": "2032-01-01T00:00:00+00:00",
        "bookings": 1,
    }
    return variables, check, viewer_of(host)


async def add_venue_media(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)

    async def check(data: dict[str, Any]) -> None:
        media = data["addMedia"]["media"]
        assert media["title"] == "Street front"
        assert (media["resourceType"], media["extension"]) == ("IMAGE", "jpg")
        assert (media["width"], media["height"], media["fileSize"]) == (1600, 900, 123456)
        assert media["tags"] == ["facade", "street"]  # repeats dropped
        assert media["altText"] == "The venue's door on a sunny street"
        # The payload has no venue or owner (see the report): read the row.
        row = await session.get(Media, decode_typed_id(media["id"], "Media", field="id"))
        assert row is not None
        assert (row.venue_id, row.owner_id) == (venue.id, host.id)

    media_input = {
        "venueId": encode_global_id("Venue", venue.id),
        "resourceType": "IMAGE",
        "storageKey": "venues/street-front.jpg",
        "contentHash": "ab" * 32,
        "extension": "jpg",
        "fileSize": 123456,
        "width": 1600,
        "height": 900,
        "title": "Street front",
        "altText": "The venue's door on a sunny street",
        "tags": ["facade", "street", "facade"],
        "dominantColor": "#c0ffee",
    }
    return {"input": media_input}, check, viewer_of(host)


async def venue_history(session: AsyncSession) -> Outcome:
    host = await make_user(session, role="host", display_name="Hana", email="hana@example.test")
    await set_actor(session, Actor(user_id=host.id, email=host.email))
    venue = await make_venue(session, owner=host, name="Old name")
    # Every write of the test shares the transaction's now(): date the insert an hour back.
    await session.execute(
        text(
            "UPDATE audit_log SET created_at = now() - interval '1 hour'"
            " WHERE record_id = :id AND action = 'INSERT'"
        ),
        {"id": venue.id},
    )
    venue.name = "New name"
    await session.flush()
    await make_venue(session, owner=host)  # another venue's history is not this one's

    async def check(data: dict[str, Any]) -> None:
        assert data["venue"]["name"] == "New name"
        history = data["venue"]["history"]
        assert history["totalCount"] == 2
        renamed, created = (edge["node"] for edge in history["edges"])
        assert renamed["action"] == "UPDATE"
        assert "name" in renamed["changedFields"]
        assert (renamed["oldData"]["name"], renamed["newData"]["name"]) == ("Old name", "New name")
        assert renamed["actorEmail"] == "hana@example.test"
        assert renamed["actor"] == {"id": encode_global_id("User", host.id), "displayName": "Hana"}
        assert created["action"] == "INSERT"
        assert (created["oldData"], created["newData"]["name"]) == (None, "Old name")
        assert at(created["createdAt"]) < at(renamed["createdAt"])
        assert history["pageInfo"]["hasNextPage"] is False

    return {"id": encode_global_id("Venue", venue.id)}, check, viewer_of(host)


async def revoke_session(session: AsyncSession) -> Outcome:
    user = await make_user(session)
    this_device = await make_login_session(session, user=user)
    lost_phone = await make_login_session(session, user=user, user_agent="Lost phone")

    async def check(data: dict[str, Any]) -> None:
        revoked = data["revokeSession"]["session"]
        assert revoked["id"] == encode_global_id("Session", lost_phone.id)
        assert revoked["userAgent"] == "Lost phone"
        assert revoked["revokedAt"] is not None
        assert revoked["current"] is False
        rows = await session.scalars(
            select(LoginSession.id).where(
                LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
            )
        )
        assert list(rows) == [this_device.id]

    variables = {"input": {"id": encode_global_id("Session", lost_phone.id)}}
    return variables, check, Viewer.from_login(user, this_device)


SCENARIOS: dict[str, Scenario] = {
    "AddVenueMedia": add_venue_media,
    "CancelBooking": cancel_booking,
    "ConfirmBooking": confirm_booking,
    "CreateBooking": create_booking,
    "HostDashboard": host_dashboard,
    "LogIn": log_in,
    "LogOut": log_out,
    "MyBookings": my_bookings,
    "RevokeSession": revoke_session,
    "SignUp": sign_up,
    "UpdatePreferences": update_preferences,
    "UpdateProfile": update_profile,
    "VenueDetails": venue_details,
    "VenueHistory": venue_history,
    "VenueSearchList": venue_search_list,
    "Viewer": viewer,
}


# --- Tests --------------------------------------------------------------------------------------


def test_there_are_operations():
    assert OPERATION_FILES, f"no .graphql files under {OPERATIONS_DIR}"


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda path: path.name)
def test_file_holds_one_operation_named_like_it_or_only_fragments(path):
    document = load(path)
    kinds = {type(d) for d in document.definitions}
    assert kinds <= {OperationDefinitionNode, FragmentDefinitionNode}, path.name
    found = operations(document)
    if not found:
        assert fragments(document), f"{path.name} holds neither an operation nor fragments"
        return
    assert len(found) == 1, f"{path.name}: one operation per file"
    assert found[0].name is not None, f"{path.name}: every operation needs a name"
    assert found[0].name.value == path.stem, f"{path.name} must hold operation {path.stem}"


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda path: path.name)
def test_file_is_valid_against_the_schema(path):
    document = load(path)
    rules = specified_rules
    if not operations(document):
        # A fragments-only file is used by others; the test below checks each fragment is.
        rules = tuple(rule for rule in specified_rules if rule is not NoUnusedFragmentsRule)
    errors = validate(schema._schema, with_fragments(document.definitions), rules)  # noqa: SLF001
    assert errors == [], "\n".join(f"{path.name}: {error}" for error in errors)


def test_fragment_names_are_unique_and_each_is_used():
    seen: dict[str, Path] = {}
    for path in OPERATION_FILES:
        for fragment in fragments(load(path)):
            name = fragment.name.value
            assert name not in seen, f"fragment {name} is in both {seen[name].name} and {path.name}"
            seen[name] = path
    used = {f.name.value for f in fragments_used_by(op for _, op in all_operations().values())}
    assert sorted(set(seen) - used) == [], "fragments no operation uses"


def test_operation_names_are_unique_and_named():
    seen: dict[str, Path] = {}
    for path in OPERATION_FILES:
        for operation in operations(load(path)):
            assert operation.name is not None, f"{path.name}: every operation needs a name"
            name = operation.name.value
            assert name not in seen, f"{name} is in both {seen[name].name} and {path.name}"
            seen[name] = path


def test_operation_source_carries_the_fragments_it_spreads():
    source = operation_source("MyBookings")

    assert "fragment BookingFields on Booking" in source
    assert "fragment VenueCard on Venue" in source
    assert "fragment SessionFields" not in source
    assert validate(schema._schema, parse(source)) == []  # noqa: SLF001


def test_a_spread_of_an_unknown_fragment_fails_validation():
    document = with_fragments(parse("query Broken { viewer { ...NoSuchFragment } }").definitions)

    (error,) = validate(schema._schema, document)  # noqa: SLF001
    assert error.message == "Unknown fragment 'NoSuchFragment'."


def test_every_operation_has_a_scenario():
    assert sorted(all_operations()) == sorted(SCENARIOS), (
        "add a scenario to SCENARIOS for each operation in graph/operations (and only those)"
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_operation_runs_on_factory_data(session, name):
    variables, check, viewer = await SCENARIOS[name](session)

    context = Context(db=RequestDatabase(session), viewer=viewer)
    try:
        result = await schema.execute(
            operation_source(name),
            variable_values=variables,
            context_value=context,
            operation_name=name,
        )
    finally:
        await context.db.finish()

    assert result.errors is None, result.errors
    assert result.data is not None
    await check(result.data)
