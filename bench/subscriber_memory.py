"""What one idle subscriber costs one worker: RSS, the Python heap by line, CPU and GC.

    uv run python -m bench.subscriber_memory --subscribers 500
    uv run python -m bench.subscriber_memory --subscribers 500 --trace --top 30
    uv run python -m bench.subscriber_memory --ws wsproto --deflate false

Serves the API in one process (a child of this one: the clients' memory is never counted),
opens `--warm` subscribers so that what is paid once (the listening connection, the pool,
code run for the first time) is paid, then `--subscribers` more, each one connection with one
anonymous `venueAvailability` subscription, as bench/subscriptions.py opens them (offering
permessage-deflate, as browsers do, unless `--no-compression`). The server's figures after
the warm subscribers and after the rest, divided by the rest, are per subscriber:

- RSS (from /proc; meaningless with `--trace`, whose own bookkeeping it includes);
- with `--trace`, tracemalloc's heap difference, by the allocating line and by the first
  frame outside the standard library (who asked for the memory);
- the objects the collector tracks, and the worker's CPU time while everyone idles for
  `--idle` seconds (keepalive pings and timers).

`--ws` and `--deflate` override the served configuration (graph/http/serving.py) to compare.
"""

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import gc
import json
import os
import signal
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import FrameType

from bench.run import Ready, free_port, get_ready, get_readyz, launch, libpq, prepare, wrk
from bench.scenarios import DATASETS, READ_OPERATIONS
from bench.subscriptions import (
    Subscriber,
    connect_all,
    cpu_seconds,
    rss_mb,
    venues_and_window,
)

ROOT = Path(__file__).resolve().parent.parent
SETTLE_SECONDS = 2.0
CONNECTIONS = 16  # wrk's, as bench/subscriptions.py
STDLIB = sysconfig.get_paths()["stdlib"]


# --- The server's side: the child process ------------------------------------------------------


class CollectorClock:
    """The collector's pauses so far, by generation (a `gc.callbacks` entry)."""

    def __init__(self) -> None:
        """Start with nothing counted."""
        self.seconds = [0.0, 0.0, 0.0]
        self.runs = [0, 0, 0]
        self._started = 0.0
        self.paused = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        """Time one collection."""
        if self.paused:
            return
        if phase == "start":
            self._started = time.perf_counter()
            return
        generation = info["generation"]
        self.seconds[generation] += time.perf_counter() - self._started
        self.runs[generation] += 1


CLOCK = CollectorClock()


def _report(directory: Path) -> None:
    """Write this process's heap snapshot (when tracing) and collector figures to `directory`."""
    figures = {
        "gc_seconds": list(CLOCK.seconds),
        "gc_runs": list(CLOCK.runs),
    }
    CLOCK.paused = True  # the report's own collection is not the server's
    gc.collect()
    CLOCK.paused = False
    tracked = gc.get_objects()
    types = collections.Counter(type(thing).__qualname__ for thing in tracked)
    figures |= {"gc_tracked": len(tracked), "gc_types": dict(types)}
    del tracked
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(directory / "snapshot"))
    (directory / "figures.json").write_text(json.dumps(figures))
    (directory / "done").touch()


def serve_traced(arguments: argparse.Namespace) -> None:
    """The child: serve the API in this process; on SIGUSR1, report into a new directory."""
    import uvicorn  # noqa: PLC0415 - only the child serves

    from graph.http.serving import uvicorn_options  # noqa: PLC0415 - only the child serves

    if arguments.trace:
        tracemalloc.start(arguments.frames)
    reports = Path(arguments.reports)
    count = 0

    def on_signal(_signal: int, _frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        directory = reports / str(count)
        directory.mkdir()
        _report(directory)
        if arguments.gc_threshold:  # over the app's, set at its startup: from the first report
            gc.set_threshold(*(int(part) for part in arguments.gc_threshold.split(",")))

    signal.signal(signal.SIGUSR1, on_signal)
    gc.callbacks.append(CLOCK)
    options = uvicorn_options()
    if arguments.ws:
        options["ws"] = arguments.ws
    if arguments.deflate is not None:
        options["ws_per_message_deflate"] = arguments.deflate == "true"
    config = uvicorn.Config(
        "graph.http.app:app",
        host="127.0.0.1",
        port=arguments.port,
        log_level="warning",
        **options,
    )
    with contextlib.suppress(KeyboardInterrupt):  # the benchmark's stop
        uvicorn.Server(config).run()


# --- This side: the clients --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reading:
    """The server's figures at one moment."""

    rss_mb: float
    gc_tracked: int
    gc_types: dict[str, int]
    gc_seconds: list[float]
    gc_runs: list[int]
    snapshot: tracemalloc.Snapshot | None


def read_server_now(pid: int, reports: Path) -> Reading:
    """Ask the server for its figures (SIGUSR1) and wait for them."""
    directory = reports / str(len(list(reports.iterdir())) + 1)
    os.kill(pid, signal.SIGUSR1)
    while not (directory / "done").exists():
        time.sleep(0.1)
    figures = json.loads((directory / "figures.json").read_text())
    snapshot_path = directory / "snapshot"
    snapshot = tracemalloc.Snapshot.load(str(snapshot_path)) if snapshot_path.exists() else None
    return Reading(
        rss_mb(pid),
        figures["gc_tracked"],
        figures["gc_types"],
        figures["gc_seconds"],
        figures["gc_runs"],
        snapshot,
    )


async def read_server(pid: int, reports: Path) -> Reading:
    """The server's figures once the last connections settled."""
    await asyncio.sleep(SETTLE_SECONDS)
    return await asyncio.to_thread(read_server_now, pid, reports)


def who_asked(trace: tracemalloc.Traceback) -> str:
    """The innermost frame outside the standard library: the code that wanted the memory."""
    for frame in reversed(trace):  # tracemalloc lists the oldest frame first
        if not frame.filename.startswith((STDLIB, "<frozen")):
            return f"{short(frame.filename)}:{frame.lineno}"
    return f"{short(trace[-1].filename)}:{trace[-1].lineno}"


def short(filename: str) -> str:
    """A path from its package on (site-packages/uvicorn/... as uvicorn/...)."""
    for marker in ("site-packages/", str(ROOT) + "/", STDLIB + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def print_heap(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int, top: int) -> None:
    """The heap's growth per subscriber, by allocating line and by who asked."""
    ignore = [tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__)]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    stats = after.compare_to(before, "traceback")
    total = sum(stat.size_diff for stat in stats)
    print(f"heap growth: {total / 1024 / n:.2f} KB per subscriber")  # noqa: T201
    by_line: dict[str, int] = {}
    by_asker: dict[str, int] = {}
    for stat in stats:
        line = f"{short(stat.traceback[-1].filename)}:{stat.traceback[-1].lineno}"
        by_line[line] = by_line.get(line, 0) + stat.size_diff
        asker = who_asked(stat.traceback)
        by_asker[asker] = by_asker.get(asker, 0) + stat.size_diff
    for title, groups in (("by allocating line", by_line), ("by who asked", by_asker)):
        print(f"\n{title} (bytes per subscriber)")  # noqa: T201
        for where, size in sorted(groups.items(), key=lambda item: -item[1])[:top]:
            print(f"  {size / n:9.0f}  {where}")  # noqa: T201


async def throughput(pid: int, reports: Path, base: str, ready: Ready, seconds: int) -> str:
    """`ready`'s requests a second with wrk, and the collector's share of the time meanwhile."""
    before = await read_server(pid, reports)
    summary = await asyncio.to_thread(
        wrk, base, ready.scenario, seconds=seconds, connections=CONNECTIONS, token=ready.token
    )
    after = await read_server(pid, reports)
    took = summary["seconds"]
    shares = []
    for generation in range(3):
        spent = after.gc_seconds[generation] - before.gc_seconds[generation]
        runs = after.gc_runs[generation] - before.gc_runs[generation]
        shares.append(
            f"gen{generation} {100 * spent / took:.1f}% ({runs} runs"
            f"{f', {1000 * spent / runs:.1f} ms each' if runs else ''})"
        )
    return f"{summary['requests'] / took:7.1f} req/s; collector: {', '.join(shares)}"


async def warmed_up(base: str, url: str) -> Ready:
    """The read operation measured beside the subscribers, warmed up."""
    operations = {scenario.name: scenario for scenario in READ_OPERATIONS}
    ready = await asyncio.to_thread(get_ready, operations["VenueDetails"], libpq(url))
    await asyncio.to_thread(
        wrk, base, ready.scenario, seconds=5, connections=CONNECTIONS, token=ready.token
    )
    return ready


def print_figures(  # noqa: PLR0913 - the readings and what they are of
    first: Reading,
    second: Reading,
    n: int,
    *,
    connecting: float,
    idle_cpu: float,
    arguments: argparse.Namespace,
) -> None:
    """What the subscribers past the warm ones added, per subscriber."""
    print(  # noqa: T201
        f"{n} subscribers past {arguments.warm} warm ones,"
        f" permessage-deflate offered: {arguments.compression}\n"
        f"RSS: {first.rss_mb:.1f} -> {second.rss_mb:.1f} MB,"
        f" {(second.rss_mb - first.rss_mb) * 1024 / n:.1f} KB per subscriber"
        f"{' (tracing: not meaningful)' if arguments.trace else ''}\n"
        f"objects tracked by the collector: {first.gc_tracked} -> {second.gc_tracked},"
        f" {(second.gc_tracked - first.gc_tracked) / n:.0f} per subscriber\n"
        f"server CPU to connect and subscribe: {1000 * connecting / n:.2f} ms per subscriber\n"
        f"idle CPU over {arguments.idle:g} s: {100 * idle_cpu:.2f}% of a core"
    )
    grown = collections.Counter(second.gc_types)
    grown.subtract(first.gc_types)
    print("tracked objects per subscriber, by type:")  # noqa: T201
    for name, count in grown.most_common(arguments.top):
        print(f"  {count / n:6.1f}  {name}")  # noqa: T201
    if first.snapshot is not None and second.snapshot is not None:
        print_heap(first.snapshot, second.snapshot, n, arguments.top)
        if arguments.keep:
            first.snapshot.dump(f"{arguments.keep}.before")
            second.snapshot.dump(f"{arguments.keep}.after")


async def close(subscribers: list[Subscriber]) -> None:
    """Close the subscribers' connections."""
    for subscriber in subscribers:
        if subscriber.socket is not None:
            await subscriber.socket.close()


async def run(pid: int, reports: Path, base: str, url: str, arguments: argparse.Namespace) -> None:
    """Warm up, read, connect the rest, read, idle, print the differences.

    With `--wrk`, the read throughput without the subscribers, with them, and without again:
    on a shared machine, load from elsewhere drifts between rounds.
    """
    venue_ids, window = await venues_and_window(libpq(url), arguments.venues, 1)
    warm = [Subscriber(n % arguments.venues) for n in range(arguments.warm)]
    rest = [Subscriber(n % arguments.venues) for n in range(arguments.subscribers)]
    compression = arguments.compression
    ready = await warmed_up(base, url) if arguments.wrk else None
    await connect_all(base, warm, venue_ids, window=window, compression=compression)
    first = await read_server(pid, reports)
    rounds = []
    if ready is not None:
        rounds.append(("without", await throughput(pid, reports, base, ready, arguments.wrk)))
    connecting = cpu_seconds(pid)
    await connect_all(base, rest, venue_ids, window=window, compression=compression)
    connecting = cpu_seconds(pid) - connecting
    second = await read_server(pid, reports)
    if ready is not None:
        rounds.append(("with", await throughput(pid, reports, base, ready, arguments.wrk)))
    cpu, clock = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(arguments.idle)
    idle_cpu = (cpu_seconds(pid) - cpu) / (time.perf_counter() - clock)
    print_figures(
        first, second, len(rest), connecting=connecting, idle_cpu=idle_cpu, arguments=arguments
    )
    await close(rest)
    if ready is not None:
        rounds.append(("without", await throughput(pid, reports, base, ready, arguments.wrk)))
    for name, figures in rounds:
        print(f"VenueDetails {name:>7} the subscribers: {figures}")  # noqa: T201
    await close(warm)


def main(argv: list[str] | None = None) -> None:
    """Serve the API in a child process, measure it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--warm", type=int, default=50, help="subscribers paying one-off costs")
    parser.add_argument("--venues", type=int, default=100)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measured")
    parser.add_argument("--wrk", type=int, default=0, help="seconds of wrk without and with")
    parser.add_argument("--trace", action="store_true", help="tracemalloc in the server")
    parser.add_argument("--frames", type=int, default=30, help="frames per traced allocation")
    parser.add_argument("--keep", help="with --trace, save the snapshots as KEEP.before/.after")
    parser.add_argument("--top", type=int, default=25, help="lines shown per breakdown")
    parser.add_argument("--ws", help="uvicorn's websocket implementation, over the served one")
    parser.add_argument("--deflate", choices=["true", "false"], help="over the served setting")
    parser.add_argument("--gc-threshold", help="gc.set_threshold's arguments, as 700,10,10")
    parser.add_argument("--no-compression", dest="compression", action="store_false")
    parser.add_argument("--database", default="sartiq_bench", help="the bench dataset's database")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reports", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.serve:
        serve_traced(arguments)
        return
    url = prepare(dataclasses.replace(DATASETS["bench"], database=arguments.database))
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sartiq-subscriber-memory-") as reports:
        command = [
            sys.executable,
            "-m",
            "bench.subscriber_memory",
            "--serve",
            f"--port={port}",
            f"--reports={reports}",
            f"--frames={arguments.frames}",
            *(["--trace"] if arguments.trace else []),
            *([f"--ws={arguments.ws}"] if arguments.ws else []),
            *([f"--deflate={arguments.deflate}"] if arguments.deflate else []),
            *([f"--gc-threshold={arguments.gc_threshold}"] if arguments.gc_threshold else []),
        ]
        environment = {
            "DATABASE_URL": url,
            "ENVIRONMENT": "production",
            "GRAPHIQL": "false",
            "SLOW_STATEMENT_MS": "10000",
            "LIVE_MAX_CONNECTIONS_PER_WORKER": str(arguments.subscribers + arguments.warm + 10),
        }
        with launch(
            command, env=environment, cwd=ROOT, port=port, probe=get_readyz, name="the API"
        ) as (base, server):
            asyncio.run(run(server.pid, Path(reports), base, url, arguments))


if __name__ == "__main__":
    main()
