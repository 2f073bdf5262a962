"""Account mutations: signUp, logIn, logOut, revokeSession, updateProfile, updatePreferences."""

import dataclasses
import uuid

import pytest
from sqlalchemy import select

from graph.core.global_id import encode_global_id
from models import AuditLog, LoginSession, User, auth, soft_delete
from tests.factories import make_login_session, make_user
from tests.graph.viewers import viewer_of

PASSWORD = "correct horse battery"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) {
    token
    user { id displayName email role preferences }
    session { id current expiresAt revokedAt }
  }
}
"""

LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { token user { displayName email } session { id revokedAt } }
}
"""

LOG_OUT = "mutation { logOut { session { id revokedAt current } } }"

REVOKE = """
mutation Revoke($input: RevokeSessionInput!) {
  revokeSession(input: $input) { session { id revokedAt } }
}
"""

UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { displayName email } }
}
"""

UPDATE_PREFERENCES = """
mutation UpdatePreferences($input: UpdatePreferencesInput!) {
  updatePreferences(input: $input) { user { preferences } }
}
"""


async def member_with_password(session, **fields):
    return await make_user(session, password_hash=await auth.hash_password(PASSWORD), **fields)


def error_of(result):
    (error,) = result.errors
    return error


# --- signUp ------------------------------------------------------------------------------------


async def test_sign_up_creates_a_member_and_signs_them_in(session, execute):
    result = await execute(
        SIGN_UP,
        {"input": {"email": " Ada@Example.test ", "password": PASSWORD, "displayName": " Ada "}},
    )

    assert result.errors is None
    payload = result.data["signUp"]
    assert payload["user"]["displayName"] == "Ada"
    # The request proved to be Ada: her own email and preferences are shown.
    assert payload["user"]["email"] == "Ada@Example.test"
    assert payload["user"]["preferences"] == {}
    assert payload["user"]["role"] == "MEMBER"
    assert payload["session"]["revokedAt"] is None
    # The request that signed up is anonymous: the new session is not the request's.
    assert payload["session"]["current"] is False
    user = await session.scalar(select(User).where(User.email == "Ada@Example.test"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert user.password_hash != PASSWORD
    login = await session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert login.token_hash == auth.token_digest(payload["token"])
    assert payload["session"]["id"] == encode_global_id("Session", login.id)


async def test_sign_up_never_puts_the_password_hash_in_the_audit_trail(session, execute):
    result = await execute(
        SIGN_UP,
        {"input": {"email": "audited@example.test", "password": PASSWORD, "displayName": "Au"}},
    )
    assert result.errors is None
    user = await session.scalar(select(User).where(User.email == "audited@example.test"))

    events = (await session.scalars(select(AuditLog).where(AuditLog.record_id == user.id))).all()

    assert [event.action for event in events] == ["INSERT"]
    assert events[0].new_data["email"] == "audited@example.test"
    assert "password_hash" not in events[0].new_data
    assert user.password_hash not in str(events[0].new_data)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "input.email"),
        ({"password": "too short"}, "input.password"),
        ({"password": "p" * 201}, "input.password"),
        ({"displayName": "   "}, "input.displayName"),
    ],
)
async def test_sign_up_refuses_bad_input_naming_the_field(session, execute, fields, field):
    good = {"email": "fine@example.test", "password": PASSWORD, "displayName": "Fine"}

    result = await execute(SIGN_UP, {"input": good | fields})

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert await session.scalar(select(User).where(User.email == "fine@example.test")) is None


async def test_sign_up_with_a_registered_email_in_another_case_is_bad_user_input(session, execute):
    await make_user(session, email="taken@example.test")

    result = await execute(
        SIGN_UP,
        {"input": {"email": "TAKEN@example.TEST", "password": PASSWORD, "displayName": "Two"}},
    )

    error = error_of(result)
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "input.email"}
    assert error.message == "An account with this email already exists."


async def test_sign_up_may_reuse_the_email_of_a_deleted_account(session, execute):
    gone = await make_user(session, email="reused@example.test")
    await soft_delete(session, gone)

    result = await execute(
        SIGN_UP,
        {"input": {"email": "reused@example.test", "password": PASSWORD, "displayName": "New"}},
    )

    assert result.errors is None


# --- logIn -------------------------------------------------------------------------------------


async def test_log_in_returns_a_token_for_a_new_session(session, execute, count_statements):
    user = await member_with_password(session, email="ada@example.test", display_name="Ada")

    with count_statements as counted:
        result = await execute(
            LOG_IN, {"input": {"email": "ADA@example.test", "password": PASSWORD}}
        )

    assert result.errors is None
    payload = result.data["logIn"]
    assert payload["user"] == {"displayName": "Ada", "email": "ada@example.test"}
    found = await auth.authenticate(session, token=payload["token"])
    assert found is not None
    assert found[0] is user
    assert payload["session"]["id"] == encode_global_id("Session", found[1].id)
    # Count the attempt (set the audit actor, upsert this one, delete expired counts); look
    # up the user; then, in the write: set the audit actor, clear the count, insert the session.
    assert counted.count == 7


async def test_wrong_password_and_unknown_email_fail_alike(session, execute):
    await member_with_password(session, email="ada@example.test")

    wrong_password = await execute(
        LOG_IN, {"input": {"email": "ada@example.test", "password": "not the password"}}
    )
    unknown_email = await execute(
        LOG_IN, {"input": {"email": "nobody@example.test", "password": PASSWORD}}
    )
    too_long = await execute(
        LOG_IN, {"input": {"email": "ada@example.test", "password": PASSWORD * 50}}
    )

    errors = [error_of(result) for result in (wrong_password, unknown_email, too_long)]
    assert {(error.message, error.extensions["code"]) for error in errors} == {
        ("Wrong email or password.", "UNAUTHENTICATED")
    }
    assert await session.scalar(select(LoginSession.id)) is None


async def test_log_in_to_a_deleted_account_fails(session, execute):
    user = await member_with_password(session, email="gone@example.test")
    await soft_delete(session, user)

    result = await execute(LOG_IN, {"input": {"email": "gone@example.test", "password": PASSWORD}})

    assert error_of(result).extensions["code"] == "UNAUTHENTICATED"


# --- logOut and revokeSession ------------------------------------------------------------------


async def test_log_out_revokes_the_requests_session(session, execute):
    user = await make_user(session)
    login = await make_login_session(session, user=user)
    other = await make_login_session(session, user=user)
    viewer = dataclasses.replace(viewer_of(user), session_id=login.id)

    result = await execute(LOG_OUT, viewer=viewer)

    assert result.errors is None
    assert result.data["logOut"]["session"]["id"] == encode_global_id("Session", login.id)
    assert result.data["logOut"]["session"]["current"] is True
    assert result.data["logOut"]["session"]["revokedAt"] is not None
    await session.refresh(other)
    assert other.revoked_at is None


async def test_log_out_needs_a_viewer(execute):
    result = await execute(LOG_OUT)

    assert error_of(result).extensions == {"code": "UNAUTHENTICATED"}


async def test_revoke_own_session(session, execute):
    user = await make_user(session)
    login = await make_login_session(session, user=user)

    result = await execute(
        REVOKE,
        {"input": {"id": encode_global_id("Session", login.id)}},
        viewer=viewer_of(user),
    )

    assert result.errors is None
    assert result.data["revokeSession"]["session"]["revokedAt"] is not None
    assert login.revoked_at is not None


async def test_revoking_someone_elses_session_is_not_found_and_changes_nothing(session, execute):
    owner = await make_user(session)
    login = await make_login_session(session, user=owner)
    intruder = await make_user(session, role="host")

    result = await execute(
        REVOKE,
        {"input": {"id": encode_global_id("Session", login.id)}},
        viewer=viewer_of(intruder),
    )

    assert error_of(result).extensions == {"code": "NOT_FOUND", "field": "input.id"}
    await session.refresh(login)
    assert login.revoked_at is None


async def test_admins_revoke_anyones_session(session, execute):
    login = await make_login_session(session)
    admin = await make_user(session, role="admin")

    result = await execute(
        REVOKE, {"input": {"id": encode_global_id("Session", login.id)}}, viewer=viewer_of(admin)
    )

    assert result.errors is None
    assert login.revoked_at is not None


async def test_revoke_session_with_another_types_id_is_bad_user_input(session, execute):
    user = await make_user(session)

    result = await execute(
        REVOKE, {"input": {"id": encode_global_id("User", user.id)}}, viewer=viewer_of(user)
    )

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": "input.id"}


async def test_revoke_session_of_an_unknown_id_is_not_found(session, execute):
    admin = await make_user(session, role="admin")

    result = await execute(
        REVOKE,
        {"input": {"id": encode_global_id("Session", uuid.uuid4())}},
        viewer=viewer_of(admin),
    )

    assert error_of(result).extensions["code"] == "NOT_FOUND"


# --- updateProfile -----------------------------------------------------------------------------


async def test_update_profile_changes_only_the_given_fields(session, execute):
    user = await make_user(session, display_name="Before", email="before@example.test")

    renamed = await execute(
        UPDATE_PROFILE, {"input": {"displayName": "After"}}, viewer=viewer_of(user)
    )
    moved = await execute(
        UPDATE_PROFILE, {"input": {"email": "after@example.test"}}, viewer=viewer_of(user)
    )

    assert renamed.data["updateProfile"]["user"] == {
        "displayName": "After",
        "email": "before@example.test",
    }
    assert moved.data["updateProfile"]["user"] == {
        "displayName": "After",
        "email": "after@example.test",
    }


async def test_update_profile_is_audited_with_the_viewer_as_actor(session, execute):
    user = await make_user(session, display_name="Before", password_hash="$argon2id$secret")

    result = await execute(
        UPDATE_PROFILE, {"input": {"displayName": "After"}}, viewer=viewer_of(user)
    )

    assert result.errors is None
    (event,) = (
        await session.scalars(
            select(AuditLog).where(AuditLog.record_id == user.id, AuditLog.action == "UPDATE")
        )
    ).all()
    assert event.user_id == user.id
    assert event.user_email == user.email
    assert event.changed_fields == ["display_name"]
    assert (event.old_data["display_name"], event.new_data["display_name"]) == ("Before", "After")
    assert "password_hash" not in event.old_data
    assert "password_hash" not in event.new_data


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"displayName": None}, "input.displayName"),
        ({"email": None}, "input.email"),
        ({"displayName": ""}, "input.displayName"),
        ({"email": "nope"}, "input.email"),
    ],
)
async def test_update_profile_refuses_bad_input_naming_the_field(session, execute, fields, field):
    user = await make_user(session, display_name="Kept")

    result = await execute(UPDATE_PROFILE, {"input": fields}, viewer=viewer_of(user))

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": field}
    assert user.display_name == "Kept"


async def test_update_profile_to_a_taken_email_is_bad_user_input(session, execute):
    await make_user(session, email="taken@example.test")
    user = await make_user(session, email="mine@example.test")

    result = await execute(
        UPDATE_PROFILE, {"input": {"email": "Taken@example.test"}}, viewer=viewer_of(user)
    )

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": "input.email"}
    await session.refresh(user)
    assert user.email == "mine@example.test"


async def test_update_profile_needs_a_viewer(execute):
    result = await execute(UPDATE_PROFILE, {"input": {"displayName": "Anon"}})

    assert error_of(result).extensions["code"] == "UNAUTHENTICATED"


# --- updatePreferences -------------------------------------------------------------------------


async def test_update_preferences_deep_merges_and_null_removes(session, execute):
    user = await make_user(
        session,
        preferences={"theme": "light", "notifications": {"email": True, "push": True}},
    )

    result = await execute(
        UPDATE_PREFERENCES,
        {"input": {"patch": {"notifications": {"push": None, "sms": False}, "theme": None}}},
        viewer=viewer_of(user),
    )

    assert result.errors is None
    expected = {"notifications": {"email": True, "sms": False}}
    assert result.data["updatePreferences"]["user"]["preferences"] == expected
    stored = await session.scalar(
        select(User.preferences).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert stored == expected


async def test_update_preferences_accepts_an_inline_object_literal(session, execute):
    user = await make_user(session)

    result = await execute(
        'mutation { updatePreferences(input: {patch: {language: "fr"}}) { user { preferences } } }',
        viewer=viewer_of(user),
    )

    assert result.errors is None
    assert result.data["updatePreferences"]["user"]["preferences"] == {"language": "fr"}


@pytest.mark.parametrize("patch", [["a list"], "a string", 42, True])
async def test_update_preferences_refuses_a_patch_that_is_not_an_object(session, execute, patch):
    user = await make_user(session, preferences={"theme": "dark"})

    result = await execute(UPDATE_PREFERENCES, {"input": {"patch": patch}}, viewer=viewer_of(user))

    assert error_of(result).extensions == {"code": "BAD_USER_INPUT", "field": "input.patch"}
    assert user.preferences == {"theme": "dark"}


async def test_update_preferences_is_audited_with_the_viewer_as_actor(session, execute):
    user = await make_user(session)

    await execute(
        UPDATE_PREFERENCES, {"input": {"patch": {"theme": "dark"}}}, viewer=viewer_of(user)
    )

    (event,) = (
        await session.scalars(
            select(AuditLog).where(AuditLog.record_id == user.id, AuditLog.action == "UPDATE")
        )
    ).all()
    assert event.user_id == user.id
    assert event.changed_fields == ["preferences"]
