"""`history` on the compiled path: the same bytes as the loader path, for every kind of viewer.

Where the loader path refuses (signed out, a viewer who may not read the history, arguments
it rejects) or a value cannot be written as it writes it (an IPv6 address, a float Python
prints with an exponent), the compiled path leaves the request to it.
"""

import json
from decimal import Decimal
from typing import Any

import pytest

from graph.compiler import CompiledReads, PlanCache
from graph.core.global_id import encode_global_id
from models import Actor, set_actor, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.compiler.test_fast_path import (
    VIEWER_KINDS,
    compiled_count,
    fast_response,
    general_response,
)
from tests.graph.schema.test_operations import operation_source
from tests.graph.viewers import viewer_of

VENUE_HISTORY = operation_source("VenueHistory")
FULL_EVENT = """id action tableName recordId changedFields oldData newData actorEmail ipAddress
  userAgent createdAt actor { id displayName email }"""


def actor(user, ip_address: str = "203.0.113.9") -> Actor:
    return Actor(user_id=user.id, email=user.email, ip_address=ip_address, user_agent="pytest/1")


@pytest.fixture
async def audited(session) -> dict[str, Any]:
    """A venue, its booking and media, changed by different actors; the viewers of each kind."""
    host = await make_user(session, role="host")
    other_host = await make_user(session, role="host")
    guest = await make_user(session, display_name="Gäst ☕")
    admin = await make_user(session, role="admin")
    await set_actor(session, actor(host))
    venue = await make_venue(session, owner=host, name="Histoire", amenities={"wifi": True})
    venue.hourly_rate = Decimal("42.50")  # a numeric in the audit trail: 42.5 as a float
    await session.flush()
    venue.description = 'Now with "quotes" and ünïcode'
    await session.flush()
    media = await make_media(session, venue=venue, owner=host, title="Front")
    other_venue = await make_venue(session, owner=other_host)
    await set_actor(session, actor(guest, "198.51.100.0/24"))
    booking = await make_booking(session, venue=venue, user=guest)
    booking.notes = "late arrival"
    await session.flush()
    await set_actor(session, Actor())  # a change no one signed in made
    venue.city = "Lyon"
    await session.flush()
    deleted = await make_venue(session, owner=host)
    await soft_delete(session, deleted)
    return {
        "viewers": {
            "anonymous": None,
            "guest": viewer_of(guest),
            "host": viewer_of(host),
            "other host": viewer_of(other_host),
            "admin": viewer_of(admin),
        },
        "venue": venue,
        "other_venue": other_venue,
        "deleted": deleted,
        "booking": booking,
        "media": media,
        "guest": guest,
    }


@pytest.fixture
def compare(execute, session, monkeypatch):
    """Run a query on both paths: the compiled path's body (None if it declined), the loaders'."""
    plans = PlanCache()
    monkeypatch.setattr(CompiledReads, "plans", plans)

    async def run(query: str, variables=None, *, viewer=None) -> tuple[bytes | None, bytes]:
        general = await general_response(execute, query, variables, viewer=viewer)
        fast = await fast_response(plans, session, query, variables, viewer=viewer)
        return fast, general

    return run


@pytest.mark.parametrize("who", VIEWER_KINDS)
@pytest.mark.parametrize("target", ["venue", "other_venue", "deleted"])
async def test_venue_history_operation_is_compiled_where_the_viewer_may_read_it(
    compare, audited, who, target
):
    viewer = audited["viewers"][who]
    variables = {"id": encode_global_id("Venue", audited[target].id)}

    before = compiled_count()
    fast, general = await compare(VENUE_HISTORY, variables, viewer=viewer)

    refused = b'"errors"' in general
    if target == "deleted":  # a deleted venue is null: no history, no error
        assert not refused
    else:
        owner_ok = who in ({"host", "admin"} if target == "venue" else {"other host", "admin"})
        assert refused is not owner_ok
    if refused:
        assert fast is None, "the compiled path answered a request the loader path refuses"
        assert b'"venue":null' in general
    else:
        assert fast == general
        assert compiled_count() == before + 1


@pytest.mark.parametrize("who", ["host", "admin"])
async def test_history_pages_continue_on_either_path(compare, audited, who):
    viewer = audited["viewers"][who]
    venue_id = encode_global_id("Venue", audited["venue"].id)
    after = None
    seen = []
    for index in range(10):
        variables = {"id": venue_id, "first": 1, "after": after}
        fast, general = await compare(VENUE_HISTORY, variables, viewer=viewer)
        assert fast == general
        history = json.loads(fast)["data"]["venue"]["history"]
        seen += [edge["node"]["action"] for edge in history["edges"]]
        assert history["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not history["pageInfo"]["hasNextPage"]:
            break
        # Alternate: a cursor one path wrote continues on the other.
        after = history["edges"][-1]["cursor"] if index % 2 else history["pageInfo"]["endCursor"]
    assert seen == ["UPDATE", "UPDATE", "UPDATE", "INSERT"]
    assert history["totalCount"] == 4


HISTORY_DOCUMENTS = {
    "empty page": """query($id: ID!) { venue(id: $id) { history(first: 0) { totalCount
        edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }""",
    "every event field": f"""query($id: ID!) {{ venue(id: $id) {{ name history {{ __typename
        edges {{ __typename cursor node {{ __typename {FULL_EVENT} }} }} }} }} }}""",
    "own user": f"""{{ viewer {{ id history(first: 5) {{ totalCount
        edges {{ cursor node {{ {FULL_EVENT} }} }} }} }} }}""",
    "bookings and media": """query($id: ID!) { venue(id: $id) {
        bookings { edges { node { id history { totalCount edges { node { action changedFields
          actorEmail ipAddress userAgent actor { displayName } } } } } } }
        media { edges { node { history(first: 1) { totalCount pageInfo { hasNextPage }
          edges { node { newData } } } } } } } }""",
    "booking by node": """query($booking: ID!) { node(id: $booking) { ... on Booking {
        history { totalCount edges { node { action oldData newData } } } } } }""",
    "actor's own history": """query($id: ID!) { venue(id: $id) { history(first: 2) { edges {
        node { actor { displayName history(first: 1) { totalCount edges { node { action } } }
        } } } } } }""",
}


@pytest.mark.parametrize("name", list(HISTORY_DOCUMENTS))
@pytest.mark.parametrize("who", VIEWER_KINDS)
async def test_history_documents_match_and_compile_unless_refused(compare, audited, name, who):
    viewer = audited["viewers"][who]
    variables = {
        "id": encode_global_id("Venue", audited["venue"].id),
        "booking": encode_global_id("Booking", audited["booking"].id),
    }
    query = HISTORY_DOCUMENTS[name]
    used = {key: value for key, value in variables.items() if f"${key}" in query}
    fast, general = await compare(query, used or None, viewer=viewer)

    if b'"errors"' in general:
        assert b"FORBIDDEN" in general or b"UNAUTHENTICATED" in general
        assert fast is None
    else:
        assert fast is not None, "the compiled path declined a history the viewer may read"
        assert fast == general


@pytest.mark.parametrize("who", VIEWER_KINDS)
async def test_booking_history_is_read_by_its_guest_and_host(compare, audited, who):
    query = HISTORY_DOCUMENTS["booking by node"]
    variables = {"booking": encode_global_id("Booking", audited["booking"].id)}
    fast, general = await compare(query, variables, viewer=audited["viewers"][who])

    assert fast == general
    node = json.loads(general)["data"]["node"]
    if who in {"guest", "host", "admin"}:
        assert node["history"]["totalCount"] == 2
    else:  # the booking itself is hidden from them: null, no history asked
        assert node is None


@pytest.mark.parametrize(
    ("arguments", "code"),
    [("first: 101", b"BAD_USER_INPUT"), ('after: "garbage"', b"BAD_USER_INPUT")],
)
async def test_history_arguments_the_loader_path_refuses_are_left_to_it(
    compare, audited, arguments, code
):
    query = f"query($id: ID!) {{ venue(id: $id) {{ history({arguments}) {{ totalCount }} }} }}"
    variables = {"id": encode_global_id("Venue", audited["venue"].id)}
    fast, general = await compare(query, variables, viewer=audited["viewers"]["host"])
    assert fast is None
    assert code in general


async def test_a_cursor_past_every_event_has_a_previous_page_on_both_paths(
    compare, session, audited
):
    # A cursor of an event written after all of the venue's: the page after it holds them all.
    late = viewer_of(await make_user(session, role="admin"))
    _, cursor_page = await compare(
        "{ viewer { history(first: 1) { edges { cursor } } } }", viewer=late
    )
    cursor = json.loads(cursor_page)["data"]["viewer"]["history"]["edges"][0]["cursor"]
    query = """query($id: ID!, $after: String) { venue(id: $id) { history(after: $after) {
        totalCount edges { cursor } pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""
    variables = {"id": encode_global_id("Venue", audited["venue"].id), "after": cursor}
    fast, general = await compare(query, variables, viewer=late)

    assert fast == general
    history = json.loads(general)["data"]["venue"]["history"]
    assert history["pageInfo"]["hasPreviousPage"] is True
    assert len(history["edges"]) == history["totalCount"] == 4


async def test_values_the_statement_cannot_write_as_python_does_fall_back(
    compare, session, audited
):
    host = audited["viewers"]["host"]
    venue = audited["venue"]
    query = """query($id: ID!) { venue(id: $id) { amenities history(first: 1) { edges { node {
        ipAddress newData } } } } }"""
    variables = {"id": encode_global_id("Venue", venue.id)}
    fast, general = await compare(query, variables, viewer=host)
    assert fast == general  # IPv4, plain numbers: compiled

    # An IPv6 actor: Python and PostgreSQL write some apart, the loader path answers.
    await set_actor(session, Actor(user_id=host.user_id, ip_address="::ffff:1.2.3.4"))
    venue.name = "Renamed"
    await session.flush()
    fast, general = await compare(query, variables, viewer=host)
    assert fast is None
    assert b"::ffff:" in general

    # A float json.dumps writes with an exponent (jsonb keeps its digits): the same.
    venue.amenities = {"wifi": True, "noise": 1e-07}
    await session.flush()
    amenities = "query($id: ID!) { venue(id: $id) { amenities } }"
    fast, general = await compare(amenities, variables, viewer=host)
    assert fast is None
    assert b"1e-07" in general


async def test_two_histories_in_one_document_are_one_statement(
    session, monkeypatch, audited, count_statements
):
    plans = PlanCache()
    monkeypatch.setattr(CompiledReads, "plans", plans)
    query = """query($id: ID!) { venue(id: $id) { history { totalCount } owner { history {
        totalCount } } } viewer { history { totalCount } } }"""
    variables = {"id": encode_global_id("Venue", audited["venue"].id)}
    with count_statements as counted:
        body = await fast_response(
            plans, session, query, variables, viewer=audited["viewers"]["host"]
        )
    assert body is not None
    assert counted.count == 1
