"""The root `users` list: admins only, filtered by role or email, `includeDeleted`."""

import pytest

from models import soft_delete
from tests.factories import make_user
from tests.graph.viewers import viewer_of

USERS = """
query Users($filter: UserFilter, $orderBy: UserOrder, $includeDeleted: Boolean) {
  users(first: 100, filter: $filter, orderBy: $orderBy, includeDeleted: $includeDeleted) {
    totalCount
    edges { node { displayName role deletedAt } }
  }
}
"""


@pytest.fixture
async def admin(session):
    return await make_user(session, role="admin", display_name="Root")


async def names(execute, viewer, **variables):
    result = await execute(USERS, variables, viewer=viewer)
    assert result.errors is None, result.errors
    connection = result.data["users"]
    found = [edge["node"]["displayName"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


async def test_admins_list_users_filtered_and_sorted(session, execute, admin):
    await make_user(session, display_name="Zoe", email="Zoe@Example.test")
    await make_user(session, role="host", display_name="Hal")
    viewer = viewer_of(admin)
    assert await names(execute, viewer) == ["Root", "Zoe", "Hal"]
    assert await names(execute, viewer, orderBy="DISPLAY_NAME_ASC") == ["Hal", "Root", "Zoe"]
    assert await names(execute, viewer, filter={"role": "HOST"}) == ["Hal"]
    assert await names(execute, viewer, filter={"email": " zoe@example.TEST"}) == ["Zoe"]


async def test_admins_may_include_deleted_users(session, execute, admin):
    gone = await make_user(session, display_name="Gone")
    await soft_delete(session, gone)
    assert gone.deleted_at is not None
    viewer = viewer_of(admin)
    assert await names(execute, viewer) == ["Root"]
    result = await execute(USERS, {"includeDeleted": True}, viewer=viewer)
    nodes = [edge["node"] for edge in result.data["users"]["edges"]]
    assert nodes[1] == {
        "displayName": "Gone",
        "role": "MEMBER",
        "deletedAt": gone.deleted_at.isoformat(),
    }


@pytest.mark.parametrize("role", ["member", "host"])
async def test_others_are_forbidden(session, execute, role):
    user = await make_user(session, role=role)
    result = await execute(USERS, viewer=viewer_of(user))
    (error,) = result.errors
    assert error.extensions == {"code": "FORBIDDEN"}
    assert result.data is None


async def test_anonymous_viewers_must_sign_in(execute):
    result = await execute(USERS)
    (error,) = result.errors
    assert error.extensions == {"code": "UNAUTHENTICATED"}
