"""Subscriptions at scale: delivery latency, memory and CPU per subscriber, read throughput.

    uv run python -m bench.subscriptions          # or: make bench BENCH_ARGS=--subscriptions
    uv run python -m bench.subscriptions --subscribers 100 --events 20 --duration 5

It serves the API as `bench.run` does (two workers, production configuration) on the "bench"
dataset (seeded once), then:

1. measures the read benchmark's operations (`--operation`, VenueDetails by default) with wrk,
   no subscriber connected;
2. opens `--subscribers` graphql-transport-ws connections from this one asyncio process, each
   with one anonymous `venueAvailability` subscription, spread round-robin over `--venues`
   venues, all watching the same window of free one-hour slots, and waits for every initial
   state; the workers' RSS (summed) after the first tenth of the subscribers and after all,
   divided by the rest, is the memory per idle subscriber: what one more costs, without what
   the first ones paid once per worker (its listening connection, code run and caches filled
   for the first time). The RSS before any, divided by all, is shown too;
3. measures the same operations again with every subscriber connected and idle;
4. books `--events` slots through `createBooking` (the admin, over HTTP) at `--rate` a second,
   round-robin over the venues, and times each delivery from the moment the mutation's
   response arrived (just after its commit) to the moment a subscriber's message holding the
   new interval arrived. Per event, "at every subscriber" is its last subscriber's delivery.
   The workers' CPU time (utime + stime) during this phase, divided by the deliveries, is the
   CPU per delivered event (the bookings' own cost included).

This client's own CPU use is reported for the connect and event phases: near 100% of a core
would mean the client, not the server, limits the figures.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from bench.run import Result, get_ready, libpq, measure, prepare, say, serve
from bench.scenarios import CREATE_BOOKING, DATASETS, READ_OPERATIONS, admin_token, free_slots
from graph.core.global_id import encode_global_id
from models.settings import Settings

PROTOCOL = "graphql-transport-ws"
AVAILABILITY = """
subscription BenchAvailability($venueId: ID!, $from: DateTime!, $to: DateTime!) {
  venueAvailability(venueId: $venueId, from: $from, to: $to) { venueId reason busy { startsAt } }
}
"""
WORKERS = 2
# Subscribers connecting at once: about wrk's connections, so the workers' database pools do
# not grow past what the read benchmark already made them (that would count as subscribers').
CONNECTING_AT_ONCE = 16
SETTLE_SECONDS = 3.0
WAIT_SECONDS = 30.0
# How long after the last booking deliveries may still arrive.
GRACE_SECONDS = 10.0
TARGET_P99_MS = 250.0
TARGET_KB_PER_SUBSCRIBER = 50.0
TARGET_THROUGHPUT_RATIO = 0.9
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Subscriber:
    """One connection with one availability subscription, and what it received."""

    venue: int
    socket: ClientConnection | None = None
    # (arrival, the busy intervals' starts) of each message after the initial state.
    messages: list[tuple[float, frozenset[dt.datetime]]] = dataclasses.field(default_factory=list)
    closed: str | None = None


@dataclasses.dataclass(frozen=True)
class Booked:
    """One booking made through createBooking: its venue, its start, when its answer came."""

    venue: int
    starts_at: dt.datetime
    sent: float
    answered: float


@dataclasses.dataclass(frozen=True)
class Figures:
    """Everything the final table shows."""

    subscribers: int
    venues: int
    per_delivery_ms: list[float]
    per_event_ms: list[float]
    expected: int
    received: int
    rss_before_mb: float
    rss_first_mb: float  # with the first tenth of the subscribers
    first: int
    rss_after_mb: float
    worker_cpu_seconds: float
    events: int
    without: list[Result]
    with_subscribers: list[Result]
    compression: bool


# --- The server's workers, from /proc ----------------------------------------------------------


def worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """The uvicorn worker processes (its spawned children), or the server itself without any."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    workers = [
        int(pid)
        for pid in children
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not the resource tracker
    ]
    return workers or [server.pid]


def rss_mb(pid: int) -> float:
    """A process's resident set, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system)."""
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def sockets(pid: int) -> int:
    """How many sockets a process holds open (its connections, about)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            count += fd.readlink().name.startswith("socket:")
    return count


def own_cpu_seconds() -> float:
    """This process's CPU time so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- The subscribers ---------------------------------------------------------------------------


async def receive(socket: ClientConnection) -> dict[str, Any]:
    """The next message, as JSON."""
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), WAIT_SECONDS))
    return message


def busy_starts(message: dict[str, Any]) -> frozenset[dt.datetime]:
    """The starts of an availability message's busy intervals; fails on anything else."""
    if message.get("type") != "next" or message["payload"].get("errors"):
        raise RuntimeError(json.dumps(message)[:500])
    busy = message["payload"]["data"]["venueAvailability"]["busy"]
    return frozenset(dt.datetime.fromisoformat(interval["startsAt"]) for interval in busy)


async def open_subscriber(  # noqa: PLR0913 - where, what and how to subscribe
    url: str,
    subscriber: Subscriber,
    venue_id: str,
    *,
    window: tuple[dt.datetime, dt.datetime],
    gate: asyncio.Semaphore,
    compression: bool,
) -> None:
    """Connect, subscribe and take the initial state (which must be free)."""
    async with gate:
        socket = await connect(
            url,
            subprotocols=[Subprotocol(PROTOCOL)],
            open_timeout=WAIT_SECONDS,
            ping_interval=None,  # a browser sends no pings of its own; the server's are answered
            compression="deflate" if compression else None,
        )
        subscriber.socket = socket
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        ack = await receive(socket)
        if ack.get("type") != "connection_ack":
            raise RuntimeError(json.dumps(ack)[:500])
        variables = {
            "venueId": venue_id,
            "from": window[0].isoformat(),
            "to": window[1].isoformat(),
        }
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": AVAILABILITY, "variables": variables},
                }
            )
        )
        if busy_starts(await receive(socket)):
            message = f"venue {venue_id} is not free in the window watched"
            raise RuntimeError(message)


async def read_messages(subscriber: Subscriber, progress: asyncio.Event) -> None:
    """Record each message's arrival and busy intervals until the connection closes."""
    socket = subscriber.socket
    if socket is None:
        return
    try:
        async for raw in socket:
            arrived = time.perf_counter()
            subscriber.messages.append((arrived, busy_starts(json.loads(raw))))
            progress.set()
    except ConnectionClosed as closed:
        subscriber.closed = f"closed {closed.rcvd.code if closed.rcvd else '?'}"
    except RuntimeError as error:
        subscriber.closed = str(error)


# --- The bookings ------------------------------------------------------------------------------


async def book(  # noqa: PLR0913 - the server, the viewer and the slots
    base: str,
    token: str,
    venue_ids: list[str],
    first_hour: dt.datetime,
    *,
    events: int,
    rate: float,
) -> list[Booked]:
    """Book `events` one-hour slots, round-robin over the venues, `rate` a second."""
    booked = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        started = time.perf_counter()
        for n in range(events):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            venue = n % len(venue_ids)
            starts = first_hour + dt.timedelta(hours=n // len(venue_ids))
            variables = {
                "input": {
                    "venueId": venue_ids[venue],
                    "startsAt": starts.isoformat(),
                    "endsAt": (starts + dt.timedelta(hours=1)).isoformat(),
                }
            }
            sent = time.perf_counter()
            response = await http.post(
                "/graphql", json={"query": CREATE_BOOKING, "variables": variables}
            )
            answered = time.perf_counter()
            answer = response.json()
            if answer.get("errors") or not answer.get("data"):
                message = f"createBooking: {json.dumps(answer)[:500]}"
                raise RuntimeError(message)
            booked.append(Booked(venue, starts, sent, answered))
    return booked


def delivered(subscriber: Subscriber, event: Booked) -> float | None:
    """When `subscriber` first received a state holding the event's booking, if it did."""
    return next(
        (arrived for arrived, starts in subscriber.messages if event.starts_at in starts), None
    )


def all_delivered(subscribers: list[Subscriber], booked: list[Booked]) -> bool:
    """Whether every subscriber's latest state holds every booking of its venue."""
    by_venue: dict[int, set[dt.datetime]] = {}
    for event in booked:
        by_venue.setdefault(event.venue, set()).add(event.starts_at)
    return all(
        subscriber.messages and by_venue.get(subscriber.venue, set()) <= subscriber.messages[-1][1]
        for subscriber in subscribers
    )


async def wait_for_deliveries(
    subscribers: list[Subscriber], booked: list[Booked], progress: asyncio.Event
) -> None:
    """Until every booking reached every subscriber of its venue, or `GRACE_SECONDS` passed."""
    deadline = time.perf_counter() + GRACE_SECONDS
    while not all_delivered(subscribers, booked):
        left = deadline - time.perf_counter()
        if left <= 0:
            return
        progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(progress.wait(), left)


def latencies(
    subscribers: list[Subscriber], booked: list[Booked]
) -> tuple[list[float], list[float], int]:
    """Milliseconds from each booking's answer to each delivery and to its last; deliveries due."""
    per_delivery, per_event, expected = [], [], 0
    for event in booked:
        latest = None
        for subscriber in subscribers:
            if subscriber.venue != event.venue:
                continue
            expected += 1
            arrived = delivered(subscriber, event)
            if arrived is not None:
                per_delivery.append((arrived - event.answered) * 1000)
                latest = arrived if latest is None else max(latest, arrived)
        if latest is not None:
            per_event.append((latest - event.answered) * 1000)
    return per_delivery, per_event, expected


# --- The run ---------------------------------------------------------------------------------


async def venues_and_window(
    dsn: str, venues: int, events: int
) -> tuple[list[str], tuple[dt.datetime, dt.datetime]]:
    """The venues' global IDs and a window of free hours wide enough for every booking."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id FROM venues WHERE deleted_at IS NULL ORDER BY id LIMIT $1", venues
        )
    finally:
        await connection.close()
    if len(rows) < venues:
        message = f"the dataset has {len(rows)} venues, fewer than --venues {venues}"
        raise RuntimeError(message)
    first_hour = (await free_slots(dsn)).base
    hours = math.ceil(events / venues) + 1
    return [encode_global_id("Venue", row["id"]) for row in rows], (
        first_hour,
        first_hour + dt.timedelta(hours=hours),
    )


def throughput(
    base: str, server: subprocess.Popen[bytes], url: str, arguments: argparse.Namespace
) -> list[Result]:
    """The chosen read operations, measured with wrk as `bench.run` does."""
    operations = {scenario.name: scenario for scenario in READ_OPERATIONS}
    results = []
    for name in arguments.operation or ["VenueDetails"]:
        ready = get_ready(operations[name], libpq(url))
        say(f"  measuring {name} ({arguments.duration} s)")
        results.append(
            measure(
                base,
                server,
                url,
                ready,
                seconds=arguments.duration,
                warmup=arguments.warmup,
                connections=arguments.connections,
                paths=False,
            )
        )
    return results


async def connect_all(
    base: str,
    subscribers: list[Subscriber],
    venue_ids: list[str],
    *,
    window: tuple[dt.datetime, dt.datetime],
    compression: bool,
) -> None:
    """Open every subscriber's connection and subscription, a few at a time."""
    gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
    ws_url = base.replace("http://", "ws://", 1) + "/graphql"
    say(f"connecting {len(subscribers)} subscribers over {len(venue_ids)} venues")
    cpu, clock = own_cpu_seconds(), time.perf_counter()
    await asyncio.gather(
        *(
            open_subscriber(
                ws_url,
                subscriber,
                venue_ids[subscriber.venue],
                window=window,
                gate=gate,
                compression=compression,
            )
            for subscriber in subscribers
        )
    )
    took = time.perf_counter() - clock
    say(
        f"  connected in {took:.1f} s; this client used"
        f" {100 * (own_cpu_seconds() - cpu) / took:.0f}% of a core"
    )


async def run(
    base: str, server: subprocess.Popen[bytes], url: str, arguments: argparse.Namespace
) -> Figures:
    """Every phase against the served API at `base`."""
    dsn = libpq(url)
    workers = worker_pids(server)
    say(f"workers {workers}; read throughput without subscribers")
    without = await asyncio.to_thread(throughput, base, server, url, arguments)

    venue_ids, window = await venues_and_window(dsn, arguments.venues, arguments.events)
    rss_before = sum(rss_mb(pid) for pid in workers)
    sockets_before = [sockets(pid) for pid in workers]
    subscribers = [Subscriber(n % arguments.venues) for n in range(arguments.subscribers)]
    # A first tenth pays what is paid once (each worker's listening connection, the pool's
    # growth, code run for the first time): the rest cost what one more subscriber costs.
    first = subscribers[: max(1, len(subscribers) // 10)]
    rest = subscribers[len(first) :]
    await connect_all(base, first, venue_ids, window=window, compression=arguments.compression)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_first = sum(rss_mb(pid) for pid in workers)
    await connect_all(base, rest, venue_ids, window=window, compression=arguments.compression)
    progress = asyncio.Event()
    readers = [asyncio.create_task(read_messages(s, progress)) for s in subscribers]
    await asyncio.sleep(SETTLE_SECONDS)
    rss_after = sum(rss_mb(pid) for pid in workers)
    spread = [sockets(pid) - before for pid, before in zip(workers, sockets_before, strict=True)]
    say(
        f"  workers' RSS {rss_before:.1f} -> {rss_first:.1f} ({len(first)} subscribers)"
        f" -> {rss_after:.1f} MB; sockets added per worker {spread}"
    )

    say("read throughput with the subscribers connected and idle")
    with_subscribers = await asyncio.to_thread(throughput, base, server, url, arguments)
    stray = sum(len(subscriber.messages) for subscriber in subscribers)
    if stray:
        say(f"  note: {stray} messages arrived while idle (another writer on the database?)")

    token = await admin_token(dsn)
    say(f"booking {arguments.events} slots at {arguments.rate:g}/s")
    worker_cpu = sum(cpu_seconds(pid) for pid in workers)
    cpu, clock = own_cpu_seconds(), time.perf_counter()
    booked = await book(
        base, token, venue_ids, window[0], events=arguments.events, rate=arguments.rate
    )
    await wait_for_deliveries(subscribers, booked, progress)
    took = time.perf_counter() - clock
    worker_cpu = sum(cpu_seconds(pid) for pid in workers) - worker_cpu
    say(f"  this client used {100 * (own_cpu_seconds() - cpu) / took:.0f}% of a core")

    per_delivery, per_event, expected = latencies(subscribers, booked)
    closed = [subscriber.closed for subscriber in subscribers if subscriber.closed]
    if closed:
        say(f"  {len(closed)} subscribers were closed early, first: {closed[0]}")
    for subscriber in subscribers:
        if subscriber.socket is not None:
            await subscriber.socket.close()
    await asyncio.gather(*readers)
    return Figures(
        subscribers=len(subscribers),
        venues=arguments.venues,
        per_delivery_ms=per_delivery,
        per_event_ms=per_event,
        expected=expected,
        received=len(per_delivery),
        rss_before_mb=rss_before,
        rss_first_mb=rss_first,
        first=len(first),
        rss_after_mb=rss_after,
        worker_cpu_seconds=worker_cpu,
        events=len(booked),
        without=without,
        with_subscribers=with_subscribers,
        compression=arguments.compression,
    )


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (NaN without values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def print_table(figures: Figures) -> None:
    """One row per figure, with its target and whether it was met."""
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value: str, target: str = "", *, met: bool | None = None) -> None:
        rows.append((name, value, target, "" if met is None else ("yes" if met else "NO")))

    event_p99 = percentile(figures.per_event_ms, 0.99)
    for label, values in (
        ("at every subscriber, per event", figures.per_event_ms),
        ("per delivery", figures.per_delivery_ms),
    ):
        p99 = percentile(values, 0.99)
        row(f"latency {label}: p50", f"{percentile(values, 0.5):.1f} ms")
        if values is figures.per_event_ms:
            row(
                f"latency {label}: p99",
                f"{p99:.1f} ms",
                f"< {TARGET_P99_MS:.0f} ms",
                met=p99 < TARGET_P99_MS,
            )
        else:
            row(f"latency {label}: p99", f"{p99:.1f} ms")
        row(f"latency {label}: max", f"{max(values, default=math.nan):.1f} ms")
    row(
        "deliveries received / expected",
        f"{figures.received} / {figures.expected}",
        "all",
        met=figures.received == figures.expected and figures.expected > 0,
    )
    grown_kb = (figures.rss_after_mb - figures.rss_before_mb) * 1024
    per_subscriber = grown_kb / figures.subscribers
    rest = figures.subscribers - figures.first
    marginal = (figures.rss_after_mb - figures.rss_first_mb) * 1024 / rest if rest else math.nan
    row(
        f"workers' RSS: none / {figures.first} / all subscribers",
        f"{figures.rss_before_mb:.1f} / {figures.rss_first_mb:.1f} / {figures.rss_after_mb:.1f} MB",
    )
    # The target is what one more subscriber costs: what a worker pays once, for its first
    # (its listening connection, code run and caches filled for the first time), is not.
    row(
        f"memory per idle subscriber past the first {figures.first}",
        f"{marginal:.1f} KB",
        f"< {TARGET_KB_PER_SUBSCRIBER:.0f} KB",
        met=marginal < TARGET_KB_PER_SUBSCRIBER,
    )
    row("memory per idle subscriber, one-off costs included", f"{per_subscriber:.1f} KB")
    if figures.received:
        row(
            "workers' CPU per delivered event",
            f"{1000 * figures.worker_cpu_seconds / figures.received:.2f} ms",
        )
    if figures.events:
        row(
            "workers' CPU per booking (its fan-out included)",
            f"{1000 * figures.worker_cpu_seconds / figures.events:.1f} ms",
        )
    for alone, busy in zip(figures.without, figures.with_subscribers, strict=True):
        ratio = busy.requests_per_second / alone.requests_per_second
        row(
            f"{alone.scenario} req/s without / with subscribers",
            f"{alone.requests_per_second:.1f} / {busy.requests_per_second:.1f}",
        )
        row(
            f"{alone.scenario} throughput with / without",
            f"{ratio:.3f}",
            f">= {TARGET_THROUGHPUT_RATIO:.2f}",
            met=ratio >= TARGET_THROUGHPUT_RATIO,
        )
        errors = alone.bad_responses + busy.bad_responses
        if errors:
            row(f"{alone.scenario} bad responses", str(errors), "0", met=False)
    print(  # noqa: T201 - the table is the output
        f"{figures.subscribers} subscribers over {figures.venues} venues, {WORKERS} workers,"
        f" {figures.events} bookings, permessage-deflate"
        f" {'offered' if figures.compression else 'not offered'} (the server declines it)"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    header = f"{'figure':<{widths[0]}}  {'value':>{widths[1]}}  {'target':<{widths[2]}}  met"
    print(header)  # noqa: T201
    print("-" * len(header))  # noqa: T201
    for name, value, target, met in rows:
        print(f"{name:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}  {met}")  # noqa: T201
    if math.isnan(event_p99):
        print("no delivery arrived: see the progress above")  # noqa: T201
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """Serve the API, run every phase and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=1_000)
    parser.add_argument("--venues", type=int, default=100)
    parser.add_argument("--events", type=int, default=200, help="bookings made")
    parser.add_argument("--rate", type=float, default=10.0, help="bookings a second")
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per operation")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of wrk warm-up")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    parser.add_argument(
        "--operation",
        action="append",
        choices=[scenario.name for scenario in READ_OPERATIONS],
        help="read operation measured with and without subscribers (VenueDetails by default)",
    )
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="do not offer permessage-deflate (browsers offer it)",
    )
    parser.add_argument(
        "--database",
        help="seed and use this database instead of sartiq_bench (the same counts)",
    )
    arguments = parser.parse_args(argv)
    if arguments.subscribers < arguments.venues:
        parser.error("--subscribers must be at least --venues")
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing; install it (Debian: apt-get install wrk)")
    dataset = DATASETS["bench"]
    if arguments.database:
        dataset = dataclasses.replace(dataset, database=arguments.database)
    url = prepare(dataset)
    # Every subscriber may land on one worker: let each admit them all.
    cap = max(
        arguments.subscribers + 10,
        Settings.model_fields["live_max_connections_per_worker"].default,
    )
    with serve(url, workers=WORKERS, env={"LIVE_MAX_CONNECTIONS_PER_WORKER": str(cap)}) as (
        base,
        server,
    ):
        figures = asyncio.run(run(base, server, url, arguments))
    print_table(figures)


if __name__ == "__main__":
    main()
