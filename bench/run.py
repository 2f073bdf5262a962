"""Benchmark the API over HTTP with wrk: requests/s, p50, p99, SQL statements per request, RSS.

    uv run python -m bench.run                   # every scenario
    uv run python -m bench.run --scenario search --duration 5

It seeds its own database once (reused when present), serves the API in its production
configuration (uvicorn, one worker per core, GraphiQL off) on it, warms each scenario up,
then drives it with wrk at 16 connections. Every response is checked for data and no errors.
Statements per request come from pg_stat_statements (reset before each measured run).
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.scenarios import DATASETS, SCENARIOS, Dataset, Scenario
from models.provisioning import create_database_if_missing, migrate_to_head
from models.seed import seed_demo_data
from models.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "graphql.lua"

# Statements that are the application's work, not the driver's bookkeeping (pings, BEGIN).
APPLICATION_STATEMENTS = r"^\s*(select|insert|update|delete|with)\s"
PING = "SELECT $1"


@dataclass(frozen=True)
class Result:
    """One measured scenario."""

    scenario: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    statements_per_request: float
    max_rss_mb: float
    bad_responses: int


def say(line: str) -> None:
    """Progress on stderr; the table goes to stdout."""
    print(line, file=sys.stderr, flush=True)  # noqa: T201 - progress for the person running it


def dataset_url(dataset: Dataset) -> str:
    """The async URL of the dataset's database, on the configured server."""
    base = make_url(str(get_settings().database_url))
    return base.set(database=dataset.database).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """The URL for asyncpg.connect."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def prepare(dataset: Dataset) -> str:
    """Create, migrate and seed the dataset's database once; return its URL."""
    url = dataset_url(dataset)
    if asyncio.run(create_database_if_missing(url)):
        say(f"created database {dataset.database}")
    migrate_to_head(url)
    report = asyncio.run(seed_demo_data(libpq(url), progress=say, **dataset.counts))
    say(
        f"{dataset.database}: {report.users} users, {report.venues} venues,"
        f" {report.bookings} bookings, {report.media} media"
        + ("" if report.seeded else " (reused)")
    )
    return url


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(url: str, *, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the API in its production configuration; yield its base URL and process."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "GRAPHIQL": "false",
        "SLOW_STATEMENT_MS": "10000",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "graph.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own server
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:  # noqa: PLR2004 - HTTP OK
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                message = "the API did not become ready within 60 s"
                raise RuntimeError(message)
            time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def worker_rss_mb(process: subprocess.Popen[bytes]) -> float:
    """The largest resident set among the server's worker processes (or the server itself)."""
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    largest = 0.0
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if not status.exists():
            continue
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                largest = max(largest, int(line.split()[1]) / 1024)
    return largest


async def reset_statements(url: str) -> None:
    """Forget the dataset database's statement statistics."""
    connection = await asyncpg.connect(libpq(url))
    try:
        await connection.execute(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database"
            " WHERE datname = current_database()), 0)"
        )
    finally:
        await connection.close()


async def application_statements(url: str) -> int:
    """Application statements run in the dataset database since the last reset."""
    connection = await asyncpg.connect(libpq(url))
    try:
        calls: int = await connection.fetchval(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND query ~* $1 AND query <> $2 AND query NOT ILIKE '%pg_stat_statements%'",
            APPLICATION_STATEMENTS,
            PING,
        )
    finally:
        await connection.close()
    return calls


def wrk(
    base: str, scenario: Scenario, *, seconds: int, connections: int, token: str | None
) -> dict[str, float]:
    """Drive one scenario with wrk and return its summary."""
    env = {**os.environ, "BENCH_BODY": json.dumps(scenario.body), "BENCH_TOKEN": token or ""}
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"{base}/graphql",
    ]
    output = subprocess.run(  # noqa: S603 - fixed command
        command, env=env, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    summary: dict[str, float] = json.loads(line.removeprefix("BENCH "))
    return summary


def check_once(base: str, scenario: Scenario, token: str | None) -> None:
    """Fail early, with the server's answer, if the scenario does not return clean data."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/graphql",
        data=json.dumps(scenario.body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        answer = json.loads(response.read())
    if answer.get("errors") or not answer.get("data"):
        message = f"{scenario.name}: {json.dumps(answer)[:500]}"
        raise RuntimeError(message)


def measure(  # noqa: PLR0913 - the server, the scenario and wrk's settings
    base: str,
    process: subprocess.Popen[bytes],
    url: str,
    scenario: Scenario,
    *,
    seconds: int,
    warmup: int,
    connections: int,
) -> Result:
    """Warm a scenario up, then measure it."""
    token = asyncio.run(scenario.token(libpq(url))) if scenario.token else None
    check_once(base, scenario, token)
    wrk(base, scenario, seconds=warmup, connections=connections, token=token)
    asyncio.run(reset_statements(url))
    summary = wrk(base, scenario, seconds=seconds, connections=connections, token=token)
    statements = asyncio.run(application_statements(url))
    requests = summary["requests"]
    return Result(
        scenario=scenario.name,
        requests_per_second=requests / summary["seconds"],
        p50_ms=summary["p50_ms"],
        p99_ms=summary["p99_ms"],
        statements_per_request=statements / requests if requests else 0.0,
        max_rss_mb=worker_rss_mb(process),
        bad_responses=int(summary["bad_responses"] + summary["socket_errors"]),
    )


def print_table(results: list[Result]) -> None:
    """The figures, one row per scenario."""
    header = (
        f"{'scenario':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'SQL/req':>8} {'RSS MB':>8} {'errors':>7}"
    )
    print(header)  # noqa: T201 - the table is the output
    print("-" * len(header))  # noqa: T201
    for r in results:
        print(  # noqa: T201
            f"{r.scenario:<22} {r.requests_per_second:8.1f} {r.p50_ms:8.1f} {r.p99_ms:8.1f}"
            f" {r.statements_per_request:8.2f} {r.max_rss_mb:8.1f} {r.bad_responses:7d}"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the chosen scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--duration", type=int, default=15, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    arguments = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing; install it (Debian: apt-get install wrk)")
    chosen = [SCENARIOS[name] for name in arguments.scenario or sorted(SCENARIOS)]
    results: list[Result] = []
    for dataset_name in sorted({scenario.dataset for scenario in chosen}):
        url = prepare(DATASETS[dataset_name])
        with serve(url, workers=arguments.workers) as (base, process):
            for scenario in (s for s in chosen if s.dataset == dataset_name):
                say(f"measuring {scenario.name} ({arguments.duration} s)")
                results.append(
                    measure(
                        base,
                        process,
                        url,
                        scenario,
                        seconds=arguments.duration,
                        warmup=arguments.warmup,
                        connections=arguments.connections,
                    )
                )
    print_table(results)


if __name__ == "__main__":
    main()
