"""Account fields through HTTP: blank passwords refused, odd characters never a 500."""

import json
import logging

import pytest
from sqlalchemy import func, select

from models import User

SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token }
}
"""
LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { token }
}
"""


@pytest.fixture(autouse=True)
def no_error_logged(caplog):
    caplog.set_level(logging.WARNING)
    yield
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def post(client, query, variables):
    # json.dumps escapes lone surrogates, as a JavaScript client would send them.
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize(
    "password",
    [
        " " * 10,
        "\t\n\r " * 5,
        "\u3000" * 10,  # ideographic spaces
        "\u00a0\u2003\u2009" * 4,  # no-break, em and thin spaces
        "\u200b" * 10,  # zero-width spaces
        "\u200d\u2060\ufeff" * 4,  # joiner, word joiner, byte-order mark
        "correct horse\x00battery",
        "correct horse \ud800 battery",
    ],
)
async def test_sign_up_refuses_a_blank_or_unstorable_password(client, session, password):
    variables = {"input": {"email": "ada@x.test", "password": password, "displayName": "Ada"}}

    body = await post(client, SIGN_UP, variables)

    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.password"}
    assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_spaces_inside_a_password_are_fine(client):
    variables = {
        "input": {"email": "ada@x.test", "password": "  two words  ", "displayName": "Ada"}
    }

    body = await post(client, SIGN_UP, variables)

    assert "errors" not in body
    logged_in = await post(
        client, LOG_IN, {"input": {"email": "ada@x.test", "password": "  two words  "}}
    )
    assert "errors" not in logged_in


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@x.test", "correct horse \ud800 battery"),
        ("ada@x.test", "correct horse\x00battery"),
        ("ad\x00a@x.test", "correct horse battery"),
        ("ad\udc00a@x.test", "correct horse battery"),
    ],
)
async def test_log_in_with_unstorable_characters_is_refused_as_input(client, email, password):
    # Strings PostgreSQL cannot store are refused for every argument before any resolver runs
    # (graph/schema/input_hygiene.py): the answer names the field and checks no password.
    await post(
        client,
        SIGN_UP,
        {"input": {"email": "ada@x.test", "password": "correct horse battery", "displayName": "A"}},
    )

    body = await post(client, LOG_IN, {"input": {"email": email, "password": password}})

    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"].startswith("input.")
    assert body.get("data") is None  # null, or absent when refused before execution


@pytest.mark.parametrize(
    "display_name", ["Ada\x00", "A\ud800da", "Ada\x1b[31m", "\u200b", " \u2060\u200b "]
)
async def test_sign_up_refuses_a_display_name_with_control_characters(client, display_name):
    variables = {
        "input": {
            "email": "ada@x.test",
            "password": "correct horse battery",
            "displayName": display_name,
        }
    }

    body = await post(client, SIGN_UP, variables)

    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.displayName"}
