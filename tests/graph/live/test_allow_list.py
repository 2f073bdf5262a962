"""The allow-list applies to subscription documents as to queries (a server of its own:
two apps cannot be served at once in one process, their pool metrics would collide)."""

from graph.http.app import create_app
from models.settings import Settings
from tests.graph.live.live import SESSION_REVOKED, live_client
from tests.graph.serving import served_over_tcp


async def test_subscriptions_outside_the_allow_list_are_refused(test_database):
    settings = Settings(database_url=test_database.url, persisted_queries_only=True)
    with served_over_tcp(create_app(settings)) as base_url:
        async with live_client(base_url) as client:
            await client.subscribe("x", SESSION_REVOKED)
            message = await client.receive()
            # The connection stays usable.
            await client.send({"type": "ping"})
            pong = await client.receive()
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert pong == {"type": "pong"}
