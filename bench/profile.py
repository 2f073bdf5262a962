"""Profile one API worker under wrk load with py-spy and print where its time goes.

    uv run python -m bench.profile --scenario VenueDetails
    uv run python -m bench.profile --scenario nested_list --seconds 20 --top 40

Serves the API as `bench.run` does, but with one worker (so one process holds every sample),
drives the scenario with wrk for the warm-up and the sampled seconds, and has py-spy sample
that worker meanwhile. Prints the functions with the most samples on the stack (inclusive)
and at the top of it (self), as shares of all samples, then the same by package. py-spy is
not a dependency of the project: `uv tool install py-spy` (or pip) puts it on the PATH.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.run import get_ready, libpq, prepare, serve, wrk
from bench.scenarios import DATASETS, SCENARIOS


def worker_pid(server: subprocess.Popen[bytes]) -> int:
    """The uvicorn worker under the server process (the server itself with no children)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return int(children[-1]) if children else server.pid


def frame_name(frame: str) -> str:
    """`function (path/to/module.py:line)` as `function (module.py)`: lines differ, names not."""
    name, _, where = frame.rpartition(" (")
    path = where.rsplit(":", 1)[0]
    return f"{name} ({Path(path).name})"


def package(frame: str) -> str:
    """The package a py-spy frame's file belongs to (py-spy names files from sys.path)."""
    where = frame.rpartition(" (")[2]
    first = where.split("/", 1)[0] if "/" in where else "stdlib"
    return first.removeprefix("<").removesuffix(">")


def summarize(collapsed: Path, top: int) -> None:
    """Print inclusive and self shares from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():  # a frame name py-spy could not print on one line
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        total += count
        for name in {frame_name(frame) for frame in frames}:
            inclusive[name] += count
        if frames:
            own[frame_name(frames[-1])] += count
            by_package[package(frames[-1])] += count
    if not total:
        sys.exit("profile: py-spy took no samples")
    for title, counter in (
        ("inclusive", inclusive),
        ("self", own),
        ("self, by package", by_package),
    ):
        print(f"\n{title} ({total} samples)")  # noqa: T201
        for name, count in counter.most_common(top):
            print(f"{100 * count / total:6.1f}%  {name}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    """Serve, load and sample one scenario; print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    parser.add_argument("--seconds", type=int, default=10, help="seconds sampled")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--keep", help="a folder to keep py-spy's collapsed stacks in")
    arguments = parser.parse_args(argv)
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        sys.exit("profile: py-spy is missing; install it (uv tool install py-spy)")
    scenario = SCENARIOS[arguments.scenario]
    url = prepare(DATASETS[scenario.dataset])
    ready = get_ready(scenario, libpq(url))
    with serve(url, workers=1) as (base, server), tempfile.TemporaryDirectory() as scratch:
        folder = Path(arguments.keep or scratch)
        load = threading.Thread(
            target=wrk,
            args=(base, ready.scenario),
            kwargs={
                "seconds": arguments.warmup + arguments.seconds + 2,
                "connections": arguments.connections,
                "token": ready.token,
            },
        )
        load.start()
        time.sleep(arguments.warmup)
        collapsed = folder / "stacks.txt"
        subprocess.run(  # noqa: S603 - py-spy found on the PATH
            [
                py_spy,
                "record",
                "--pid",
                str(worker_pid(server)),
                "--duration",
                str(arguments.seconds),
                "--rate",
                str(arguments.rate),
                "--format",
                "raw",
                "--output",
                str(collapsed),
            ],
            check=True,
            capture_output=True,
            env={**os.environ},
        )
        load.join()
        summarize(collapsed, arguments.top)


if __name__ == "__main__":
    main()
