"""How the API slows as the data grows: single requests at scale 10 and 100, then throughput.

    uv run python -m bench.growth                 # or: make bench BENCH_ARGS=--growth
    uv run python -m bench.growth --samples 11 --duration 5

It seeds (once, reused) `sartiq seed --scale 10` and `--scale 100` (100,000 users, 30,000
venues, 2,000,000 bookings, 500,000 media), serves the API on each with one worker, and times
each list and search request of issue 14 and each read operation of graph/operations/ one at
a time over a kept-alive connection: two warm-up requests, then the median of `--samples`. It
prints both medians and their ratio per request, then the throughput table (wrk, two workers,
as `bench.run` measures it) of the same requests at scale 100. Every answer is checked for
data and no errors.
"""

import argparse
import dataclasses
import functools
import http.client
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bench.run import Ready, Result, get_ready, libpq, measure, prepare, print_table, say, serve
from bench.scenarios import DATASETS, PARIS, READ_OPERATIONS, Scenario

SCALES = ("scale10", "scale100")
WORKER_FOR_LATENCY = 1

VENUES_COUNTED = """
query GrowthVenuesCounted {
  venues(first: 20) { totalCount edges { node { id name city owner { displayName } } } }
}
"""
VENUES_BY_NAME = """
query GrowthVenuesByName($after: String) {
  venues(first: 20, orderBy: NAME_ASC, after: $after) {
    pageInfo { endCursor } edges { node { id name city } }
  }
}
"""
VENUES_SEARCHED = """
query GrowthVenuesSearched($q: String!) {
  venues(first: 20, search: $q) { edges { node { id name city } } }
}
"""
VENUES_SEARCHED_RANKED = """
query GrowthVenuesSearchedRanked($q: String!) {
  venues(first: 20, search: $q) { totalCount edges { rank highlight node { id name } } }
}
"""
VENUES_NEAR = """
query GrowthVenuesNear($near: NearInput!, $orderBy: VenueOrder) {
  venues(first: 20, near: $near, orderBy: $orderBy) {
    edges { distanceMeters node { id name } }
  }
}
"""
SEARCH_EVERYTHING = """
query GrowthSearch($q: String!) {
  search(query: $q, first: 20) {
    edges { rank node { __typename ... on Venue { id name } ... on Media { id title } } }
  }
}
"""
MEDIA_SEARCHED = """
query GrowthMediaSearched($q: String!) {
  media(first: 20, search: $q) { edges { rank node { id title } } }
}
"""
MEDIA_SEARCHED_NEWEST = """
query GrowthMediaSearchedNewest($q: String!) {
  media(first: 20, search: $q, orderBy: CREATED_AT_DESC) { edges { node { id title } } }
}
"""


def _page_two(post: Callable[[Scenario], dict[str, Any]]) -> dict[str, Any]:
    """`after`: the first page's end cursor, read from the dataset being measured."""
    first_page = post(Scenario("page one", "", VENUES_BY_NAME))
    return {"after": first_page["data"]["venues"]["pageInfo"]["endCursor"]}


@dataclasses.dataclass(frozen=True)
class Probe:
    """One request of the growth table; `prepare` adds variables read from the dataset."""

    scenario: Scenario
    prepare: Callable[[Callable[[Scenario], dict[str, Any]]], dict[str, Any]] | None = None


PROBES = (
    Probe(Scenario("venues totalCount", "", VENUES_COUNTED)),
    Probe(Scenario("venues NAME_ASC page 2", "", VENUES_BY_NAME), _page_two),
    Probe(Scenario("venues search rare", "", VENUES_SEARCHED, {"q": "boathouse"})),
    Probe(Scenario("venues search common", "", VENUES_SEARCHED, {"q": "studio"})),
    Probe(Scenario("venues search ranked", "", VENUES_SEARCHED_RANKED, {"q": "studio"})),
    Probe(Scenario("venues near 3 km", "", VENUES_NEAR, {"near": {**PARIS, "radiusMeters": 3000}})),
    Probe(
        Scenario(
            "venues near 100 km DISTANCE",
            "",
            VENUES_NEAR,
            {"near": {**PARIS, "radiusMeters": 100_000}, "orderBy": "DISTANCE"},
        )
    ),
    Probe(Scenario("search studio", "", SEARCH_EVERYTHING, {"q": "studio"})),
    Probe(Scenario("media search garden", "", MEDIA_SEARCHED, {"q": "garden"})),
    # A word no title holds, only captions: the title and tag classes are empty.
    Probe(Scenario("media search happy", "", MEDIA_SEARCHED, {"q": "happy"})),
    Probe(Scenario("search happy", "", SEARCH_EVERYTHING, {"q": "happy"})),
    Probe(Scenario("media happy newest", "", MEDIA_SEARCHED_NEWEST, {"q": "happy"})),
    *(Probe(operation) for operation in READ_OPERATIONS),
)


class Client:
    """One kept-alive HTTP connection to the API, timing each request."""

    def __init__(self, base: str) -> None:
        """Connect to the API at `base` (http://host:port)."""
        address = urlsplit(base)
        self.connection = http.client.HTTPConnection(
            address.hostname or "127.0.0.1", address.port, timeout=60
        )

    def post(self, scenario: Scenario, token: str | None = None) -> tuple[float, dict[str, Any]]:
        """Send the scenario once: the milliseconds to the whole answer, and the answer."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps(scenario.body).encode()
        started = time.perf_counter()
        self.connection.request("POST", "/graphql", body=body, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        answer: dict[str, Any] = json.loads(raw)
        if response.status != 200 or answer.get("errors") or not answer.get("data"):  # noqa: PLR2004
            message = f"{scenario.name}: HTTP {response.status} {raw[:500]!r}"
            raise RuntimeError(message)
        return elapsed, answer

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def answer_of(client: Client, token: str | None, scenario: Scenario) -> dict[str, Any]:
    """The scenario's answer, sent as `token`'s viewer."""
    return client.post(scenario, token)[1]


def ready_probes(dataset: str, url: str, base: str) -> list[Ready]:
    """Each probe on `dataset` (at `url`): its token, and its variables resolved there."""
    dsn = libpq(url)
    client = Client(base)
    try:
        readied = []
        for probe in PROBES:
            ready = get_ready(dataclasses.replace(probe.scenario, dataset=dataset), dsn)
            if probe.prepare is not None:
                extra = probe.prepare(functools.partial(answer_of, client, ready.token))
                ready = Ready(ready.scenario.with_variables(extra), ready.token)
            readied.append(ready)
        return readied
    finally:
        client.close()


def medians(base: str, readied: list[Ready], *, samples: int) -> dict[str, float]:
    """The median time of each probe, sent one at a time after two warm-up requests."""
    client = Client(base)
    try:
        found = {}
        for ready in readied:
            for _ in range(2):
                client.post(ready.scenario, ready.token)
            times = [client.post(ready.scenario, ready.token)[0] for _ in range(samples)]
            found[ready.scenario.name] = statistics.median(times)
            say(f"  {ready.scenario.name}: {found[ready.scenario.name]:.1f} ms")
        return found
    finally:
        client.close()


def print_growth(by_scale: dict[str, dict[str, float]]) -> None:
    """One line per probe: its median at each scale and how much it grew."""
    small, large = (by_scale[scale] for scale in SCALES)
    header = f"{'request (first 20)':<31} {'scale 10':>9} {'scale 100':>10} {'growth':>7}"
    print(header)  # noqa: T201 - the table is the output
    print("-" * len(header))  # noqa: T201
    for name, before in small.items():
        after = large[name]
        print(f"{name:<31} {before:7.1f}ms {after:8.1f}ms {after / before:6.2f}x")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    """Time the probes at both scales, then measure their throughput at scale 100."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=9, help="timed requests per probe")
    parser.add_argument("--duration", type=int, default=8, help="seconds of wrk per probe")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk warm-up")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-throughput", dest="throughput", action="store_false")
    arguments = parser.parse_args(argv)
    by_scale: dict[str, dict[str, float]] = {}
    results: list[Result] = []
    for scale in SCALES:
        url = prepare(DATASETS[scale])
        with serve(url, workers=WORKER_FOR_LATENCY) as (base, _):
            say(f"single requests at {scale}, one worker, median of {arguments.samples}")
            readied = ready_probes(scale, url, base)
            by_scale[scale] = medians(base, readied, samples=arguments.samples)
    if arguments.throughput:
        url = prepare(DATASETS[SCALES[-1]])
        with serve(url, workers=arguments.workers) as (base, process):
            for ready in ready_probes(SCALES[-1], url, base):
                say(f"measuring {ready.scenario.name} at {SCALES[-1]} ({arguments.duration} s)")
                results.append(
                    measure(
                        base,
                        process,
                        url,
                        ready,
                        seconds=arguments.duration,
                        warmup=arguments.warmup,
                        connections=arguments.connections,
                        paths=True,
                    )
                )
    print_growth(by_scale)
    if results:
        print(f"\nthroughput at {SCALES[-1]}, {arguments.workers} workers:")  # noqa: T201
        print_table(results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
