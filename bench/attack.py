"""Time the API's answer to hostile request shapes: the worst of a few tries per shape.

    uv run --frozen python -m bench.attack                 # every shape (make bench-attack)
    uv run --frozen python -m bench.attack --shape "fan-out 22" --repeat 10

The shapes are in bench/attack_shapes.py. Each is sent over HTTP (httpx on the ASGI app that
`create_app` builds, in this process) to the API in its default configuration, on its own
database (created, migrated and seeded with the scale-1 demo data once, then reused), and
timed from request to response, each try a new document to the parser's and the validation's
caches. The table gives the status, the codes, the median and the worst time of each shape;
the target is under 50 ms for every refusal on a 2-core machine. A shape still running after
`--timeout` seconds is reported as such (the process then exits: a request that blocks the
event loop cannot be cancelled). Not part of the test suite: the tests
assert the codes (tests/graph/schema/test_attack_shapes.py), not the times.
"""

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bench.attack_shapes import Shape, shapes
from graph.http.app import create_app
from models.provisioning import create_database_if_missing, migrate_to_head
from models.seed import seed_demo_data
from models.settings import Settings, get_settings

DATABASE = "sartiq_bench_attack"
TARGET_MS = 50.0


def say(line: str) -> None:
    """Progress on stderr; the table goes to stdout."""
    print(line, file=sys.stderr, flush=True)  # noqa: T201 - progress for the person running it


async def prepare() -> str:
    """The benchmark's database, created, migrated and seeded on first use; its URL."""
    base = make_url(str(get_settings().database_url))
    url = base.set(database=DATABASE).render_as_string(hide_password=False)
    if await create_database_if_missing(url):
        say(f"created database {DATABASE}")
    await asyncio.to_thread(migrate_to_head, url)
    libpq = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    await seed_demo_data(libpq, progress=say)
    return url


def codes_of(response: httpx.Response) -> str:
    """The response's `extensions.code`s, or `data` when it has no errors."""
    try:
        body: Any = response.json()
    except ValueError:
        return f"not JSON ({response.headers.get('content-type')})"
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return "data"
    found = sorted({str((error.get("extensions") or {}).get("code")) for error in errors})
    return ",".join(found)


async def attack(
    http: httpx.AsyncClient, shape: Shape, *, repeat: int, seconds: float
) -> tuple[int, str, list[float]]:
    """Send `shape` `repeat` times; its status, codes and times in milliseconds.

    Each try starts with different whitespace, so neither the parser's nor the validation's
    cache has seen it (an attacker varies documents the same way).
    """
    times = []
    status, codes = 0, ""
    for attempt in range(repeat):
        body = {**shape.body, "query": " " * attempt + shape.query}
        started = time.perf_counter()
        async with asyncio.timeout(seconds):
            response = await http.post("/graphql", json=body)
        times.append((time.perf_counter() - started) * 1000)
        status, codes = response.status_code, codes_of(response)
    return status, codes, times


async def run(arguments: argparse.Namespace) -> int:
    """Time every chosen shape and print the table; 1 when one is over the target."""
    url = await prepare()
    chosen = [shape for shape in shapes() if not arguments.shape or shape.name in arguments.shape]
    app = create_app(Settings(database_url=url, graphiql=False))
    over = 0
    size = max(len(shape.name) for shape in chosen)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            await http.post("/graphql", json={"query": "{ __typename }"})  # warm up
            print(  # noqa: T201
                f"{'shape':<{size}} {'bytes':>7} {'status':>6} {'median':>7} {'worst ms':>8}  codes"
            )
            for shape in chosen:
                gc.collect()  # not the garbage of the shapes before
                try:
                    status, codes, times = await attack(
                        http, shape, repeat=arguments.repeat, seconds=arguments.timeout
                    )
                except TimeoutError:
                    print(f"{shape.name:<{size}} over {arguments.timeout} s")  # noqa: T201
                    return 1
                worst = max(times)
                mark = "" if worst < TARGET_MS else f"  (over {TARGET_MS:.0f} ms)"
                over += worst >= TARGET_MS
                length = len(json.dumps(shape.body))
                print(  # noqa: T201
                    f"{shape.name:<{size}} {length:>7} {status:>6} {statistics.median(times):>7.1f}"
                    f" {worst:>8.1f}  {codes}{mark}",
                    flush=True,
                )
    return 1 if over else 0


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shape", action="append", help="only this shape (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="tries per shape")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    sys.exit(asyncio.run(run(parser.parse_args(argv))))


if __name__ == "__main__":
    main()
