import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from graph.core.global_id import encode_global_id, encode_timestamped_id
from models import Actor, User, restore, set_actor, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

# Every write of a test happens within a moment; each test moves the audit rows of one write
# to its own time with `stamp` (a day back), so each event has a time of its own.
START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=1)

HISTORY_FIELDS = """
totalCount
pageInfo { hasNextPage hasPreviousPage endCursor }
edges {
  cursor
  node {
    id action tableName recordId changedFields oldData newData
    actorEmail ipAddress userAgent createdAt
    actor { id displayName }
  }
}
"""

VENUE_HISTORY = f"""
query VenueHistory($id: ID!, $first: Int!, $after: String) {{
  venue(id: $id) {{ history(first: $first, after: $after) {{ {HISTORY_FIELDS} }} }}
}}
"""

USER_HISTORY = f"""
query UserHistory($id: ID!) {{
  node(id: $id) {{ ... on User {{ history {{ {HISTORY_FIELDS} }} }} }}
}}
"""

NODE_HISTORY = """
query NodeHistory($id: ID!) {
  node(id: $id) {
    ... on User { history { totalCount edges { node { action } } } }
    ... on Venue { history { totalCount edges { node { action } } } }
    ... on Booking { history { totalCount edges { node { action } } } }
    ... on Media { history { totalCount edges { node { action } } } }
  }
}
"""


def actor_of(user: User, *, ip_address: str = "203.0.113.9") -> Actor:
    return Actor(user_id=user.id, email=user.email, ip_address=ip_address, user_agent="pytest/1.0")


async def stamp(session, record_id: uuid.UUID, minutes: int) -> dt.datetime:
    """Date the record's audit rows written since the last stamp `minutes` after START."""
    at = START + dt.timedelta(minutes=minutes)
    result = await session.execute(
        text(
            "UPDATE audit_log SET created_at = :at"
            " WHERE record_id = :record_id AND created_at >= now()"
        ),
        {"at": at, "record_id": record_id},
    )
    assert result.rowcount >= 1
    return at


async def rename_venue(session, venue, name: str, minutes: int) -> None:
    venue.name = name
    await session.flush()
    await stamp(session, venue.id, minutes)


async def test_venue_history_is_newest_first_with_actor_and_data(session, execute):
    host = await make_user(session, role="host", display_name="Hana Host")
    await set_actor(session, actor_of(host))
    venue = await make_venue(session, owner=host, name="Old name")
    inserted_at = await stamp(session, venue.id, 0)
    await rename_venue(session, venue, "New name", 1)
    await soft_delete(session, venue)
    await stamp(session, venue.id, 2)
    await restore(session, venue)
    restored_at = await stamp(session, venue.id, 3)

    result = await execute(
        VENUE_HISTORY,
        {"id": encode_global_id("Venue", venue.id), "first": 10},
        viewer=viewer_of(host),
    )

    assert result.errors is None
    history = result.data["venue"]["history"]
    events = [edge["node"] for edge in history["edges"]]
    assert [event["action"] for event in events] == ["RESTORE", "SOFT_DELETE", "UPDATE", "INSERT"]
    assert history["totalCount"] == 4
    assert history["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "endCursor": history["edges"][-1]["cursor"],
    }
    restored, soft_deleted, updated, inserted = events
    assert dt.datetime.fromisoformat(restored["createdAt"]) == restored_at
    assert dt.datetime.fromisoformat(inserted["createdAt"]) == inserted_at
    assert updated["changedFields"] == ["name"]
    assert updated["oldData"]["name"] == "Old name"
    assert updated["newData"]["name"] == "New name"
    assert soft_deleted["changedFields"] == ["deleted_at"]
    assert inserted["oldData"] is None
    assert inserted["changedFields"] is None
    assert inserted["newData"]["name"] == "Old name"
    assert "search" not in inserted["newData"]
    for event in events:
        assert event["tableName"] == "venues"
        assert event["recordId"] == encode_global_id("Venue", venue.id)
        assert event["actor"] == {
            "id": encode_global_id("User", host.id),
            "displayName": "Hana Host",
        }
        assert (event["actorEmail"], event["ipAddress"], event["userAgent"]) == (
            host.email,
            "203.0.113.9",
            "pytest/1.0",
        )


async def test_actor_is_null_without_an_actor_or_once_the_actor_is_gone(session, execute):
    admin = await make_user(session, role="admin")
    leaver = await make_user(session, role="admin", email="leaver@example.test")
    venue = await make_venue(session)  # no actor set: a migration or a script
    await stamp(session, venue.id, 0)
    await set_actor(session, actor_of(leaver))
    await rename_venue(session, venue, "Renamed by a leaver", 1)
    await soft_delete(session, leaver)

    result = await execute(
        VENUE_HISTORY,
        {"id": encode_global_id("Venue", venue.id), "first": 10},
        viewer=viewer_of(admin),
    )

    assert result.errors is None
    by_leaver, unattributed = [edge["node"] for edge in result.data["venue"]["history"]["edges"]]
    assert (by_leaver["action"], by_leaver["actor"]) == ("UPDATE", None)
    assert by_leaver["actorEmail"] == "leaver@example.test"
    assert (unattributed["action"], unattributed["actor"], unattributed["actorEmail"]) == (
        "INSERT",
        None,
        None,
    )
    assert (unattributed["ipAddress"], unattributed["userAgent"]) == (None, None)


async def test_user_history_leaves_the_password_hash_out(session, execute):
    user = await make_user(session, password_hash="argon2-secret")
    await stamp(session, user.id, 0)
    user.password_hash = "argon2-new-secret"
    await session.flush()
    await stamp(session, user.id, 1)

    result = await execute(
        USER_HISTORY,
        {"id": encode_global_id("User", user.id)},
        viewer=viewer_of(user),
    )

    assert result.errors is None
    changed, created = [edge["node"] for edge in result.data["node"]["history"]["edges"]]
    assert changed["changedFields"] == ["password_hash"]
    assert "secret" not in str(result.data)
    assert "password_hash" not in created["newData"]


async def test_paging_with_after_neither_repeats_nor_skips(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="v0")
    await stamp(session, venue.id, 0)
    for n in range(1, 7):
        await rename_venue(session, venue, f"v{n}", n)
    variables = {"id": encode_global_id("Venue", venue.id), "first": 3}

    first_page = await execute(VENUE_HISTORY, variables, viewer=viewer_of(host))
    # A change recorded between two requests must not shift the next page.
    await rename_venue(session, venue, "v7", 7)
    history = first_page.data["venue"]["history"]
    names = [edge["node"]["newData"]["name"] for edge in history["edges"]]
    pages = [history]
    while history["pageInfo"]["hasNextPage"]:
        result = await execute(
            VENUE_HISTORY,
            {**variables, "after": history["pageInfo"]["endCursor"]},
            viewer=viewer_of(host),
        )
        assert result.errors is None
        history = result.data["venue"]["history"]
        names += [edge["node"]["newData"]["name"] for edge in history["edges"]]
        pages.append(history)

    assert names == ["v6", "v5", "v4", "v3", "v2", "v1", "v0"]
    assert [len(page["edges"]) for page in pages] == [3, 3, 1]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False, True, True]
    assert [page["totalCount"] for page in pages] == [7, 8, 8]


async def test_a_page_past_the_end_is_empty_and_still_counts(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    await stamp(session, venue.id, 0)
    variables = {"id": encode_global_id("Venue", venue.id), "first": 1}
    only = await execute(VENUE_HISTORY, variables, viewer=viewer_of(host))
    end_cursor = only.data["venue"]["history"]["pageInfo"]["endCursor"]

    result = await execute(
        VENUE_HISTORY, {**variables, "after": end_cursor}, viewer=viewer_of(host)
    )

    assert result.errors is None
    history = result.data["venue"]["history"]
    assert (history["edges"], history["totalCount"]) == ([], 1)
    assert history["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"first": 101}, "first"), ({"first": 5, "after": "not-a-cursor"}, "after")],
    ids=["first-above-100", "bad-cursor"],
)
async def test_bad_paging_arguments_are_bad_user_input(session, execute, variables, field):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)

    result = await execute(
        VENUE_HISTORY,
        {"id": encode_global_id("Venue", venue.id), **variables},
        viewer=viewer_of(host),
    )

    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


# --- Who may see history -----------------------------------------------------------------


@dataclass
class World:
    """A venue with a booking and a photo, and everyone who might look at their history."""

    users: dict[str, User]
    ids: dict[str, str]


@pytest.fixture
async def world(session) -> World:
    host = await make_user(session, role="host")
    guest = await make_user(session, role="member")
    venue = await make_venue(session, owner=host)
    booking = await make_booking(session, venue=venue, user=guest)
    media = await make_media(session, owner=guest, venue=venue)
    return World(
        users={
            "admin": await make_user(session, role="admin"),
            "host": host,
            "guest": guest,
            "member": await make_user(session, role="member"),
            "other host": await make_user(session, role="host"),
        },
        ids={
            "user": encode_global_id("User", guest.id),
            "venue": encode_global_id("Venue", venue.id),
            "booking": encode_global_id("Booking", booking.id),
            "media": encode_global_id("Media", media.id),
        },
    )


ALLOWED, FORBIDDEN, UNAUTHENTICATED, HIDDEN = "allowed", "FORBIDDEN", "UNAUTHENTICATED", "hidden"
# The booking is hidden (null) from whoever may not see its history: the same people.
RULES = {
    "user": {
        "anonymous": UNAUTHENTICATED,
        "member": FORBIDDEN,
        "guest": ALLOWED,
        "host": FORBIDDEN,
        "other host": FORBIDDEN,
        "admin": ALLOWED,
    },
    "venue": {
        "anonymous": UNAUTHENTICATED,
        "member": FORBIDDEN,
        "guest": FORBIDDEN,
        "host": ALLOWED,
        "other host": FORBIDDEN,
        "admin": ALLOWED,
    },
    "booking": {
        "anonymous": HIDDEN,
        "member": HIDDEN,
        "guest": ALLOWED,
        "host": ALLOWED,
        "other host": HIDDEN,
        "admin": ALLOWED,
    },
    "media": {
        "anonymous": UNAUTHENTICATED,
        "member": FORBIDDEN,
        "guest": ALLOWED,
        "host": ALLOWED,
        "other host": FORBIDDEN,
        "admin": ALLOWED,
    },
}
CASES = [
    pytest.param(entity, who, outcome, id=f"{entity}-{who}-{outcome}")
    for entity, outcomes in RULES.items()
    for who, outcome in outcomes.items()
]


@pytest.mark.parametrize(("entity", "who", "outcome"), CASES)
async def test_who_may_see_history(execute, world, entity, who, outcome):
    viewer = None if who == "anonymous" else viewer_of(world.users[who])

    result = await execute(NODE_HISTORY, {"id": world.ids[entity]}, viewer=viewer)

    if outcome == ALLOWED:
        assert result.errors is None
        history = result.data["node"]["history"]
        assert history["totalCount"] == 1
        assert [edge["node"]["action"] for edge in history["edges"]] == ["INSERT"]
    elif outcome == HIDDEN:
        assert result.errors is None
        assert result.data == {"node": None}
    else:
        (error,) = result.errors
        assert error.extensions == {"code": outcome}
        assert error.path == ["node", "history"]
        assert result.data == {"node": None}


async def test_host_of_the_venue_sees_history_of_media_someone_else_took_of_a_booking(
    session, execute
):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    booking = await make_booking(session, venue=venue)
    media = await make_media(session, venue=venue, booking=booking)

    result = await execute(
        NODE_HISTORY, {"id": encode_global_id("Media", media.id)}, viewer=viewer_of(host)
    )

    assert result.errors is None
    assert result.data["node"]["history"]["totalCount"] == 1


# --- AuditEvent by ID ------------------------------------------------------------------------

AUDIT_EVENT = """
query Event($id: ID!) { node(id: $id) { __typename id ... on AuditEvent { action recordId } } }
"""


async def audit_event_id(session, record_id: uuid.UUID) -> str:
    row = (
        await session.execute(
            text("SELECT id, created_at FROM audit_log WHERE record_id = :id"), {"id": record_id}
        )
    ).one()
    return encode_timestamped_id("AuditEvent", row.id, row.created_at)


async def test_history_event_ids_refetch_through_node_for_admins(session, execute):
    admin = await make_user(session, role="admin")
    venue = await make_venue(session)
    listed = await execute(
        VENUE_HISTORY,
        {"id": encode_global_id("Venue", venue.id), "first": 1},
        viewer=viewer_of(admin),
    )
    event_id = listed.data["venue"]["history"]["edges"][0]["node"]["id"]

    result = await execute(AUDIT_EVENT, {"id": event_id}, viewer=viewer_of(admin))

    assert result.errors is None
    assert result.data["node"] == {
        "__typename": "AuditEvent",
        "id": event_id,
        "action": "INSERT",
        "recordId": encode_global_id("Venue", venue.id),
    }
    assert event_id == await audit_event_id(session, venue.id)


@pytest.mark.parametrize("who", ["anonymous", "owner"])
async def test_audit_events_by_id_are_null_for_everyone_but_admins(session, execute, who):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    event_id = await audit_event_id(session, venue.id)

    result = await execute(
        AUDIT_EVENT, {"id": event_id}, viewer=None if who == "anonymous" else viewer_of(host)
    )

    assert result.errors is None
    assert result.data == {"node": None}


async def test_nodes_mixes_audit_events_with_other_types_and_keeps_order(session, execute):
    admin = await make_user(session, role="admin")
    venues = [await make_venue(session, name=f"V{n}") for n in range(2)]
    ids = [
        await audit_event_id(session, venues[0].id),
        encode_global_id("Venue", venues[1].id),
        encode_timestamped_id("AuditEvent", uuid.uuid4(), START),
    ]

    result = await execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
        {"ids": ids},
        viewer=viewer_of(admin),
    )

    assert result.errors is None
    assert result.data["nodes"] == [{"__typename": "AuditEvent"}, {"__typename": "Venue"}, None]


@pytest.mark.parametrize(
    "global_id",
    [
        encode_global_id("AuditEvent", uuid.uuid4()),  # no created_at
        encode_timestamped_id("AuditEvent", uuid.uuid4(), dt.datetime(2030, 1, 1)),  # noqa: DTZ001 - naive on purpose
    ],
    ids=["without-created-at", "naive-created-at"],
)
async def test_a_malformed_audit_event_id_is_bad_user_input(execute, global_id):
    result = await execute(AUDIT_EVENT, {"id": global_id})

    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "id"}


# --- Statements ------------------------------------------------------------------------------

VENUES_HISTORY = """
query VenuesHistory($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Venue {
      name
      history(first: 2) { totalCount edges { node { action actor { displayName } } } }
    }
  }
}
"""

VENUES_BOOKINGS_HISTORY = """
query VenuesBookingsHistory($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Venue {
      bookings(first: 5) {
        edges { node { history(first: 2) { edges { node { action actor { displayName } } } } } }
      }
    }
  }
}
"""


async def venues_with_history(session, count: int, host: User) -> list[str]:
    await set_actor(session, actor_of(host))
    ids = []
    for n in range(count):
        venue = await make_venue(session, owner=host, name="before")
        await stamp(session, venue.id, 0)
        await rename_venue(session, venue, f"after {n}", 1)
        await rename_venue(session, venue, f"later {n}", 2)
        ids.append(encode_global_id("Venue", venue.id))
    return ids


@pytest.mark.parametrize("count", [1, 10])
async def test_venues_history_costs_the_same_statements_for_1_and_10_venues(
    session, execute, count_statements, count
):
    admin = await make_user(session, role="admin")
    host = await make_user(session, role="host", display_name="Hana Host")
    ids = await venues_with_history(session, count, host)

    with count_statements as counted:
        result = await execute(
            VENUES_HISTORY, {"ids": ids}, viewer=viewer_of(admin), paths="loaders"
        )

    assert result.errors is None
    for node in result.data["nodes"]:
        assert node["history"]["totalCount"] == 3
        assert [edge["node"]["action"] for edge in node["history"]["edges"]] == [
            "UPDATE",
            "UPDATE",
        ]
        assert node["history"]["edges"][0]["node"]["actor"] == {"displayName": "Hana Host"}
    # venues, their history, the actors
    assert counted.count == 3, counted.statements
    with count_statements as counted:
        again = await execute(VENUES_HISTORY, {"ids": ids}, viewer=viewer_of(admin))
    assert again.data == result.data
    assert counted.count == 1  # the compiled path: one for all


@pytest.mark.parametrize("count", [1, 10])
async def test_venues_bookings_history_for_the_host_costs_the_same_for_1_and_10_venues(
    session, execute, count_statements, count
):
    host = await make_user(session, role="host")
    guest = await make_user(session, display_name="Gus Guest")
    await set_actor(session, actor_of(guest))
    ids = []
    for _ in range(count):
        venue = await make_venue(session, owner=host)
        for _ in range(2):
            booking = await make_booking(session, venue=venue, user=guest)
            await stamp(session, booking.id, 0)
        ids.append(encode_global_id("Venue", venue.id))

    with count_statements as counted:
        result = await execute(
            VENUES_BOOKINGS_HISTORY, {"ids": ids}, viewer=viewer_of(host), paths="loaders"
        )

    assert result.errors is None
    histories = [
        edge["node"]["history"]["edges"]
        for node in result.data["nodes"]
        for edge in node["bookings"]["edges"]
    ]
    assert len(histories) == 2 * count
    assert all(
        events == [{"node": {"action": "INSERT", "actor": {"displayName": "Gus Guest"}}}]
        for events in histories
    )
    # venues, their bookings, the bookings' history, the actors (the permission check's
    # venues are already loaded)
    assert counted.count == 4, counted.statements
    with count_statements as counted:
        again = await execute(VENUES_BOOKINGS_HISTORY, {"ids": ids}, viewer=viewer_of(host))
    assert again.data == result.data
    assert counted.count == 1  # the compiled path: one for all
