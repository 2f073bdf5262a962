"""/metrics of a server with several workers adds up every worker's figures.

`sartiq serve --workers 2` with PROMETHEUS_MULTIPROC_DIR: whichever worker answers a scrape,
it reports the requests both served (prometheus-client's multiprocess mode), and a restart
starts from empty files.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

WORKERS = 2
REQUESTS = 40
OPERATION = "query CountedByEveryWorker { __typename }"
_COUNT = re.compile(
    r'^sartiq_graphql_request_seconds_count\{operation="CountedByEveryWorker",outcome="ok"\} '
    r"(?P<count>[0-9.]+)$",
    re.MULTILINE,
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def two_workers(test_database, tmp_path: Path) -> Iterator[str]:
    """`sartiq serve --workers 2` on the test database, with a multiprocess metrics folder."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_0.db").write_bytes(b"stale")  # a previous run's file
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": test_database.url,
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "GRAPHIQL": "false",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [str(Path(sys.executable).parent / "sartiq"), "serve", "--workers", str(WORKERS)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"the server did not start: {log.read_text()}")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_every_scrape_counts_the_requests_of_every_worker(two_workers):
    with httpx.Client(base_url=two_workers, timeout=10) as client:
        for _ in range(REQUESTS):
            # A new connection each time, so both workers take a share.
            response = client.post(
                "/graphql", json={"query": OPERATION}, headers={"Connection": "close"}
            )
            assert response.status_code == 200
        counts = []
        for _ in range(6):
            scrape = client.get("/metrics", headers={"Connection": "close"}).text
            match = _COUNT.search(scrape)
            assert match is not None, scrape[:2000]
            counts.append(float(match["count"]))
    assert counts == [REQUESTS] * 6
