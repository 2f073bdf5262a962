"""`nodes(ids:)` on the compiled path: the loader path's bytes, for every viewer.

The IDs are checked by the loader path's own `decoded_node_ids` and become the rows of one
`unnest(...) WITH ORDINALITY`; each row reads the object of the type its ID names, so the
statement's shape is the set of types named, not their number or order. Too many IDs, an
invalid one, or one of a type only the loader path reads (an audit event) leave the request
to the loader path, which reports the error.
"""

import json
import uuid
from typing import Any

import pytest

from graph.compiler import CompiledReads
from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.compiler.test_fast_path import compiled_count, fast_response
from tests.graph.viewers import viewer_of

VIEWERS = ["anonymous", "member", "host", "admin"]

NODES = """
query Nodes($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename id
    ... on Venue { name owner { email } bookings(first: 2) { totalCount edges { cursor } } }
    ... on Booking { amount status user { email } venue { name } }
    ...MediaCard
    ... on User { displayName email preferences }
    ... on Session { current userAgent }
    ... on Node { id }
  }
}
fragment MediaCard on Media { title tags }
"""

# Types that select nothing answer `{}`.
VENUES_ONLY = """
query VenuesOnly($ids: [ID!]!) { found: nodes(ids: $ids) { ... on Venue { name } } }
"""


@pytest.fixture
async def nodes_world(session) -> dict[str, Any]:
    """An object of every Node type, deleted and hidden ones, and viewers of each kind."""
    host = await make_user(session, role="host", display_name="Hôte ☕")
    member = await make_user(session, preferences={"theme": "dark"})
    other = await make_user(session)
    admin = await make_user(session, role="admin")
    gone_user = await make_user(session)
    await soft_delete(session, gone_user)
    venue = await make_venue(session, owner=host, name="Café Ünïcode")
    deleted_venue = await make_venue(session, owner=host, name="Gone")
    await soft_delete(session, deleted_venue)
    booking = await make_booking(session, venue=venue, user=member)
    other_booking = await make_booking(session, venue=venue, user=other)
    deleted_booking = await make_booking(session, venue=venue, user=member)
    await soft_delete(session, deleted_booking)
    public = await make_media(session, venue=venue, owner=host, title="Front", tags=["a", "é"])
    private = await make_media(session, venue=venue, owner=member, booking=booking, title="Mine")
    login = await make_login_session(session, user=member, token="nodes-member-phone")
    ids = {
        "venue": encode_global_id("Venue", venue.id),
        "deleted venue": encode_global_id("Venue", deleted_venue.id),
        "missing venue": encode_global_id("Venue", uuid.uuid4()),
        "booking": encode_global_id("Booking", booking.id),
        "other booking": encode_global_id("Booking", other_booking.id),
        "deleted booking": encode_global_id("Booking", deleted_booking.id),
        "public media": encode_global_id("Media", public.id),
        "private media": encode_global_id("Media", private.id),
        "host": encode_global_id("User", host.id),
        "member": encode_global_id("User", member.id),
        "deleted user": encode_global_id("User", gone_user.id),
        "session": encode_global_id("Session", login.id),
        "no such type": encode_global_id("Nothing", venue.id),
    }
    return {
        "viewers": {
            "anonymous": None,
            "member": viewer_of(member),
            "host": viewer_of(host),
            "admin": viewer_of(admin),
        },
        "ids": ids,
        "venue": venue,
    }


def _ids(world: dict[str, Any], *names: str) -> list[str]:
    return [world["ids"][name] for name in names]


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize("query", [NODES, VENUES_ONLY])
async def test_every_type_mixed_in_one_list_is_compiled(both_paths, nodes_world, who, query):
    viewer = nodes_world["viewers"][who]
    ids = list(nodes_world["ids"].values())
    ids += [ids[0], ids[3]]  # repeated IDs answer their object each time

    fast, general, compiled = await both_paths(query, {"ids": ids}, viewer=viewer)

    assert b'"errors"' not in general
    assert fast == general
    assert compiled


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize(
    "names",
    [
        (),  # no IDs at all: []
        ("venue",),
        ("deleted venue", "missing venue", "deleted booking", "deleted user"),  # all null
        ("private media", "public media", "other booking", "booking"),
        ("no such type", "no such type"),
        ("session", "member", "host"),
    ],
)
async def test_each_list_answers_the_loader_paths_bytes(both_paths, nodes_world, who, names):
    viewer = nodes_world["viewers"][who]
    variables = {"ids": _ids(nodes_world, *names)}

    fast, general, compiled = await both_paths(NODES, variables, viewer=viewer)

    assert b'"errors"' not in general
    assert fast == general
    assert compiled


async def test_what_the_compiled_list_holds(both_paths, nodes_world):
    names = ("venue", "deleted venue", "no such type", "private media", "public media")
    variables = {"ids": _ids(nodes_world, *names)}
    fast, general, compiled = await both_paths(NODES, variables)

    assert compiled
    assert fast == general
    found = json.loads(general)["data"]["nodes"]
    assert [node and node["__typename"] for node in found] == ["Venue", None, None, None, "Media"]
    assert found[0]["name"] == "Café Ünïcode"


async def test_a_hundred_ids_are_one_statement(both_paths, session, nodes_world, count_statements):
    ids = _ids(nodes_world, "venue", "booking", "public media", "host", "no such type") * 20
    viewer = nodes_world["viewers"]["admin"]

    fast, general, compiled = await both_paths(NODES, {"ids": ids}, viewer=viewer)
    with count_statements as counted:
        again = await fast_response(
            CompiledReads.plans, session, NODES, {"ids": ids}, viewer=viewer
        )

    assert compiled
    assert fast == general == again
    assert counted.count == 1


@pytest.mark.parametrize(
    "ids",
    [
        ["not-an-id"],
        ["VmVudWU6eA"],  # "Venue:x": not a UUID
        [encode_global_id("Venue", uuid.uuid4()), ""],
        [encode_global_id("Venue", uuid.uuid4())] * 101,
    ],
)
async def test_ids_the_loader_path_refuses_are_left_to_it(both_paths, nodes_world, ids):
    fast, general, compiled = await both_paths(NODES, {"ids": ids})

    assert (fast, compiled) == (None, False)
    assert b'"BAD_USER_INPUT"' in general
    assert b'"field":"ids"' in general
    del nodes_world


BESIDE = """
query Beside($ids: [ID!]!, $id: ID!) {
  venues(first: 2) { totalCount edges { node { name } } }
  nodes(ids: $ids) { __typename id ... on User { displayName } ... on AuditEvent { action } }
  node(id: $id) { id ... on AuditEvent { tableName } ... on Venue { name location } }
  viewer { id }
}
"""


async def _event_id(execute, world: dict[str, Any]) -> str:
    venue_id = encode_global_id("Venue", world["venue"].id)
    history = await execute(
        "query($id: ID!) { venue(id: $id) { history(first: 1) { edges { node { id } } } } }",
        {"id": venue_id},
        viewer=world["viewers"]["admin"],
    )
    return history.data["venue"]["history"]["edges"][0]["node"]["id"]


@pytest.mark.parametrize("who", VIEWERS)
async def test_an_audit_event_id_leaves_only_its_field_to_graphql_core(  # noqa: PLR0913, PLR0917 - fixtures
    both_paths, execute, session, nodes_world, count_statements, who
):
    viewer = nodes_world["viewers"][who]
    event_id = await _event_id(execute, nodes_world)
    venue_id = nodes_world["ids"]["venue"]
    cases = [
        # The audit event: `nodes` and `node` are resolved beside the statement.
        ({"ids": [nodes_world["ids"]["host"], event_id], "id": event_id}, 2),
        # A venue, whose `location` only the loader path reads: `node` beside it.
        ({"ids": [nodes_world["ids"]["host"]], "id": venue_id}, 1),
        # Nothing the statement cannot read.
        ({"ids": [nodes_world["ids"]["host"]], "id": nodes_world["ids"]["booking"]}, 0),
    ]
    plans = CompiledReads.plans.compiled
    for variables, beside in cases:
        fast, general, compiled = await both_paths(BESIDE, variables, viewer=viewer)
        with count_statements as counted:
            again = await fast_response(
                CompiledReads.plans, session, BESIDE, variables, viewer=viewer
            )

        assert compiled
        assert fast == general == again
        assert (counted.count == 1) == (beside == 0), counted.statements
    # One plan serves them all: which fields go beside the statement is the request's.
    assert CompiledReads.plans.compiled == plans + 1


@pytest.mark.parametrize("who", VIEWERS)
async def test_nodes_alone_with_an_audit_event_id_is_left_to_the_loader_path(
    both_paths, execute, nodes_world, who
):
    event_id = await _event_id(execute, nodes_world)
    variables = {"ids": [nodes_world["ids"]["venue"], event_id]}

    fast, general, compiled = await both_paths(NODES, variables, viewer=nodes_world["viewers"][who])

    assert (fast, compiled) == (None, False)  # nothing left for a statement to answer
    assert b'"nodes"' in general


@pytest.mark.parametrize("who", VIEWERS)
async def test_node_of_a_type_that_selects_nothing_is_compiled(both_paths, nodes_world, who):
    query = "query($id: ID!) { node(id: $id) { ... on Venue { name } } }"
    for name in ("venue", "host", "public media"):
        fast, general, compiled = await both_paths(
            query, {"id": nodes_world["ids"][name]}, viewer=nodes_world["viewers"][who]
        )
        assert compiled
        assert fast == general
    assert compiled_count() > 0


MIXED = """
query Mixed($ids: [ID!]!, $id: ID!, $query: String!) {
  __typename
  found: search(query: $query, first: 3) {
    pageInfo { hasNextPage endCursor }
    edges { cursor highlight node { __typename ... on Venue { name } ... on Media { title } } }
  }
  nodes(ids: $ids) { __typename id ... on Venue { city } }
  node(id: $id) { id ... on Venue { name } }
  venues(first: 2) { totalCount edges { node { name } } }
  viewer { id }
  again: search(query: "front") { edges { node { ... on Media { title } } } }
}
"""


@pytest.mark.parametrize("who", VIEWERS)
async def test_search_and_nodes_beside_other_roots_are_one_statement(
    both_paths, session, nodes_world, count_statements, who
):
    viewer = nodes_world["viewers"][who]
    variables = {
        "ids": _ids(nodes_world, "venue", "public media", "private media", "no such type"),
        "id": nodes_world["ids"]["venue"],
        "query": "cafe",
    }

    fast, general, compiled = await both_paths(MIXED, variables, viewer=viewer)
    with count_statements as counted:
        again = await fast_response(CompiledReads.plans, session, MIXED, variables, viewer=viewer)

    assert b'"errors"' not in general
    assert compiled
    assert fast == general == again
    assert counted.count == 1
    data = json.loads(general)["data"]
    assert list(data) == ["__typename", "found", "nodes", "node", "venues", "viewer", "again"]
    assert data["found"]["edges"]
