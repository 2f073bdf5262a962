"""Scale-out: two server processes on one database share nothing but PostgreSQL.

A booking made through one process reaches subscribers connected to the other: each process
listens for itself and fans out to its own subscribers.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from graph.http.serving import uvicorn_arguments
from tests.graph.live.live import AVAILABILITY, BOOKING_CHANGES, book, gid, live_client, slot, world

START_SECONDS = 20.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server_processes(database_url: str, count: int) -> Iterator[list[str]]:
    """`count` processes of `uvicorn graph.http.app:app` as served, started together; their URLs."""
    environment = os.environ | {"DATABASE_URL": database_url, "GRAPHIQL": "false"}
    ports = [_free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(  # noqa: S603 - this interpreter running uvicorn
            [
                sys.executable,
                "-m",
                "uvicorn",
                "graph.http.app:app",
                "--port",
                str(port),
                *uvicorn_arguments(),
                "--log-level",
                "warning",
            ],
            env=environment,
        )
        for port in ports
    ]
    base_urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + START_SECONDS
        for process, base_url in zip(processes, base_urls, strict=True):
            while not _answers(base_url):
                assert process.poll() is None, "a server process exited while starting"
                assert time.monotonic() < deadline, "a server process did not start in time"
                time.sleep(0.1)
        yield base_urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


def _answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def test_a_booking_made_through_one_process_reaches_a_subscriber_of_the_other(
    test_database, engine
):
    with _server_processes(test_database.url, 2) as (first, second):
        async with world(engine) as made:
            host, host_token = await made.user("host")
            _, token = await made.user()
            venue = await made.venue(host)
            span = slot(30)
            window = {
                "venueId": gid("Venue", venue.id),
                "from": span[0].isoformat(),
                "to": span[1].isoformat(),
            }
            async with live_client(second) as anonymous, live_client(second, host_token) as as_host:
                await anonymous.subscribe("a", AVAILABILITY, window)
                assert (await anonymous.next_data("a"))["venueAvailability"]["busy"] == []
                await as_host.subscribe("b", BOOKING_CHANGES)
                await as_host.nothing(0.3)

                booking_id = await book(first, token, venue, span)

                availability = (await anonymous.next_data("a"))["venueAvailability"]
                assert len(availability["busy"]) == 1
                change = (await as_host.next_data("b"))["bookingChanges"]
                assert (change["kind"], change["bookingId"]) == ("CREATED", booking_id)
