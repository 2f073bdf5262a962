"""Benchmark the API over HTTP with wrk: requests/s, p50, p99, SQL statements per request, RSS.

    uv run python -m bench.run                   # every scenario, the peers too
    uv run python -m bench.run --scenario search --duration 5
    uv run python -m bench.run --scenario nested_list --no-peers
    uv run python -m bench.run --growth          # scale 10 against scale 100 (bench.growth)
    uv run python -m bench.run --subscriptions   # 1,000 live subscribers (bench.subscriptions)
    uv run python -m bench.run --replica         # with one streaming replica (bench.replicas)

It seeds its own database once (reused when present), serves the API in its production
configuration (uvicorn, one worker per core, GraphiQL off) on it, warms each scenario up,
then drives it with wrk at 16 connections. Every response is checked for data and no errors.
Statements per request come from pg_stat_statements (reset before each measured run).

Scenarios with a peer run it too, on the same database right after the API (unless
--no-peers): PostGraphile v5 (bench/peers.py) for the nested list and for each read operation of
graph/operations/, and a floor (bench/floor.py: a bare ASGI app over an asyncpg pool) for each:
for the nested list one hand-written SQL statement, for each read operation a replay of the
very statements the API ran for its request (bench/statement_capture.py records them in process
after the API's last scenario: same text, arguments and count), answered with the API's bytes.
Each peer's answer is first compared with the API's, taken after the API's last scenario so
both read the same rows: a floor's JSON must be the same, PostGraphile's rows (ids, counts,
list lengths) for the operations. The table ends with the API's throughput divided by
PostGraphile's per operation, then per operation its floor's divided by PostGraphile's and the
API's by its floor's, then the nested list's divided by its peers'.

Which path answered (the compiled SQL or the loaders) comes from the API's
`sartiq_graphql_read_path_total{path}` counter at /metrics, read before and after each measured
run: the path that answered most of its query operations, `?` when the API has no such counter.
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from bench import peers
from bench.scenarios import (
    DATASETS,
    POSTGRAPHILE_TERMS,
    READ_OPERATIONS,
    SCENARIOS,
    Dataset,
    Scenario,
    Slots,
    free_slots,
)
from models.provisioning import create_database_if_missing, migrate_to_head
from models.seed import seed_demo_data
from models.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "graphql.lua"
THREADS = 2  # wrk's threads
NESTED = "nested_list"
FLOOR = f"{NESTED} (floor)"
POSTGRAPHILE = f"{NESTED} (PostGraphile)"
READ_NAMES = frozenset(scenario.name for scenario in READ_OPERATIONS)
READ_PATH = "sartiq_graphql_read_path_total"
# Fields whose values are JSON documents: `rows_of` does not read their keys as fields.
JSON_FIELDS = frozenset({"preferences", "oldData", "newData", "amenities", "exif"})

# Statements that are the application's work, not the driver's bookkeeping (pings, BEGIN,
# the reset an asyncpg pool runs when a connection goes back: the floor's pool).
APPLICATION_STATEMENTS = r"^\s*(select|insert|update|delete|with)\s"
PING = "SELECT $1"
POOL_RESET = "%pg_advisory_unlock_all()%"


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
    # "compiled", "loaders", "?" (no counter), "-" (no query operation), "" (not the API).
    path: str = ""


# What identifies an answer's rows (see `rows_of`).
Rows = list[tuple[str, object]]


@dataclass(frozen=True)
class Ready:
    """A scenario with its variables resolved and its viewer's token, made once per run."""

    scenario: Scenario
    token: str | None


def postgraphile_name(name: str) -> str:
    """The table's name for PostGraphile's run of scenario `name`."""
    return f"{name} (PostGraphile)"


def floor_name(name: str) -> str:
    """The table's name for the floor's run of scenario `name`."""
    return f"{name} (floor)"


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
def serve(
    url: str, *, workers: int, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the API in its production configuration (with `env` over it); yield its URL, process."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sartiq-bench-metrics-") as metrics:
        environment = {
            "DATABASE_URL": url,
            "ENVIRONMENT": "production",
            "GRAPHIQL": "false",
            "SLOW_STATEMENT_MS": "10000",
            # /metrics sums every worker's counters (the read path), as in production.
            "PROMETHEUS_MULTIPROC_DIR": metrics,
            **(env or {}),
        }
        command = peers.uvicorn_command("graph.http.app:app", port=port, workers=workers)
        with launch(
            command, env=environment, cwd=ROOT, port=port, probe=get_readyz, name="the API"
        ) as run:
            yield run


def get_readyz(base: str) -> bool:
    """Whether `GET /readyz` answers 200."""
    with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK


def post_typename(base: str) -> bool:
    """Whether a GraphQL server answers `{ __typename }` with 200."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/graphql",
        data=b'{"query": "{ __typename }"}',
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
        return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK


@contextmanager
def launch(  # noqa: PLR0913 - a process and how to tell it is ready
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int,
    probe: Callable[[str], bool],
    name: str,
    log: Path | None = None,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a server, wait until `probe` says it is ready, yield its base URL; stop it."""
    output = log.open("wb") if log else None
    process = subprocess.Popen(  # noqa: S603 - our own servers
        command, cwd=cwd, env={**os.environ, **env}, stdout=output, stderr=output
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if probe(base):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                message = f"{name} did not become ready within 90 s" + (
                    f" (see {log})" if log else ""
                )
                raise RuntimeError(message)
            time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if output:
            output.close()


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
            " AND query ~* $1 AND query <> $2 AND query NOT ILIKE '%pg_stat_statements%'"
            " AND query NOT ILIKE $3",
            APPLICATION_STATEMENTS,
            PING,
            POOL_RESET,
        )
    finally:
        await connection.close()
    return calls


def wrk(  # noqa: PLR0913 - the server, the scenario and wrk's settings
    base: str,
    scenario: Scenario,
    *,
    seconds: int,
    connections: int,
    token: str | None,
    slots: Slots | None = None,
) -> dict[str, float]:
    """Drive one scenario with wrk and return its summary."""
    env = {**os.environ, "BENCH_BODY": json.dumps(scenario.body), "BENCH_TOKEN": token or ""}
    if slots is not None:  # graphql.lua builds each request's body from these
        env |= {
            "BENCH_MODE": "slots",
            "BENCH_QUERY": json.dumps(scenario.query),
            "BENCH_VENUES": ",".join(slots.venue_ids),
            "BENCH_SLOT_BASE": str(int(slots.base.timestamp())),
            "BENCH_THREADS": str(THREADS),
        }
    command = [
        "wrk",
        f"-t{THREADS}",
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


def check_once(base: str, scenario: Scenario, token: str | None) -> dict[str, Any]:
    """Fail early, with the server's answer, if the scenario does not return clean data."""
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}/graphql",
        data=json.dumps(scenario.body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        answer: dict[str, Any] = json.loads(response.read())
    if answer.get("errors") or not answer.get("data"):
        message = f"{scenario.name}: {json.dumps(answer)[:500]}"
        raise RuntimeError(message)
    return answer


def get_ready(scenario: Scenario, dsn: str) -> Ready:
    """Make the scenario's token and resolve its variables, once."""
    token = asyncio.run(scenario.token(dsn)) if scenario.token else None
    if scenario.resolve:
        scenario = scenario.with_variables(asyncio.run(scenario.resolve(dsn)))
    if scenario.mode == "slots":  # each request books its own slot, after every booking so far
        scenario = scenario.with_variables({"input": asyncio.run(free_slots(dsn)).input(0)})
    return Ready(scenario, token)


def read_paths(base: str) -> dict[str, float] | None:
    """The API's query operations so far by the path that answered; None without the counter."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    counts: dict[str, float] | None = None
    for family in text_string_to_metric_families(text):
        if family.name == READ_PATH.removesuffix("_total"):  # declared, perhaps not yet counted
            counts = counts if counts is not None else {}
        for sample in family.samples:
            if sample.name == READ_PATH:
                counts = counts if counts is not None else {}
                path = sample.labels.get("path", "?")
                counts[path] = counts.get(path, 0.0) + sample.value
    return counts


def majority_path(before: dict[str, float] | None, after: dict[str, float] | None) -> str:
    """The path that answered most operations between two readings; `?` without the counter."""
    if after is None:
        return "?"
    counted = {path: n - (before or {}).get(path, 0.0) for path, n in after.items()}
    answered = {path: n for path, n in counted.items() if n > 0}
    return max(answered, key=answered.__getitem__) if answered else "-"


def measure(  # noqa: PLR0913 - the server, the scenario and wrk's settings
    base: str,
    process: subprocess.Popen[bytes],
    url: str,
    ready: Ready,
    *,
    seconds: int,
    warmup: int,
    connections: int,
    check: Callable[[dict[str, Any]], None] | None = None,
    paths: bool = False,
) -> Result:
    """Check a scenario's answer once (and with `check`), warm it up, then measure it.

    With `paths`, the server is the API: read which path answered from its /metrics.
    """
    dsn = libpq(url)
    scenario, token = ready.scenario, ready.token
    slotted = scenario.mode == "slots"
    answer = check_once(base, scenario, token)
    if check:
        check(answer)
    wrk(
        base,
        scenario,
        seconds=warmup,
        connections=connections,
        token=token,
        slots=asyncio.run(free_slots(dsn)) if slotted else None,
    )
    asyncio.run(reset_statements(url))
    before = read_paths(base) if paths else None
    summary = wrk(
        base,
        scenario,
        seconds=seconds,
        connections=connections,
        token=token,
        slots=asyncio.run(free_slots(dsn)) if slotted else None,
    )
    path = majority_path(before, read_paths(base)) if paths else ""
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
        path=path,
    )


def same_as(expected: dict[str, Any], name: str) -> Callable[[dict[str, Any]], None]:
    """A check that an answer equals `expected` (the API's), naming the first difference."""

    def check(answer: dict[str, Any]) -> None:
        if answer == expected:
            say(f"  {name}: the same JSON as the API's")
            return
        theirs = answer["data"]["venues"]["edges"]
        ours = expected["data"]["venues"]["edges"]
        where = next(
            (i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b),
            min(len(theirs), len(ours)),
        )
        message = (
            f"{name}: not the API's JSON ({len(theirs)} venues vs {len(ours)}), first"
            f" difference at venue {where}:\n{json.dumps(theirs[where : where + 1])[:800]}\n"
            f"{json.dumps(ours[where : where + 1])[:800]}"
        )
        raise RuntimeError(message)

    return check


def same_json(expected: dict[str, Any], name: str) -> Callable[[dict[str, Any]], None]:
    """A check that an answer equals `expected` (the API's), for any operation."""

    def check(answer: dict[str, Any]) -> None:
        if answer != expected:
            message = (
                f"{name}: not the API's JSON:\n{json.dumps(answer)[:800]}\n"
                f"{json.dumps(expected)[:800]}"
            )
            raise RuntimeError(message)
        say(f"  {name}: the same JSON as the API's")

    return check


def row_key(global_id: str) -> str:
    """The primary key a global ID names, the API's or PostGraphile's.

    The API's: base64url of `Type:uuid` (or `Type:uuid:created_at`), unpadded; PostGraphile v5's:
    base64 of the JSON list `["Type", "uuid", ...]`.
    """
    padded = global_id + "=" * (-len(global_id) % 4)
    text = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")).decode()
    if text.startswith("["):
        return str(json.loads(text)[1])
    return text.split(":")[1]


def rows_of(
    value: object, found: list[tuple[str, object]] | None = None
) -> list[tuple[str, object]]:
    """What tells an answer's rows apart, in document order: ids, counts, list lengths, paging.

    Names and scalars differ between the servers (`owner` and `userByOwnerId`, `PENDING` and
    `pending`), so they are not compared; the documents select fields in the same order.
    """
    found = [] if found is None else found
    if isinstance(value, list):
        found.append(("length", len(value)))
        for item in value:
            rows_of(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found.append(("id", row_key(item)))
            elif key in {"totalCount", "hasNextPage", "hasPreviousPage"}:
                found.append((key, item))
            elif key not in JSON_FIELDS:
                rows_of(item, found)
    return found


def same_rows(
    expected: dict[str, Any], name: str, unmatched: tuple[str, ...]
) -> Callable[[dict[str, Any]], None]:
    """A check that PostGraphile's answer holds the rows of `expected` (the API's), in order."""
    ours = rows_of({k: v for k, v in expected["data"].items() if k not in unmatched})

    def check(answer: dict[str, Any]) -> None:
        theirs = rows_of(answer["data"])
        if theirs == ours:
            ids = sum(1 for kind, _ in ours if kind == "id")
            say(f"  {name}: PostGraphile returns the API's rows ({ids} ids, same counts)")
            return
        where = next(
            (i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b),
            min(len(theirs), len(ours)),
        )
        message = (
            f"{name}: PostGraphile's rows are not the API's; first difference at item {where}:"
            f" {theirs[where : where + 3]} vs {ours[where : where + 3]}"
        )
        raise RuntimeError(message)

    return check


def sizes(venues: list[dict[str, Any]], bookings: str, media: str) -> tuple[int, int, int]:
    """How many venues, bookings and media a nested-list answer holds."""
    return (
        len(venues),
        sum(len(venue[bookings]) for venue in venues),
        sum(len(venue[media]) for venue in venues),
    )


def like_nested_list(expected: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A check that PostGraphile's answer is as big as the API's (`expected`), emails included.

    Its 50 venues are the first by primary key, not by listing date, so they are other venues
    with about as many bookings and media, not the same ones.
    """
    edges = expected["data"]["venues"]["edges"]
    ours = sizes(
        [
            {
                "b": venue["node"]["bookings"]["edges"],
                "m": venue["node"]["media"]["edges"],
            }
            for venue in edges
        ],
        "b",
        "m",
    )

    def check(answer: dict[str, Any]) -> None:
        venues = answer["data"]["allVenues"]["nodes"]
        flat = [
            {"b": venue["bookingsByVenueId"]["nodes"], "m": venue["mediaByVenueId"]["nodes"]}
            for venue in venues
        ]
        theirs = sizes(flat, "b", "m")
        close = theirs[0] == ours[0] and all(
            abs(a - b) <= 0.1 * b for a, b in zip(theirs[1:], ours[1:], strict=True)
        )
        emails = all(
            booking["userByUserId"] and booking["userByUserId"]["email"]
            for venue in venues
            for booking in venue["bookingsByVenueId"]["nodes"]
        )
        if not close or not emails:
            message = (
                f"PostGraphile: (venues, bookings, media) {theirs}, the API {ours};"
                f" every booking's user email present: {emails}"
            )
            raise RuntimeError(message)
        say(f"  PostGraphile (venues, bookings, media): {theirs}, the API: {ours}")

    return check


def measure_peers(
    url: str,
    api_answers: dict[str, dict[str, Any]],
    *,
    reads: Sequence[Ready] = (),
    workers: int,
    **settings: int,
) -> list[Result]:
    """The peers of the scenarios in `api_answers` (the API's answers), on the API's database.

    The floors (the nested list's; `reads`' replays of the API's statements, captured first),
    then PostGraphile for every scenario, one after another.
    """
    dsn = libpq(url)
    results = []
    with tempfile.TemporaryDirectory(prefix="sartiq-bench-replay-") as folder:
        replay = Path(folder) / "replay.pickle"
        if reads:
            capture_statements(url, reads, replay)
        if NESTED in api_answers or reads:
            port = free_port()
            with launch(
                peers.floor_command(port=port, workers=workers),
                env=peers.floor_env(dsn, replay=replay if reads else None),
                cwd=ROOT,
                port=port,
                probe=get_readyz,
                name="the floor",
            ) as (base, process):
                if NESTED in api_answers:
                    say(f"measuring {FLOOR} ({settings['seconds']} s)")
                    floor = Ready(Scenario(FLOOR, "bench", ""), None)
                    check = same_as(api_answers[NESTED], FLOOR)
                    results.append(
                        measure(base, process, url, floor, check=check, paths=False, **settings)
                    )
                for ready in reads:
                    name = floor_name(ready.scenario.name)
                    say(f"measuring {name} ({settings['seconds']} s)")
                    floor = Ready(replace(ready.scenario, name=name), ready.token)
                    check = same_json(api_answers[ready.scenario.name], name)
                    results.append(
                        measure(base, process, url, floor, check=check, paths=False, **settings)
                    )
    node = peers.install_postgraphile(say)
    port = free_port()
    log = ROOT / "bench" / ".postgraphile" / "server.log"
    with launch(
        peers.postgraphile_command(node),
        env=peers.postgraphile_env(dsn, port=port, workers=workers),
        cwd=peers.INSTALL,
        port=port,
        probe=post_typename,
        name="PostGraphile",
        log=log,
    ) as (base, process):
        for name, answer in api_answers.items():
            peer = SCENARIOS[name].peer
            if peer is None:
                continue
            variables = asyncio.run(peer.resolve(dsn)) if peer.resolve else {}
            theirs = Scenario(postgraphile_name(name), "bench", peer.query, variables)
            check = (
                like_nested_list(answer)
                if name == NESTED
                else same_rows(answer, name, peer.unmatched)
            )
            say(f"measuring {theirs.name} ({settings['seconds']} s)")
            results.append(
                measure(
                    base, process, url, Ready(theirs, None), check=check, paths=False, **settings
                )
            )
    return results


def capture_statements(url: str, reads: Sequence[Ready], path: Path) -> None:
    """Record the statements the API runs for each of `reads` into `path`, for the floor."""
    from bench import statement_capture  # noqa: PLC0415 - imports bench.run itself

    say("capturing the API's statements for each read operation (in process)")
    replay = asyncio.run(statement_capture.capture(url, reads))
    for ready in reads:
        statements, answer = replay[statement_capture.request_body(ready)]
        counted = sum(statement_capture.is_application_statement(sql) for sql, _ in statements)
        plural = "" if len(statements) == 1 else "s"
        say(
            f"  {ready.scenario.name}: {len(statements)} statement{plural} ({counted} counted in"
            f" SQL/req), {len(answer):,} bytes"
        )
    statement_capture.write(replay, path)


def print_table(results: list[Result]) -> None:
    """The figures, one row per scenario; the API's ratios to its peers at the end."""
    by_name = {r.scenario: r for r in results}
    header = (
        f"{'scenario':<31} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'SQL/req':>8}"
        f" {'RSS MB':>8} {'errors':>7} {'vs PG':>7} {'path':>9}"
    )
    print(header)  # noqa: T201 - the table is the output
    print("-" * len(header))  # noqa: T201
    for r in results:
        peer = by_name.get(postgraphile_name(r.scenario))
        ratio = (
            f"{r.requests_per_second / peer.requests_per_second:6.2f}x"
            if peer and peer.requests_per_second
            else ""
        )
        print(  # noqa: T201
            f"{r.scenario:<31} {r.requests_per_second:8.1f} {r.p50_ms:8.1f} {r.p99_ms:8.1f}"
            f" {r.statements_per_request:8.2f} {r.max_rss_mb:8.1f} {r.bad_responses:7d}"
            f" {ratio:>7} {r.path:>9}"
        )
    compared = [
        (name, by_name[name], by_name[postgraphile_name(name)])
        for name in (scenario.name for scenario in READ_OPERATIONS)
        if name in by_name and postgraphile_name(name) in by_name
    ]
    notes = [spec.note for name, _, _ in compared if (spec := SCENARIOS[name].peer) and spec.note]
    if compared:
        print()  # noqa: T201
        print(f"* {POSTGRAPHILE_TERMS}")  # noqa: T201
        for note in notes:
            print(f"* {note}")  # noqa: T201
    nested = by_name.get(NESTED)
    floors = any(floor_name(scenario.name) in by_name for scenario in READ_OPERATIONS)
    if compared or nested or floors:
        print()  # noqa: T201
    for name, ours, theirs in compared:
        if theirs.requests_per_second:
            times = ours.requests_per_second / theirs.requests_per_second
            print(f"{name} vs PostGraphile: {times:.2f}x")  # noqa: T201
    print_floor_ratios(by_name)
    if nested is None:
        return
    for label, name in (("PostGraphile", POSTGRAPHILE), ("floor", FLOOR)):
        peer = by_name.get(name)
        if peer and peer.requests_per_second:
            times = nested.requests_per_second / peer.requests_per_second
            print(f"nested list vs {label}: {times:.2f}x")  # noqa: T201


def print_floor_ratios(by_name: dict[str, Result]) -> None:
    """Per read operation with a floor: the floor's throughput over PostGraphile's, ours over it."""
    for name in (scenario.name for scenario in READ_OPERATIONS):
        floor = by_name.get(floor_name(name))
        if floor is None or not floor.requests_per_second:
            continue
        theirs = by_name.get(postgraphile_name(name))
        if theirs and theirs.requests_per_second:
            times = floor.requests_per_second / theirs.requests_per_second
            label = f"{name} floor (same statements, bare asyncpg) vs PostGraphile"
            print(f"{label}: {times:.2f}x")  # noqa: T201 - the table is the output
        ours = by_name.get(name)
        if ours:
            times = ours.requests_per_second / floor.requests_per_second
            print(f"{name} vs its floor: {times:.2f}x")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    """Run the chosen scenarios (and their peers) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--duration", type=int, default=15, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--no-peers",
        dest="peers",
        action="store_false",
        help="skip the floor and PostGraphile",
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="single requests at scale 10 and 100, then throughput at 100 (bench.growth)",
    )
    parser.add_argument(
        "--subscriptions",
        action="store_true",
        help="delivery latency, memory and CPU of websocket subscribers (bench.subscriptions)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="the read operations with one streaming replica (bench.replicas)",
    )
    given = sys.argv[1:] if argv is None else argv
    # Before parsing: options both spell (`--duration`) belong to the delegate.
    if "--growth" in given:
        from bench import growth  # noqa: PLC0415 - imports bench.run itself

        growth.main([option for option in given if option != "--growth"])
        return
    if "--subscriptions" in given:
        from bench import subscriptions  # noqa: PLC0415 - imports bench.run itself

        subscriptions.main([option for option in given if option != "--subscriptions"])
        return
    if "--replica" in given:
        from bench import replicas  # noqa: PLC0415 - imports bench.run itself

        replicas.main([option for option in given if option != "--replica"])
        return
    arguments, rest = parser.parse_known_args(given)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing; install it (Debian: apt-get install wrk)")
    chosen = [SCENARIOS[name] for name in arguments.scenario or SCENARIOS]
    settings = {
        "seconds": arguments.duration,
        "warmup": arguments.warmup,
        "connections": arguments.connections,
    }
    results: list[Result] = []
    for dataset_name in sorted({scenario.dataset for scenario in chosen}):
        url = prepare(DATASETS[dataset_name])
        dsn = libpq(url)
        answers: dict[str, dict[str, Any]] = {}
        with serve(url, workers=arguments.workers) as (base, process):
            measured = []
            for scenario in (s for s in chosen if s.dataset == dataset_name):
                ready = get_ready(scenario, dsn)
                say(f"measuring {scenario.name} ({arguments.duration} s)")
                results.append(measure(base, process, url, ready, paths=True, **settings))
                measured.append(ready)
            if arguments.peers:  # after every write of the run: the rows the peers will read
                answers = {
                    ready.scenario.name: check_once(base, ready.scenario, ready.token)
                    for ready in measured
                    if ready.scenario.peer is not None
                }
        if answers:
            reads = [ready for ready in measured if ready.scenario.name in READ_NAMES]
            results += measure_peers(
                url, answers, reads=reads, workers=arguments.workers, **settings
            )
    print_table(results)


if __name__ == "__main__":
    main()
