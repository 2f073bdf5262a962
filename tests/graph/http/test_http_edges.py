"""Requests that misbehave at the HTTP level: odd operation names, huge headers, bodies that
stall or stop half-way. Each is answered as JSON with a code, or (gone) leaves no traceback.
"""

import asyncio
import json
import logging
from typing import Any

import pytest
from starlette.types import Message

from models.settings import Settings
from tests.graph.serving import served_app


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("name", ["A\ud800", "\ud800", "A\x00", "A B", "1A", "A-B"])
async def test_an_operation_name_that_no_operation_can_have_is_bad_request(client, caplog, name):
    # Sent as the ASCII JSON a client may legally send (lone surrogates as \\ud800 escapes).
    body = json.dumps({"query": "query A { __typename }", "operationName": name})
    response = await client.post(
        "/graphql", content=body.encode(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"][0]["extensions"] == {"code": "BAD_REQUEST", "field": "operationName"}
    assert _errors_logged(caplog) == []


async def test_headers_over_the_limit_are_refused_with_431(client):
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Padding": "a" * 40_000}
    )

    assert response.status_code == 431
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def _scope(body_length: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(body_length).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("test", 80),
    }


async def _call(app: Any, receive: Any) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(_scope(1_000), receive, send), timeout=5)
    return sent


async def test_a_body_that_stalls_is_refused_with_408(test_database, session):
    settings = Settings(database_url=test_database.url, request_body_timeout_seconds=0.2)
    parts: list[Message] = [{"type": "http.request", "body": b'{"query":', "more_body": True}]

    async def receive() -> Message:
        if parts:
            return parts.pop(0)
        await asyncio.sleep(3600)  # the client never sends the rest
        raise AssertionError

    async with served_app(settings, session) as app:
        sent = await _call(app, receive)

    start, body = sent[0], b"".join(message.get("body", b"") for message in sent[1:])
    assert start["status"] == 408
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"


async def test_a_client_gone_before_its_body_is_complete_leaves_no_traceback(
    test_database, session, caplog
):
    settings = Settings(database_url=test_database.url)
    parts: list[Message] = [
        {"type": "http.request", "body": b'{"query":', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async with served_app(settings, session) as app:
        sent = await _call(app, receive)

    assert sent == []  # nobody to answer
    assert _errors_logged(caplog) == []


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (
            "query Q($near: NearInput) { venues(near: $near) { totalCount } }",
            {"near": {"latitude": 0.0, "longitude": 0.0, "radiusMeters": 10.0, "İstanbul": 1}},
            "near",
        ),
        (
            "query Q($order: VenueOrder) { venues(orderBy: $order) { totalCount } }",
            {"order": "İNAME_ASC"},
            "order",
        ),
    ],
)
async def test_unknown_names_whose_lower_case_is_longer_are_bad_input(
    client, caplog, query, variables, field
):
    # graphql-core's "did you mean" raised IndexError on these (graph/schema/graphql_core_fixes.py).
    response = await client.post("/graphql", json={"query": query, "variables": variables})

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert _errors_logged(caplog) == []


async def test_a_number_too_long_to_read_is_named_without_python_internals(client):
    body = '{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}"
    response = await client.post(
        "/graphql", content=body.encode(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == "`body` holds a number of more than 4300 digits."
    assert "sys." not in response.text


async def test_an_empty_document_id_in_a_body_is_refused_not_ignored(client):
    # In a query string an empty parameter counts as absent (`operationName=` from forms).
    fields = {"query": "{ __typename }", "documentId": ""}
    response = await client.post("/graphql", json=fields)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "documentId" in error["message"]
