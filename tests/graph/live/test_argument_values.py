"""Bad values in every argument a subscription takes: a coded error, never a close or a 500.

`tests/graph/schema/test_input_values.py` sends hostile values to every other argument over
HTTP; subscriptions run only over the websocket, so their arguments are covered here, with
the same kinds of values: NUL, lone surrogates, garbage and wrong-type IDs, times without an
offset or outside the years 1-9999 in UTC. Each answers an `error` message whose errors all
carry a code other than INTERNAL_SERVER_ERROR, and the connection stays open for the next.
"""

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from graph.http.app import create_app
from models.settings import Settings
from tests.graph.live.live import AVAILABILITY, gid, live_client, slot, world
from tests.graph.serving import served_over_tcp

# The subscription arguments these values cover, as `test_input_values` names places.
COVERED = {
    "Subscription.venueAvailability(venueId)",
    "Subscription.venueAvailability(from)",
    "Subscription.venueAvailability(to)",
}
BAD_IDS = ["", "\u0000", "\ud800", "not-an-id", "VmVudWU6", "%%%"]
BAD_TIMES = [
    "\u0000",
    "\ud800",
    "soon",
    "2030-01-01T00:00:00",  # no offset
    "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31T23:30:00-01:00",  # after 9999 in UTC
    "2030-02-30T00:00:00Z",
]


@pytest.fixture(scope="module")
def server(test_database) -> Iterator[str]:
    settings = Settings(database_url=test_database.url, graphiql=False)
    with served_over_tcp(create_app(settings)) as base_url:
        yield base_url


def cases() -> Iterator[Any]:
    for value in BAD_IDS:
        yield pytest.param("venueId", value, id=f"venueId-{value.encode('unicode_escape')!r}")
    yield pytest.param("venueId", "User", id="venueId-of-a-user")
    for name in ("from", "to"):
        for value in BAD_TIMES:
            yield pytest.param(name, value, id=f"{name}-{value.encode('unicode_escape')!r}")


@pytest.mark.parametrize(("name", "value"), list(cases()))
async def test_a_bad_argument_is_a_coded_error_and_the_connection_stays(
    server, engine, name, value
):
    async with world(engine) as made:
        host, _ = await made.user("host")
        venue = await made.venue(host)
        start, end = slot(5)
        good = {"venueId": gid("Venue", venue.id), "from": start.isoformat(), "to": end.isoformat()}
        bad = value if value != "User" else gid("User", uuid.uuid4())
        async with live_client(server) as client:
            await client.subscribe("bad", AVAILABILITY, {**good, name: bad})
            refused = await asyncio.wait_for(client.receive(), 5)
            await client.subscribe("good", AVAILABILITY, good)
            answered = await asyncio.wait_for(client.receive(), 5)
    assert refused["type"] == "error", refused
    assert refused["id"] == "bad"
    codes = {error["extensions"]["code"] for error in refused["payload"]}
    assert codes, refused
    assert "INTERNAL_SERVER_ERROR" not in codes, refused
    # Where the error names the argument, it names this one.
    assert {error["extensions"].get("field", name) for error in refused["payload"]} == {name}
    assert answered["type"] == "next", answered
    assert answered["payload"]["data"]["venueAvailability"]["busy"] == []
