"""The fast path (graph/compiler/) answers exactly what the general path answers, in one statement.

Every operation below runs through both paths, for every kind of viewer, on data with the
awkward cases (soft-deleted rows, hidden bookings and media, deleted guests and owners, empty
lists, non-ASCII and escaped text, whole-number and tiny coordinates, microseconds), and the
response bodies must be the same bytes.
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from strawberry.http import process_result

from graph.compiler import CompiledReads, PlanCache, RawData, encode_response
from graph.core.context import Context
from graph.core.global_id import encode_global_id
from graph.core.request_database import RequestDatabase
from graph.schema.root import schema
from models import soft_delete
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

OPERATIONS_DIR = Path(__file__).resolve().parents[3] / "graph" / "operations"

NESTED_LIST = """
query NestedList {
  venues(first: 50) { edges { node { id name
    bookings(first: 10) {
      edges { node { id startsAt amount status user { id displayName email } } } }
    media(first: 5) { edges { node { title width } } } } } }
}
"""

VARIANTS = {
    "nested list": (NESTED_LIST, None),
    "aliases and typename": (
        """{ __typename list: venues(first: 3) { __typename total: totalCount
             edges { __typename c: cursor node { __typename key: id id title: name
               owner { __typename id displayName email role createdAt deletedAt }
               b: bookings(first: 2) { totalCount edges { cursor node { id endsAt notes
                 currency createdAt deletedAt venue { id name owner { email } } } }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename } } } }
             pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
        None,
    ),
    "fragments": (
        """query Frag { venues { ...Page } }
           fragment Page on VenueListConnection { edges { node { ...Card ... on Venue { city } } }
             edges { node { ...Card country } } }
           fragment Card on Venue { id name latitude longitude hourlyRate currency description
             address media(first: 10) { edges { node { ...M } } totalCount } }
           fragment M on Media { id title resourceType storageKey extension width height
             dominantColor altText caption capturedAt createdAt deletedAt }""",
        None,
    ),
    "first zero": (
        """{ venues(first: 0) { totalCount edges { cursor } pageInfo { hasNextPage endCursor
             startCursor hasPreviousPage } } }""",
        None,
    ),
    "empty children": (
        """{ venues(first: 100) { edges { node { bookings(first: 0) { edges { cursor }
             pageInfo { hasNextPage startCursor endCursor } totalCount }
             media(first: 0) { edges { cursor } pageInfo { hasNextPage endCursor } } } } } }""",
        None,
    ),
    "edge search fields": (
        "{ venues(first: 2) { edges { rank highlight matchedBy distanceMeters cursor } } }",
        None,
    ),
}


async def fast_response(
    plans: PlanCache, session, query: str, variables=None, *, viewer=None
) -> bytes | None:
    """The compiled path's response body, or None when it left the operation to the loaders.

    `plans` is the cache the compiled path uses (installed by the `fast_path` fixture).
    """
    assert CompiledReads.plans is plans
    context = Context(db=RequestDatabase(session), viewer=viewer, compiled_reads=True)
    try:
        result = await schema.execute(query, variable_values=variables, context_value=context)
    finally:
        await context.db.finish()
    if not isinstance(result.data, RawData):
        return None
    body = process_result(result)
    return encode_response(body) or json.dumps(body, separators=(",", ":")).encode()


async def general_response(execute, query: str, variables=None, *, viewer=None) -> bytes:
    """The loader path's response body, encoded as Strawberry's HTTP view encodes it."""
    result = await execute(query, variables, viewer=viewer, paths="loaders")
    return json.dumps(process_result(result), separators=(",", ":")).encode()


@pytest.fixture
def fast_path(monkeypatch) -> PlanCache:
    """A plan cache of the test's own, used by the compiled path while the test runs."""
    plans = PlanCache()
    monkeypatch.setattr(CompiledReads, "plans", plans)
    return plans


@pytest.fixture
async def world(session) -> dict[str, Any]:
    """Users of every kind, and venues with the cases the two paths could disagree on."""
    guest = await make_user(session, display_name='Zoë "the guest" \\ \n \x7f \U0001f600')
    other_guest = await make_user(session)
    for device in ("phone", "laptop"):
        await make_login_session(session, user=guest, token=f"world-guest-{device}")
    gone_guest = await make_user(session)
    host = await make_user(session, role="host")
    other_host = await make_user(session, role="host")
    admin = await make_user(session, role="admin")
    gone_owner = await make_user(session, role="host")

    venue = await make_venue(
        session, owner=host, name="Café Ünïcode ☕", latitude=48.0, longitude=0.00001
    )
    start = dt.datetime(2030, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    await make_booking(session, venue=venue, user=guest, starts_at=start, notes='say "hi"\t!')
    await make_booking(session, venue=venue, user=other_guest, status="confirmed")
    await make_booking(session, venue=venue, user=gone_guest, status="completed")
    deleted_booking = await make_booking(session, venue=venue, user=guest)
    await soft_delete(session, deleted_booking)
    await soft_delete(session, gone_guest)
    for index in range(3):
        await make_media(session, venue=venue, owner=host, title=f"Photo {index} — é")
    await make_media(session, venue=venue, owner=guest, width=None, caption="mine")
    private = await make_booking(session, venue=venue, user=guest)
    await make_media(session, venue=venue, owner=guest, booking=private, title="receipt")
    deleted_media = await make_media(session, venue=venue, owner=host)
    await soft_delete(session, deleted_media)

    other = await make_venue(session, owner=other_host, latitude=-33.8688, longitude=151.2093)
    await make_booking(session, venue=other, user=guest)
    await make_venue(session, owner=other_host, name="Empty")  # no bookings, no media
    orphan = await make_venue(session, owner=gone_owner, latitude=-0.0, longitude=-180.0)
    await soft_delete(session, gone_owner)
    await make_booking(session, venue=orphan, user=other_guest)
    deleted_venue = await make_venue(session, owner=host)
    await soft_delete(session, deleted_venue)
    return {
        "viewers": {
            "anonymous": None,
            "guest": viewer_of(guest),
            "host": viewer_of(host),
            "other host": viewer_of(other_host),
            "admin": viewer_of(admin),
        },
        "venue": venue,
        "orphan": orphan,
        "deleted_venue": deleted_venue,
        "host": host,
    }


VIEWER_KINDS = ["anonymous", "guest", "host", "other host", "admin"]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("who", VIEWER_KINDS)
async def test_fast_path_answers_the_same_bytes(  # noqa: PLR0913, PLR0917 - fixtures
    execute, session, fast_path, world, variant, who
):
    query, variables = VARIANTS[variant]
    viewer = world["viewers"][who]

    fast = await fast_response(fast_path, session, query, variables, viewer=viewer)
    general = await general_response(execute, query, variables, viewer=viewer)

    assert fast is not None, "the fast path declined a supported operation"
    assert b'"errors"' not in general
    assert fast == general


@pytest.mark.parametrize("who", VIEWER_KINDS)
@pytest.mark.parametrize("target", ["venue", "orphan", "deleted_venue"])
async def test_venue_details_operation_matches(  # noqa: PLR0913, PLR0917 - fixtures
    execute, session, fast_path, world, who, target
):
    query = (OPERATIONS_DIR / "VenueDetails.graphql").read_text()
    variables = {"id": encode_global_id("Venue", world[target].id), "bookings": 2}
    viewer = world["viewers"][who]

    fast = await fast_response(fast_path, session, query, variables, viewer=viewer)
    general = await general_response(execute, query, variables, viewer=viewer)

    assert fast is not None
    assert fast == general


@pytest.mark.parametrize(
    "query",
    [
        "{ venues(first: 2) { totalCount } }",
        "{ venues { __typename } }",
        '{ venue(id: "VmVudWU6eA==") { bookings(first: 2) { totalCount } } }',
    ],
)
async def test_a_connection_without_edges_or_page_info_matches(
    execute, session, fast_path, world, query
):
    # Selecting no aggregate of the page must not give one row per item of it.
    if "venue(" in query:
        query = query.replace("VmVudWU6eA==", encode_global_id("Venue", world["venue"].id))
    fast = await fast_response(fast_path, session, query)
    general = await general_response(execute, query)

    assert fast is not None
    assert b'"errors"' not in general
    assert fast == general


async def test_venue_list_pages_continue_after_a_cursor(execute, session, fast_path, world):
    query = """query Page($after: String) { venues(first: 2, after: $after) {
                 edges { cursor node { name } }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    after = None
    pages = 0
    while True:
        fast = await fast_response(fast_path, session, query, {"after": after})
        assert fast == await general_response(execute, query, {"after": after})
        page = json.loads(fast)["data"]["venues"]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 2  # four live venues, two a page
    del world


UNSUPPORTED = {
    "mutation": "mutation { logOut(input: {}) { __typename } }",
    "unmapped field": "{ venues { edges { node { location } } } }",
    # A report graphql-core resolves, and nothing for a statement to answer.
    "unmapped root": "{ databaseHealth { database } }",
    # Only the viewer's own: compiled on `viewer` (tests/graph/compiler/test_compiled_nearby.py).
    "nearby venues of another user": (
        "{ users { edges { node { nearbyVenues(radiusMeters: 10) { totalCount } } } } }"
    ),
    # Each key selects its own edge fields; the compiled page has one edge for all.
    "edges under two keys": "{ venues(first: 2) { a: edges { cursor } b: edges { node { id } } } }",
    "invalid": "{ venues { edges { node { nope } } } }",
}

# Compiled now (they were not): each answers the loader path's bytes for every viewer.
COMPILED_LATER = {
    "search": '{ venues(search: "cafe") { edges { rank matchedBy node { id } } } }',
    "filter": '{ venues(filter: {city: "Paris"}) { totalCount edges { node { id } } } }',
    "last": """{ venues(last: 2, orderBy: CREATED_AT_DESC) { edges { cursor node { id } }
                 pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
    "viewer": "{ viewer { id displayName email role preferences } }",
    "skip and include": """{ venues(first: 2) { edges { node { id @include(if: true)
        name @skip(if: true) ... on Venue @include(if: false) { city }
        ...Where @skip(if: false) } } } }
        fragment Where on Venue { country }""",
    "text cursors": """{ venues(orderBy: NAME_DESC, first: 3) { edges { cursor node { name } }
        pageInfo { startCursor endCursor } }
        users(orderBy: DISPLAY_NAME_ASC) { edges { cursor } } }""",
    "preferences of others": """{ venues { edges { node { owner { preferences } bookings {
        edges { node { user { preferences } } } } } } } }""",
    "viewer sessions": """{ viewer { id sessions(first: 1) { totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id createdAt lastSeenAt expiresAt revokedAt userAgent ipAddress
        current } } } } }""",
    "lists and objects": """{ venues { edges { node { amenities media(first: 2) { edges { node {
        tags durationSeconds } } } } } } }""",
    "bookings": """{ bookings(filter: {status: [PENDING, CONFIRMED]}, orderBy: AMOUNT_DESC) {
                     totalCount edges { cursor node { id amount user { email } venue { name
                     owner { email } } } } } }""",
    "media and users": """{ media(first: 3) { totalCount edges { node { id title venue { id } } } }
                           users(first: 3) { edges { node { id email } } } }""",
    "nodes": "{ nodes(ids: []) { id } }",
    # tests/graph/compiler/test_compiled_booking_stats.py covers it in depth.
    "booking stats": (
        '{ bookingStats(from: "2030-01-01T00:00:00Z", to: "2031-01-01T00:00:00Z", groupBy: MONTH)'
        " { key count } }"
    ),
    "global search": """{ search(query: "photo") { pageInfo { hasNextPage endCursor }
        edges { cursor rank matchedBy node { __typename ... on Venue { name } ... on Media {
        title } } } } }""",
    "nested child list": (
        "{ venues { edges { node { bookings { edges { node { venue { media { totalCount edges "
        "{ cursor } } } } } } } } } }"
    ),
}


@pytest.mark.parametrize("name", list(COMPILED_LATER))
@pytest.mark.parametrize("who", VIEWER_KINDS)
async def test_more_reads_are_compiled_to_the_same_bytes(  # noqa: PLR0913, PLR0917 - fixtures
    execute, session, fast_path, world, name, who
):
    viewer = world["viewers"][who]
    query = COMPILED_LATER[name]
    general = await general_response(execute, query, viewer=viewer)
    fast = await fast_response(fast_path, session, query, viewer=viewer)

    if b'"errors"' in general:  # refused for this viewer: the loader path says why
        assert fast is None
    else:
        assert fast == general


@pytest.mark.parametrize("name", list(UNSUPPORTED))
async def test_unsupported_operations_are_declined(session, fast_path, world, name):
    assert await fast_response(fast_path, session, UNSUPPORTED[name]) is None
    del world


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ venues(first: 101) { edges { cursor } } }", None),
        ('{ venues(after: "garbage") { edges { cursor } } }', None),
        (
            "query($n: Int!) { venues { edges { node { bookings(first: $n) { totalCount } } } } }",
            {"n": -1},
        ),
        ("query($id: ID!) { venue(id: $id) { name } }", {"id": "not-an-id"}),
        ("query($n: Int!) { venues(first: $n) { totalCount } }", {"n": "ten"}),
        ("query($n: Int!) { venues(first: $n) { totalCount } }", {}),
    ],
)
async def test_arguments_the_general_path_refuses_are_left_to_it(
    session, fast_path, query, variables
):
    assert await fast_response(fast_path, session, query, variables) is None


async def test_a_validation_error_comes_out_as_on_the_general_path(execute, session, fast_path):
    # Refused by validation before either path runs: a variable defined but never used.
    query = "query Q($unused: Int) { venues(first: 1) { totalCount } }"
    result = await execute(query)  # both paths, the same bytes
    assert result.errors
    assert await fast_response(fast_path, session, query) is None


async def test_one_statement_per_request(session, fast_path, world, count_statements):
    with count_statements as counted:
        body = await fast_response(fast_path, session, NESTED_LIST, viewer=world["viewers"]["host"])
    assert body is not None
    assert counted.count == 1


async def test_plans_are_compiled_once_per_document_and_viewer_kind(session, world, monkeypatch):
    plans = PlanCache(maxsize=2)
    monkeypatch.setattr(CompiledReads, "plans", plans)
    viewers = world["viewers"]
    for viewer in [viewers["guest"], viewers["host"], viewers["guest"], None, None]:
        assert await fast_response(plans, session, NESTED_LIST, viewer=viewer)
    assert plans.compiled == 3  # member, host, anonymous
    assert len(plans) == 2  # bounded: the least recently used plan was dropped
    await fast_response(plans, session, NESTED_LIST, viewer=viewers["host"])
    assert plans.compiled == 4  # the host's plan was the one dropped


async def test_a_cached_plan_binds_each_viewer(execute, session, fast_path, world):
    # Two members share a plan; each must see only their own bookings.
    for who in ["guest", "host", "other host"]:
        viewer = world["viewers"][who]
        fast = await fast_response(fast_path, session, NESTED_LIST, viewer=viewer)
        assert fast == await general_response(execute, NESTED_LIST, viewer=viewer)


def compiled_count() -> float:
    return REGISTRY.get_sample_value("sartiq_graphql_read_path_total", {"path": "compiled"}) or 0.0


async def test_http_serves_the_fast_path_bytes(client, session, world):
    token = "fast-path-host-token"
    await make_login_session(session, user=world["host"], token=token)
    headers = {"Authorization": f"Bearer {token}"}

    before = compiled_count()
    fast = await client.post("/graphql", json={"query": NESTED_LIST}, headers=headers)
    between = compiled_count()
    general = await client.post("/graphql", json={"query": UNSUPPORTED["unmapped field"]})

    assert (between - before, compiled_count() - between) == (1, 0)
    assert fast.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    payload = fast.json()
    assert "errors" not in payload
    names = [edge["node"]["name"] for edge in payload["data"]["venues"]["edges"]]
    assert names[0] == "Café Ünïcode ☕"
    assert fast.content.isascii()  # non-ASCII escaped, as json.dumps escapes it
    assert general.status_code == 200
    assert "errors" not in general.json()


@pytest.mark.parametrize("document", ["{}", "query Empty {}", "query { }"])
async def test_an_empty_selection_answers_valid_json(client, document):
    # Found by `make fuzz`: the compiled path spliced nothing into `{"data":}`.
    response = await client.post("/graphql", json={"query": document})

    assert response.status_code == 200
    assert response.json() == {"data": {}}


MIXED = """query Mixed {
  first: venues(first: 2) { totalCount edges { node { name } } }
  located: venues(first: 2) { edges { node { id location } } }
  __typename
  last: viewer { id }
}"""
# A root field whose selection the compiler does not map (`Venue.location`).
LOCATED = "{ located: venues(first: 2) { edges { node { id location } } } }"


@pytest.mark.parametrize("who", VIEWER_KINDS)
async def test_root_fields_it_cannot_plan_run_beside_the_statement(  # noqa: PLR0913, PLR0917 - fixtures
    execute, session, fast_path, world, count_statements, who
):
    # graphql-core resolves `located` on the loader path; the rest is one statement.
    viewer = world["viewers"][who]
    general = await general_response(execute, MIXED, viewer=viewer)
    with count_statements as counted:
        await execute(LOCATED, viewer=viewer, paths="loaders")
    alone = counted.count
    with count_statements as counted:
        fast = await fast_response(fast_path, session, MIXED, viewer=viewer)

    assert fast == general
    assert counted.count == alone + 1
    assert fast.index(b'"first"') < fast.index(b'"located"') < fast.index(b'"last"')


NODE = """query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Venue { name owner { email } bookings(first: 2) { totalCount } }
    ... on Booking { amount user { email } }
    ...MediaCard
    ... on User { displayName email }
    ... on Node { id }
  }
}
fragment MediaCard on Media { title tags }"""


async def test_node_compiles_for_each_type_its_id_names(session, execute, fast_path, world):
    guest = world["viewers"]["guest"]
    ids = [
        encode_global_id("Venue", world["venue"].id),
        encode_global_id("Venue", world["deleted_venue"].id),
        encode_global_id("User", guest.user_id),
        encode_global_id("Nothing", world["venue"].id),  # no such type: null
    ]
    listed = await execute(
        "{ bookings { edges { node { id } } } media { edges { node { id } } } }",
        viewer=world["viewers"]["admin"],
    )
    for key in ("bookings", "media"):
        ids += [edge["node"]["id"] for edge in listed.data[key]["edges"]]
    compiled = 0
    for who in VIEWER_KINDS:
        viewer = world["viewers"][who]
        for node_id in ids:
            general = await general_response(execute, NODE, {"id": node_id}, viewer=viewer)
            fast = await fast_response(fast_path, session, NODE, {"id": node_id}, viewer=viewer)
            assert fast in (None, general)
            compiled += fast is not None
    assert compiled == len(VIEWER_KINDS) * len(ids)  # every type of these is compiled


DECIDED = """query Decided($full: Boolean!, $terse: Boolean = false) {
  venues(first: 2) { edges { node { id name @include(if: $full)
    owner @skip(if: $terse) { displayName } } } }
}"""


async def test_skip_and_include_decided_by_variables_get_a_plan_each(
    execute, session, fast_path, world
):
    for variables in ({"full": True}, {"full": False, "terse": True}, {"full": True}):
        general = await general_response(execute, DECIDED, variables)
        assert await fast_response(fast_path, session, DECIDED, variables) == general
    assert fast_path.compiled == 2  # the third request reused the first one's plan
    del world
