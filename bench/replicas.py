"""The read operations with one streaming replica: req/s, where statements ran, CPU per request.

    uv run python -m bench.run --replica              # make bench BENCH_ARGS=--replica
    uv run python -m bench.run --replica --duration 5 --scenario MyBookings

The shared cluster is not replicated: a throwaway primary and its replica
(bench/replica_pair.py) are made on free ports, the primary seeded with the default demo data
(`sartiq seed`, scale 1) before `pg_basebackup`, and both deleted at the end. Each read
operation of graph/operations/ runs twice with wrk, the API served in production
configuration: on the primary alone, then with `DATABASE_REPLICA_URLS` naming the replica.
Each row gives req/s, p50, p99, the share of the application's statements each server ran
(pg_stat_statements on each), and CPU seconds per request of the API's processes and of
each server's (utime + stime from /proc, the servers' exited backends included): the
figures of the capacity model printed at the end.

On one machine the API, wrk and both servers share its cores: this shows that routing works
and what it costs, not how far replicas scale; the model says that, on paper.
"""

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.replica_pair import ReplicaPair, Server, missing_tools, replica_pair
from bench.run import (
    application_statements,
    check_once,
    get_ready,
    libpq,
    reset_statements,
    say,
    serve,
    wrk,
)
from bench.scenarios import READ_OPERATIONS, Scenario
from models.provisioning import migrate_to_head
from models.seed import seed_demo_data

_TICKS = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> Iterator[int]:
    yield pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            yield from _descendants(int(child))


def cpu_seconds(pid: int) -> float:
    """CPU time of `pid` and its descendants, and of the children they have reaped."""
    total = 0
    for each in _descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # After the name: state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
        total += sum(int(value) for value in fields[11:15])
    return total / _TICKS


def postmaster_pid(server: Server) -> int:
    """The server's postmaster (first line of postmaster.pid)."""
    return int((server.data / "postmaster.pid").read_text().split()[0])


@dataclass(frozen=True)
class Row:
    """One operation in one mode."""

    operation: str
    mode: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    statements: dict[str, int]
    cpu_per_request: dict[str, float]


def _migrate_and_seed(url: str) -> None:
    migrate_to_head(url)
    asyncio.run(seed_demo_data(libpq(url), scale=1, progress=say))


def _measure(  # noqa: PLR0913 - the pair, the mode, the scenario and wrk's settings
    pair: ReplicaPair,
    ready_scenario: Scenario,
    token: str | None,
    *,
    with_replica: bool,
    seconds: int,
    warmup: int,
    connections: int,
    workers: int,
) -> Row:
    primary, replica = pair.url(pair.primary), pair.url(pair.replica)
    env = {"DATABASE_REPLICA_URLS": replica} if with_replica else {}
    with serve(primary, workers=workers, env=env) as (base, process):
        check_once(base, ready_scenario, token)
        wrk(base, ready_scenario, seconds=warmup, connections=connections, token=token)
        for url in (primary, replica):
            asyncio.run(reset_statements(url))
        pids = {
            "api": process.pid,
            "primary": postmaster_pid(pair.primary),
            "replica": postmaster_pid(pair.replica),
        }
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        summary = wrk(base, ready_scenario, seconds=seconds, connections=connections, token=token)
        used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        statements = {
            "primary": asyncio.run(application_statements(primary)),
            "replica": asyncio.run(application_statements(replica)),
        }
    requests = summary["requests"] or 1
    return Row(
        operation=ready_scenario.name,
        mode="primary + replica" if with_replica else "primary only",
        requests_per_second=summary["requests"] / summary["seconds"],
        p50_ms=summary["p50_ms"],
        p99_ms=summary["p99_ms"],
        statements=statements,
        cpu_per_request={name: seconds / requests for name, seconds in used.items()},
    )


def print_rows(rows: list[Row]) -> None:
    """The table, then the capacity model from the replica runs' CPU per request."""
    header = (
        f"{'operation':<16} {'mode':<18} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'on primary':>10} {'on replica':>10} {'API ms':>7} {'prim ms':>7} {'repl ms':>7}"
    )
    print(header)  # noqa: T201 - the table is the output
    print("-" * len(header))  # noqa: T201
    for row in rows:
        total = sum(row.statements.values()) or 1
        cpu = {name: 1000 * value for name, value in row.cpu_per_request.items()}
        print(  # noqa: T201
            f"{row.operation:<16} {row.mode:<18} {row.requests_per_second:8.1f}"
            f" {row.p50_ms:7.1f} {row.p99_ms:7.1f}"
            f" {row.statements['primary'] / total:10.0%} {row.statements['replica'] / total:10.0%}"
            f" {cpu['api']:7.2f} {cpu['primary']:7.2f} {cpu['replica']:7.2f}"
        )
    print()  # noqa: T201
    print(  # noqa: T201
        "CPU ms per request (API: every worker; prim/repl: each server's processes)."
        " Capacity per core, from the replica runs: API ~ 1000/API ms req/s, replica ~"
        " 1000/repl ms req/s. With N API instances of a cores and M replicas of r cores,"
        " reads top out near min(N*a*1000/API ms, M*r*1000/repl ms); the primary keeps the"
        " writes, the mutations' reads and the monitor's polls."
    )
    for row in rows:
        if row.mode != "primary + replica":
            continue
        api, repl = row.cpu_per_request["api"], row.cpu_per_request["replica"]
        if api > 0 and repl > 0:
            print(  # noqa: T201
                f"  {row.operation:<16} {1 / api:7.0f} req/s per API core,"
                f" {1 / repl:7.0f} req/s per replica core"
            )


def main(argv: list[str] | None = None) -> None:
    """Make the pair, measure each read operation in both modes, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    names = [scenario.name for scenario in READ_OPERATIONS]
    parser.add_argument("--scenario", action="append", choices=names)
    parser.add_argument("--duration", type=int, default=5, help="seconds measured per run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    arguments = parser.parse_args(argv)
    reason = missing_tools()
    if reason is not None:
        sys.exit(f"bench --replica: cannot make a replica here: {reason}")
    chosen = [s for s in READ_OPERATIONS if not arguments.scenario or s.name in arguments.scenario]
    rows: list[Row] = []
    with replica_pair("sartiq_bench_replica", _migrate_and_seed) as pair:
        dsn = pair.url(pair.primary, driver="postgresql")
        for scenario in chosen:
            ready = get_ready(scenario, dsn)
            for with_replica in (False, True):
                say(f"measuring {scenario.name}, {'with' if with_replica else 'without'} replica")
                rows.append(
                    _measure(
                        pair,
                        ready.scenario,
                        ready.token,
                        with_replica=with_replica,
                        seconds=arguments.duration,
                        warmup=arguments.warmup,
                        connections=arguments.connections,
                        workers=arguments.workers,
                    )
                )
    print_rows(rows)


if __name__ == "__main__":
    main()
