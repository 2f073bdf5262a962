"""A websocket upgrade on /graphql without graphql-transport-ws is refused cleanly.

Strawberry's router served websockets, but the request context needed an HTTP request, so every
upgrade answered HTTP 500 with a traceback in the log. Subscriptions now speak
graphql-transport-ws (tests/graph/live/); any other subprotocol, or none, is closed with 4406
(Strawberry's "Subprotocol not acceptable"), without a traceback.
"""

import logging

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from graph.http.app import create_app
from models.settings import Settings


@pytest.mark.parametrize("subprotocols", [["graphql-ws"], [], ["something-else"]])
def test_a_websocket_upgrade_is_refused_without_a_traceback(test_database, caplog, subprotocols):
    application = create_app(Settings(database_url=test_database.url))
    with caplog.at_level(logging.INFO), TestClient(application) as http:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            http.websocket_connect("/graphql", subprotocols=subprotocols) as socket,
        ):
            socket.receive_text()
        # The app still serves HTTP afterwards.
        response = http.post("/graphql", json={"query": "{ __typename }"})

    assert refused.value.code == 4406
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert [record for record in caplog.records if record.exc_info] == []


def test_an_upgrade_request_over_plain_http_is_answered_as_json(test_database):
    application = create_app(Settings(database_url=test_database.url))
    with TestClient(application) as http:
        response = http.get(
            "/graphql",
            headers={"Connection": "Upgrade", "Upgrade": "websocket", "Accept": "application/json"},
        )

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_websocket_elsewhere_than_graphql_is_refused_by_the_router(test_database):
    # /graphql's websockets skip the middlewares (graph/http/app.py); other paths do not.
    application = create_app(Settings(database_url=test_database.url))
    with (
        TestClient(application) as http,
        pytest.raises(WebSocketDisconnect) as refused,
        http.websocket_connect("/healthz", subprotocols=["graphql-transport-ws"]) as socket,
    ):
        socket.receive_text()
    assert refused.value.code == 1000  # Starlette's refusal of a websocket without a route


def test_graphql_websockets_are_served_below_a_root_path(test_database):
    application = create_app(Settings(database_url=test_database.url))
    with (
        TestClient(application, root_path="/api") as http,
        http.websocket_connect("/api/graphql", subprotocols=["graphql-transport-ws"]) as socket,
    ):
        socket.send_json({"type": "connection_init", "payload": {}})
        assert socket.receive_json() == {"type": "connection_ack"}
