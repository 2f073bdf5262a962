"""Accounts in the models layer: the merge-patch function, sign-up races, credential checks."""

import asyncio
import datetime as dt
import json
import secrets
import statistics
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models import User, account, auth
from models.user import get_by_email
from tests.factories import make_user

LIFETIME = dt.timedelta(days=30)

# RFC 7396, appendix A: (target, patch, result).
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_7396_EXAMPLES)
async def test_jsonb_merge_patch_follows_rfc_7396(session, target, patch, expected):
    merged = await session.scalar(
        text("SELECT jsonb_merge_patch(CAST(:target AS jsonb), CAST(:patch AS jsonb))::text"),
        {"target": json.dumps(target), "patch": json.dumps(patch)},
    )
    assert json.loads(merged) == expected


async def test_jsonb_merge_patch_is_immutable_and_treats_a_null_target_as_empty(session):
    volatility = await session.scalar(
        text("SELECT provolatile::text FROM pg_proc WHERE proname = 'jsonb_merge_patch'")
    )
    assert volatility == "i"
    merged = await session.scalar(
        text("""SELECT jsonb_merge_patch(NULL, '{"a": {"b": 1, "c": null}}')::text""")
    )
    assert json.loads(merged) == {"a": {"b": 1}}


async def test_update_preferences_merges_in_one_statement(session, count_statements):
    user = await make_user(
        session, preferences={"theme": "light", "notifications": {"email": True, "push": True}}
    )

    with count_statements as counted:
        updated = await account.update_preferences(
            session,
            user_id=user.id,
            patch={"theme": "dark", "notifications": {"push": None}, "language": "fr"},
        )

    assert counted.count == 1
    assert updated is user
    assert user.preferences == {
        "theme": "dark",
        "notifications": {"email": True},
        "language": "fr",
    }


async def test_sign_up_creates_a_member_with_a_session(session):
    signed_in = await account.sign_up(
        session,
        email="Ada@Example.test",
        password_hash=await auth.hash_password("correct horse battery"),
        display_name="Ada",
        session_lifetime=LIFETIME,
        user_agent="pytest",
        ip_address="192.0.2.1",
    )

    assert signed_in.user.role == "member"
    assert await get_by_email(session, email="ada@example.TEST") is signed_in.user
    assert signed_in.login.user_id == signed_in.user.id
    assert signed_in.login.token_hash == auth.token_digest(signed_in.token)
    assert await auth.authenticate(session, token=signed_in.token) == (
        signed_in.user,
        signed_in.login,
    )


async def test_sign_up_with_a_live_email_in_any_case_is_email_taken(session):
    await make_user(session, email="taken@example.test")

    with pytest.raises(account.EmailTakenError) as raised:
        async with session.begin_nested():
            await account.sign_up(
                session,
                email="TAKEN@example.test",
                password_hash="x",
                display_name="Copycat",
                session_lifetime=LIFETIME,
                user_agent=None,
                ip_address=None,
            )
    assert raised.value.field == "email"


async def test_two_concurrent_sign_ups_with_one_email_give_one_account(engine):
    # Two real transactions: the second insert waits on the unique index until the first
    # commits, then fails. A lookup before inserting would have let both through.
    email = f"race-{secrets.token_hex(4)}@example.test"
    password_hash = await auth.hash_password("correct horse battery")

    async def attempt(session: AsyncSession, name: str) -> account.SignedIn:
        return await account.sign_up(
            session,
            email=email,
            password_hash=password_hash,
            display_name=name,
            session_lifetime=LIFETIME,
            user_agent=None,
            ip_address=None,
        )

    first = AsyncSession(engine, expire_on_commit=False)
    second = AsyncSession(engine, expire_on_commit=False)
    try:
        await attempt(first, "First")  # inserted, not yet committed
        loser = asyncio.create_task(attempt(second, "Second"))
        await asyncio.sleep(0.3)
        assert not loser.done()  # waiting on the unique index
        await first.commit()
        with pytest.raises(account.EmailTakenError):
            await loser
        await second.rollback()
        users = (await first.execute(select(User).where(User.email == email))).scalars().all()
        assert [user.display_name for user in users] == ["First"]
    finally:
        await first.close()
        await second.close()
        async with engine.begin() as cleanup:
            ids = (
                (
                    await cleanup.execute(
                        text("DELETE FROM users WHERE email = :e RETURNING id"), {"e": email}
                    )
                )
                .scalars()
                .all()
            )
            await cleanup.execute(
                text("DELETE FROM audit_log WHERE record_id = ANY(:ids)"), {"ids": list(ids)}
            )


async def test_update_profile_changes_only_what_it_is_given(session):
    user = await make_user(session, display_name="Before", email="before@example.test")

    await account.update_profile(session, user_id=user.id, display_name="After")

    assert (user.display_name, user.email) == ("After", "before@example.test")


async def test_update_profile_to_a_taken_email_is_email_taken(session):
    await make_user(session, email="other@example.test")
    user = await make_user(session)

    with pytest.raises(account.EmailTakenError):
        async with session.begin_nested():
            await account.update_profile(session, user_id=user.id, email="Other@Example.test")


@pytest.mark.parametrize(
    ("rule", "value", "field"),
    [
        (account.normalise_email, "no-at-sign", "email"),
        (account.normalise_email, "a@b", "email"),
        (account.normalise_email, "two words@example.test", "email"),
        (account.normalise_email, "x" * 310 + "@example.test", "email"),
        (account.check_password_rules, "short", "password"),
        (account.check_password_rules, "p" * 201, "password"),
        (account.normalise_display_name, "   ", "display_name"),
        (account.normalise_display_name, "n" * 121, "display_name"),
        (account.check_preferences_patch, ["not", "an", "object"], "patch"),
        (account.check_preferences_patch, {"big": "x" * 20_000}, "patch"),
    ],
)
def test_input_rules_name_the_field_they_refuse(rule, value, field):
    with pytest.raises(account.AccountInputError) as raised:
        rule(value)
    assert raised.value.field == field


def test_input_rules_accept_and_trim_good_values():
    assert account.normalise_email("  ada@example.test ") == "ada@example.test"
    assert account.check_password_rules("p" * 10) == "p" * 10
    assert account.check_password_rules("p" * 200) == "p" * 200
    assert account.normalise_display_name("  Ada  ") == "Ada"


class SpyHasher:
    """Records every `verify` before passing it to the real hasher."""

    def __init__(self, real):
        self.real = real
        self.verified: list[str] = []

    def hash(self, password):
        return self.real.hash(password)

    def verify(self, password_hash, password):
        self.verified.append(password_hash)
        return self.real.verify(password_hash, password)


async def test_check_password_verifies_a_dummy_hash_when_there_is_no_user(session, monkeypatch):
    spy = SpyHasher(auth._HASHER)  # noqa: SLF001 - spying on the module's own hasher
    monkeypatch.setattr(auth, "_HASHER", spy)
    user = await make_user(session, password_hash=spy.hash("the right password"))

    assert await auth.check_password(user, "the right password") is True
    assert await auth.check_password(user, "a wrong password") is False
    assert await auth.check_password(None, "the right password") is False
    passwordless = await make_user(session, password_hash=None)
    assert await auth.check_password(passwordless, "anything at all") is False

    # Every check ran one argon2 verification, the last two against the dummy hash.
    assert len(spy.verified) == 4
    assert spy.verified[2] == spy.verified[3] != user.password_hash
    assert spy.verified[2].startswith("$argon2id$")


async def test_a_missing_user_takes_about_as_long_as_a_wrong_password(session):
    user = await make_user(session, password_hash=await auth.hash_password("the right one"))
    await auth.check_password(None, "warm up the dummy hash")

    async def median_seconds(candidate: User | None) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            await auth.check_password(candidate, "a wrong password")
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    wrong_password = await median_seconds(user)
    no_user = await median_seconds(None)
    assert 0.5 < no_user / wrong_password < 2


async def test_revoke_session_keeps_the_first_revocation_time(session):
    user = await make_user(session)
    login, _ = await auth.start_session(
        session, user=user, lifetime=LIFETIME, user_agent=None, ip_address=None
    )
    revoked = await auth.revoke_session(session, session_id=login.id, user_id=user.id)
    assert revoked is not None
    first_revoked_at = revoked.revoked_at
    assert first_revoked_at is not None
    await session.execute(
        text("UPDATE sessions SET revoked_at = revoked_at - interval '1 hour' WHERE id = :id"),
        {"id": login.id},
    )

    again = await auth.revoke_session(session, session_id=login.id, user_id=user.id)

    assert again is not None
    assert again.revoked_at == first_revoked_at - dt.timedelta(hours=1)
    other = await make_user(session)
    assert await auth.revoke_session(session, session_id=login.id, user_id=other.id) is None
