"""The viewer, bearer-token authentication over HTTP, and who sees a user's private fields."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import text

from graph.core.global_id import encode_global_id
from models import auth
from tests.factories import make_booking, make_login_session, make_user, make_venue
from tests.graph.viewers import viewer_of

PASSWORD = "correct horse battery"

VIEWER = "{ viewer { id displayName email } }"

SESSIONS = """
query Sessions($first: Int, $after: String) {
  viewer {
    sessions(first: $first, after: $after) {
      edges { cursor node { id current userAgent } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}
"""

USER_PRIVATE = """
query User($id: ID!) {
  node(id: $id) { ... on User { displayName email preferences } }
}
"""

USER_SESSIONS = """
query UserSessions($ids: [ID!]!) {
  nodes(ids: $ids) { ... on User { sessions(first: 2) { edges { node { id } } } } }
}
"""

SESSION_NODE = """
query SessionNode($id: ID!) {
  node(id: $id) { __typename ... on Session { id current user { displayName } } }
}
"""


def error_of(result):
    (error,) = result.errors
    return error


async def post(client, query, variables=None, *, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200
    return response.json()


# --- viewer ------------------------------------------------------------------------------------


async def test_viewer_is_null_when_anonymous(execute):
    result = await execute(VIEWER)

    assert result.errors is None
    assert result.data == {"viewer": None}


async def test_viewer_is_the_signed_in_user(session, execute, count_statements):
    user = await make_user(session, display_name="Ada", email="ada@example.test")

    with count_statements as counted:
        result = await execute(VIEWER, viewer=viewer_of(user))

    assert result.data == {
        "viewer": {
            "id": encode_global_id("User", user.id),
            "displayName": "Ada",
            "email": "ada@example.test",
        }
    }
    assert counted.count == 1


# --- over HTTP: tokens from logIn, refused after logOut, revocation and expiry ----------------


async def log_in(client, email):
    body = await post(
        client,
        "mutation($input: LogInInput!) { logIn(input: $input) { token session { id } } }",
        {"input": {"email": email, "password": PASSWORD}},
    )
    assert "errors" not in body, body
    return body["data"]["logIn"]


async def test_sign_up_then_the_token_signs_requests_in(client):
    body = await post(
        client,
        "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
        {"input": {"email": "new@example.test", "password": PASSWORD, "displayName": "New"}},
    )
    token = body["data"]["signUp"]["token"]

    viewer = await post(client, "{ viewer { displayName email } }", token=token)

    assert viewer == {"data": {"viewer": {"displayName": "New", "email": "new@example.test"}}}


async def test_log_in_then_log_out_over_http(session, client):
    await make_user(
        session,
        email="ada@example.test",
        display_name="Ada",
        password_hash=await auth.hash_password(PASSWORD),
    )
    token = (await log_in(client, "ada@example.test"))["token"]

    signed_in = await post(
        client,
        "{ viewer { displayName sessions { edges { node { current userAgent ipAddress } } } } }",
        token=token,
    )
    assert signed_in["data"]["viewer"]["displayName"] == "Ada"
    (edge,) = signed_in["data"]["viewer"]["sessions"]["edges"]
    assert edge["node"]["current"] is True
    assert edge["node"]["userAgent"].startswith("python-httpx/")
    assert edge["node"]["ipAddress"] == "127.0.0.1"

    logged_out = await post(client, "mutation { logOut { session { revokedAt } } }", token=token)
    assert logged_out["data"]["logOut"]["session"]["revokedAt"] is not None

    refused = await post(client, VIEWER, token=token)
    assert refused["data"] == {"viewer": None}
    (error,) = refused["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert error["message"] == "The token is invalid, expired or revoked; sign in again."


async def test_a_session_revoked_from_another_device_stops_working(session, client):
    await make_user(
        session, email="ada@example.test", password_hash=await auth.hash_password(PASSWORD)
    )
    phone = await log_in(client, "ada@example.test")
    laptop = await log_in(client, "ada@example.test")

    revoked = await post(
        client,
        "mutation($input: RevokeSessionInput!) {"
        " revokeSession(input: $input) { session { id current } } }",
        {"input": {"id": phone["session"]["id"]}},
        token=laptop["token"],
    )
    assert revoked["data"]["revokeSession"]["session"] == {
        "id": phone["session"]["id"],
        "current": False,
    }

    assert (await post(client, VIEWER, token=phone["token"]))["errors"][0]["extensions"] == {
        "code": "UNAUTHENTICATED"
    }
    assert (await post(client, VIEWER, token=laptop["token"]))["data"]["viewer"] is not None


async def test_an_expired_token_is_refused(session, client):
    await make_user(
        session, email="ada@example.test", password_hash=await auth.hash_password(PASSWORD)
    )
    token = (await log_in(client, "ada@example.test"))["token"]
    assert (await post(client, VIEWER, token=token))["data"]["viewer"] is not None

    await session.execute(
        text("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = :h"),
        {"h": auth.token_digest(token)},
    )

    body = await post(client, VIEWER, token=token)
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_malformed_authorization_header_is_refused_with_the_reason(client):
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Basic abc"}
    )

    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "Bearer" in error["message"]


async def test_a_refused_token_still_reads_public_data(session, client):
    venue = await make_venue(session, name="Open Hall")

    body = await post(
        client,
        "query($id: ID!) { venue(id: $id) { name } }",
        {"id": encode_global_id("Venue", venue.id)},
        token="not-a-real-token",
    )

    assert body == {"data": {"venue": {"name": "Open Hall"}}}


async def test_new_sessions_last_the_configured_lifetime(session, client):
    await make_user(
        session, email="ada@example.test", password_hash=await auth.hash_password(PASSWORD)
    )
    before = dt.datetime.now(dt.UTC)

    token = (await log_in(client, "ada@example.test"))["token"]

    body = await post(
        client, "{ viewer { sessions { edges { node { expiresAt } } } } }", token=token
    )
    (edge,) = body["data"]["viewer"]["sessions"]["edges"]
    expires_at = dt.datetime.fromisoformat(edge["node"]["expiresAt"])
    assert dt.timedelta(days=30) <= expires_at - before < dt.timedelta(days=30, minutes=1)


# --- email and preferences: who sees them ------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "sees_private"),
    [("self", True), ("admin", True), ("stranger", False), ("anonymous", False)],
)
async def test_email_and_preferences_are_for_the_user_and_admins(
    session, execute, who, sees_private
):
    user = await make_user(
        session, display_name="Ada", email="ada@example.test", preferences={"theme": "dark"}
    )
    viewers = {
        "self": viewer_of(user),
        "admin": viewer_of(await make_user(session, role="admin")),
        "stranger": viewer_of(await make_user(session, role="host")),
        "anonymous": None,
    }

    result = await execute(
        USER_PRIVATE, {"id": encode_global_id("User", user.id)}, viewer=viewers[who]
    )

    assert result.errors is None
    expected = {"email": "ada@example.test", "preferences": {"theme": "dark"}}
    hidden = {"email": None, "preferences": None}
    assert result.data["node"] == {"displayName": "Ada"} | (expected if sees_private else hidden)


async def test_a_host_sees_the_email_of_a_guest_through_their_booking_only(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    guest = await make_user(session, email="guest@example.test", preferences={"x": 1})
    await make_booking(session, venue=venue, user=guest)
    query = """
    query($venue: ID!, $guest: ID!) {
      venue(id: $venue) { bookings { edges { node { user { email preferences } } } } }
      node(id: $guest) { ... on User { email } }
    }
    """

    result = await execute(
        query,
        {"venue": encode_global_id("Venue", venue.id), "guest": encode_global_id("User", guest.id)},
        viewer=viewer_of(host),
    )

    assert result.errors is None
    (edge,) = result.data["venue"]["bookings"]["edges"]
    # Through the booking: the email (to contact the guest), never the preferences.
    assert edge["node"]["user"] == {"email": "guest@example.test", "preferences": None}
    # The same user reached directly: no email.
    assert result.data["node"] == {"email": None}


async def test_a_venue_owner_email_is_hidden_from_other_users(session, execute):
    owner = await make_user(session, role="host", email="owner@example.test")
    venue = await make_venue(session, owner=owner)
    member = await make_user(session)

    result = await execute(
        "query($id: ID!) { venue(id: $id) { owner { email } } }",
        {"id": encode_global_id("Venue", venue.id)},
        viewer=viewer_of(member),
    )

    assert result.data["venue"]["owner"] == {"email": None}


# --- sessions ----------------------------------------------------------------------------------


async def test_viewer_sessions_newest_first_with_current_marked(session, execute):
    user = await make_user(session)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    logins = [
        await make_login_session(
            session, user=user, created_at=start + dt.timedelta(days=i), user_agent=f"device {i}"
        )
        for i in range(3)
    ]
    await make_login_session(session)  # someone else's
    viewer = dataclasses.replace(viewer_of(user), session_id=logins[1].id)

    result = await execute(SESSIONS, viewer=viewer)

    assert result.errors is None
    nodes = [edge["node"] for edge in result.data["viewer"]["sessions"]["edges"]]
    assert nodes == [
        {
            "id": encode_global_id("Session", login.id),
            "current": login is logins[1],
            "userAgent": login.user_agent,
        }
        for login in reversed(logins)
    ]


async def test_viewer_sessions_page_with_keyset_cursors(session, execute):
    user = await make_user(session)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    logins = [
        await make_login_session(session, user=user, created_at=start + dt.timedelta(days=i))
        for i in range(5)
    ]
    viewer = viewer_of(user)

    first = await execute(SESSIONS, {"first": 2}, viewer=viewer)
    page = first.data["viewer"]["sessions"]
    assert page["pageInfo"]["hasNextPage"] is True
    # A session started between the two requests does not shift the next page.
    await make_login_session(session, user=user, created_at=start + dt.timedelta(days=9))
    second = await execute(
        SESSIONS, {"first": 2, "after": page["pageInfo"]["endCursor"]}, viewer=viewer
    )
    third = await execute(
        SESSIONS,
        {"first": 2, "after": second.data["viewer"]["sessions"]["pageInfo"]["endCursor"]},
        viewer=viewer,
    )

    pages = [
        [edge["node"]["id"] for edge in result.data["viewer"]["sessions"]["edges"]]
        for result in (first, second, third)
    ]
    newest_first = [encode_global_id("Session", login.id) for login in reversed(logins)]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    assert second.data["viewer"]["sessions"]["pageInfo"]["hasPreviousPage"] is True
    assert third.data["viewer"]["sessions"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("variables", "field"), [({"first": 101}, "first"), ({"after": "garbage"}, "after")]
)
async def test_viewer_sessions_refuses_bad_paging_arguments(session, execute, variables, field):
    user = await make_user(session)

    result = await execute(SESSIONS, variables, viewer=viewer_of(user))

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": field}


async def test_another_users_sessions_are_forbidden_except_to_admins(session, execute):
    user = await make_user(session)
    login = await make_login_session(session, user=user)
    stranger = await make_user(session, role="host")
    admin = await make_user(session, role="admin")
    variables = {"ids": [encode_global_id("User", user.id)]}

    refused = await execute(USER_SESSIONS, variables, viewer=viewer_of(stranger))
    allowed = await execute(USER_SESSIONS, variables, viewer=viewer_of(admin))

    assert error_of(refused).extensions == {"code": "FORBIDDEN"}
    assert allowed.errors is None
    assert allowed.data["nodes"][0]["sessions"]["edges"] == [
        {"node": {"id": encode_global_id("Session", login.id)}}
    ]


@pytest.mark.parametrize("users", [1, 10])
async def test_sessions_of_many_users_load_in_one_statement(
    session, execute, count_statements, users
):
    people = [await make_user(session) for _ in range(users)]
    for person in people:
        for _ in range(3):
            await make_login_session(session, user=person)
    admin = await make_user(session, role="admin")
    ids = [encode_global_id("User", person.id) for person in people]

    with count_statements as counted:
        result = await execute(
            USER_SESSIONS, {"ids": ids}, viewer=viewer_of(admin), paths="loaders"
        )

    assert result.errors is None
    assert [len(node["sessions"]["edges"]) for node in result.data["nodes"]] == [2] * users
    assert counted.count == 2  # the users, then every user's first two sessions
    with count_statements as counted:
        again = await execute(USER_SESSIONS, {"ids": ids}, viewer=viewer_of(admin))
    assert again.data == result.data
    assert counted.count == 1  # the compiled path: one for all


async def test_sessions_total_count(session, execute):
    user = await make_user(session)
    for _ in range(3):
        await make_login_session(session, user=user)

    result = await execute(
        "{ viewer { sessions(first: 1) { totalCount edges { cursor } } } }",
        viewer=viewer_of(user),
    )

    assert result.errors is None
    assert result.data["viewer"]["sessions"]["totalCount"] == 3


# --- node(id:) for sessions --------------------------------------------------------------------


@pytest.mark.parametrize(("who", "visible"), [("owner", True), ("admin", True), ("other", False)])
async def test_node_resolves_a_session_for_its_user_and_admins(session, execute, who, visible):
    user = await make_user(session, display_name="Ada")
    login = await make_login_session(session, user=user)
    viewers = {
        "owner": dataclasses.replace(viewer_of(user), session_id=login.id),
        "admin": viewer_of(await make_user(session, role="admin")),
        "other": viewer_of(await make_user(session, role="host")),
    }
    global_id = encode_global_id("Session", login.id)

    result = await execute(SESSION_NODE, {"id": global_id}, viewer=viewers[who])

    assert result.errors is None
    expected = {
        "__typename": "Session",
        "id": global_id,
        "current": who == "owner",
        "user": {"displayName": "Ada"},
    }
    assert result.data["node"] == (expected if visible else None)


async def test_last_seen_moves_in_steps_when_the_token_is_used(session, client):
    sql = text
    login_id = (await make_login_session(session, token="seen-token")).id
    await session.execute(
        sql("UPDATE sessions SET last_seen_at = now() - interval '1 hour' WHERE id = :id"),
        {"id": login_id},
    )
    session.expire_all()  # the app shares this session: let it read the stamp afresh
    headers = {"Authorization": "Bearer seen-token"}

    async def last_seen():
        return (
            await session.execute(
                sql("SELECT now() - last_seen_at FROM sessions WHERE id = :id"), {"id": login_id}
            )
        ).scalar_one()

    response = await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    assert response.json()["data"]["viewer"] is not None
    assert (await last_seen()).total_seconds() < 60

    # Within the step nothing is written: a stamp two minutes old stays.
    await session.execute(
        sql("UPDATE sessions SET last_seen_at = now() - interval '2 minutes' WHERE id = :id"),
        {"id": login_id},
    )
    session.expire_all()
    await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    assert 110 < (await last_seen()).total_seconds() < 130
