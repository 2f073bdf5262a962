"""E-mail addresses through HTTP: one key for sign-up, log-in and the unique index.

Each tricky address signs up and then logs in under every spelling that means the same
address; look-alikes either reach the same account or are refused with BAD_USER_INPUT.
"""

import json
import logging

import pytest
from sqlalchemy import func, select

from models import User

PASSWORD = "correct horse battery"

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token user { email } }
}
"""
LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { token user { email } }
}
"""
UPDATE_PROFILE = """
mutation UpdateProfile($input: UpdateProfileInput!) {
  updateProfile(input: $input) { user { email } }
}
"""
TAKEN = "An account with this email already exists."


async def graphql(client, query, variables, *, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # json.dumps escapes lone surrogates (`\ud800`), as a JavaScript client would send them.
    body = json.dumps({"query": query, "variables": variables})
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


async def sign_up(client, email, *, password=PASSWORD):
    variables = {"input": {"email": email, "password": password, "displayName": "Someone"}}
    return await graphql(client, SIGN_UP, variables)


async def log_in(client, email, *, password=PASSWORD):
    return await graphql(client, LOG_IN, {"input": {"email": email, "password": password}})


def code_and_field(body):
    (error,) = body["errors"]
    return error["extensions"]["code"], error["extensions"].get("field")


@pytest.fixture(autouse=True)
def no_error_logged(caplog):
    caplog.set_level(logging.WARNING)
    yield
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("signed_up", "stored", "spellings"),
    [
        # Python lower-cases İ to i + combining dot, PostgreSQL to a plain i.
        ("İnci@x.test", "İnci@x.test", ["İnci@x.test", "i\u0307nci@x.test", "İNCI@X.TEST"]),
        # Capital sigma lower-cases to a medial or a final sigma depending on who asks.
        (
            "ΟΔΥΣΣΕΑΣ@x.test",
            "ΟΔΥΣΣΕΑΣ@x.test",
            ["ΟΔΥΣΣΕΑΣ@x.test", "οδυσσεας@x.test", "οδυσσεασ@X.TEST", "Οδυσσεας@x.test"],
        ),
        # Fullwidth forms are the letters they look like.
        (
            "\uff41\uff44\uff41@\uff58.test",
            "ada@x.test",
            ["ada@x.test", "ADA@X.TEST", "\uff41\uff44\uff41@\uff58.\uff54\uff45\uff53\uff54"],
        ),
        # A decomposed accent (NFD) is the composed one (NFC).
        (
            "e\u0301mile@x.test",
            "émile@x.test",
            ["émile@x.test", "ÉMILE@x.test", "E\u0301mile@x.test"],
        ),
        # Full case folding: ß is ss.
        ("straße@x.test", "straße@x.test", ["STRASSE@x.test", "strasse@x.test", "Straße@x.test"]),
        # Surrounding whitespace of any kind is not part of the address.
        ("\u3000ken@x.test\t", "ken@x.test", ["ken@x.test", " KEN@x.test "]),
    ],
)
async def test_an_address_signs_up_and_logs_in_under_every_spelling(
    client, session, signed_up, stored, spellings
):
    body = await sign_up(client, signed_up)

    assert "errors" not in body
    assert body["data"]["signUp"]["user"]["email"] == stored
    for spelling in spellings:
        logged_in = await log_in(client, spelling)
        assert "errors" not in logged_in, spelling
        assert logged_in["data"]["logIn"]["user"]["email"] == stored
    for spelling in spellings:
        again = await sign_up(client, spelling)
        assert code_and_field(again) == ("BAD_USER_INPUT", "input.email"), spelling
        assert again["errors"][0]["message"] == TAKEN
    assert await session.scalar(select(func.count()).select_from(User)) == 1


@pytest.mark.parametrize(
    "email",
    [
        "p\u0430ypal@x.test",  # a Cyrillic a among Latin letters
        "paypal@p\u0430ypal.test",  # the same inside a domain label
        "abcxΣ@x.test",  # Latin with a Greek capital sigma
        "ad\u200ba@x.test",  # zero-width space
        "\u200bada@x.test",  # ... where trimming would not see it
        "ad\u00ada@x.test",  # soft hyphen
        "ada\u202e@x.test",  # right-to-left override
        "ad\u2060a@x.test",  # word joiner
        "ad\ufeffa@x.test",  # zero-width no-break space
        "ad a@x.test",  # an inner space
        "ad\u3000a@x.test",  # an ideographic space (NFKC: a plain space)
        "ad\x00a@x.test",  # NUL
        "ad\x07a@x.test",  # a control character
        "ad\ud800a@x.test",  # a lone surrogate
        "ad\ue000a@x.test",  # private use
        "ada@x..test",  # an empty domain label
        "ada@x.test.",  # a trailing dot
        "ada@" + "x" * 320 + ".test",  # too long
    ],
)
async def test_look_alikes_and_invisible_characters_are_refused_at_sign_up(client, session, email):
    body = await sign_up(client, email)

    assert code_and_field(body) == ("BAD_USER_INPUT", "input.email")
    assert body.get("data") is None  # null, or absent when refused before execution
    assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_a_refused_look_alike_does_not_log_in_to_the_account_it_imitates(client):
    assert "errors" not in await sign_up(client, "paypal@x.test")

    for imitation in ("p\u0430ypal@x.test", "pay\u200bpal@x.test", "paypal@x.test\u200b"):
        body = await log_in(client, imitation)
        assert code_and_field(body) == ("UNAUTHENTICATED", None), imitation


async def test_an_address_wholly_in_another_script_is_its_own(client, session):
    # Whole-script look-alikes (Cyrillic "pay" beside Latin "pay") would need Unicode's
    # confusables table; they stay distinct addresses, as the mail system treats them.
    assert "errors" not in await sign_up(client, "иван@пример.рф")
    assert "errors" not in await sign_up(client, "\u0440\u0430\u0443@x.test")
    assert "errors" not in await sign_up(client, "pay@x.test")
    # Japanese mixes Han and kana with Latin, as Unicode's restrictive profile allows.
    assert "errors" not in await sign_up(client, "山田たろうsan@例え.jp")

    assert "errors" not in await log_in(client, "ИВАН@ПРИМЕР.РФ")
    assert await session.scalar(select(func.count()).select_from(User)) == 4


async def test_update_profile_keys_the_new_email_and_refuses_a_taken_look_alike(client):
    first = await sign_up(client, "first@x.test")
    await sign_up(client, "ΣΟΦΙΑ@x.test")
    token = first["data"]["signUp"]["token"]

    taken = await graphql(client, UPDATE_PROFILE, {"input": {"email": "σοφια@x.test"}}, token=token)
    assert code_and_field(taken) == ("BAD_USER_INPUT", "input.email")
    refused = await graphql(
        client, UPDATE_PROFILE, {"input": {"email": "fir\u200bst@x.test"}}, token=token
    )
    assert code_and_field(refused) == ("BAD_USER_INPUT", "input.email")

    moved = await graphql(
        client, UPDATE_PROFILE, {"input": {"email": "İlk@\uff58.test"}}, token=token
    )
    assert moved["data"]["updateProfile"]["user"]["email"] == "İlk@x.test"
    assert "errors" not in await log_in(client, "i\u0307lk@X.test")
    assert code_and_field(await log_in(client, "first@x.test")) == ("UNAUTHENTICATED", None)


async def test_the_users_filter_compares_by_the_same_key(client, session):
    from tests.factories import make_login_session, make_user  # noqa: PLC0415

    admin = await make_user(session, role="admin")
    await make_login_session(session, user=admin, token="admin-token")
    await make_user(session, email="İnci@x.test")
    query = (
        "query Q($email: String!) { users(filter: {email: $email}) { edges { node { email } } } }"
    )

    body = await graphql(client, query, {"email": "i\u0307NCI@x.test"}, token="admin-token")

    assert body["data"]["users"]["edges"] == [{"node": {"email": "İnci@x.test"}}]
