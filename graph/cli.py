"""The `sartiq` command: serve the API, provision the database, load demo data."""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from graph.http.graphiql_assets import prepare_local_assets
from graph.http.serving import uvicorn_options
from models.monitoring import (
    HealthThresholds,
    breached_thresholds,
    collect_health,
    render_text,
)
from models.provisioning import create_audit_partitions, create_database_if_missing, migrate_to_head
from models.replication import replica_names
from models.settings import get_settings


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)  # noqa: T201 - a CLI talks on stderr


def _prepare_database(*, seed: bool, scale: int) -> None:
    settings = get_settings()
    url = str(settings.database_url)
    if asyncio.run(create_database_if_missing(url)):
        _say(f"created database {(settings.database_url.path or '').lstrip('/')}")
    migrate_to_head(url)
    _say("database migrated to head")
    if seed:
        _seed(scale)


def _seed(scale: int) -> None:
    if get_settings().environment == "production":
        # The demo accounts share a published password.
        _say("refusing to load demo data with ENVIRONMENT=production")
        raise SystemExit(2)
    from models.seed import seed_demo_data  # noqa: PLC0415 - only the seeding commands need it

    report = asyncio.run(seed_demo_data(get_settings().libpq_url, scale=scale, progress=_say))
    if report.seeded:
        _say(
            f"demo data loaded: {report.users} users, {report.venues} venues,"
            f" {report.bookings} bookings, {report.media} media"
        )
    else:
        _say("demo data already present; nothing loaded")


def _empty_metrics_directory() -> None:
    # prometheus-client's multiprocess files of a previous run would be added to this one's.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def _serve(*, host: str, workers: int) -> None:
    _empty_metrics_directory()
    settings = get_settings()
    if settings.graphiql:
        # Here, once, rather than in each worker at once; a worker then only checks the hashes.
        prepare_local_assets()
    _say(f"serving GraphQL at http://{host}:{settings.port}/graphql")
    uvicorn.run(
        "graph.http.app:app",
        host=host,
        port=settings.port,
        workers=workers,
        reload=False,
        **uvicorn_options(),
    )


async def _monitor(*, as_json: bool, check: bool, top: int) -> int:
    thresholds = HealthThresholds()
    settings = get_settings()
    replicas = dict(
        zip(replica_names(settings.replica_libpq_urls), settings.replica_libpq_urls, strict=True)
    )
    engine = create_async_engine(str(settings.database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            report = await collect_health(connection, thresholds, top=top, replica_dsns=replicas)
    finally:
        await engine.dispose()
    breaches = breached_thresholds(report, thresholds)
    if as_json:
        print(json.dumps({**report.as_dict(), "breaches": breaches}, default=str, indent=2))  # noqa: T201 - the report is the command's output
    else:
        print(render_text(report, breaches))  # noqa: T201 - the report is the command's output
    return 1 if check and breaches else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per task."""
    parser = argparse.ArgumentParser(prog="sartiq", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="create, migrate and seed the database, then serve")
    dev.add_argument("--host", default="127.0.0.1")
    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    # Each worker has its own pool (DB_POOL_SIZE + DB_MAX_OVERFLOW connections): size the
    # worker count against the server's max_connections, not only against the cores.
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    commands.add_parser("migrate", help="create the database if absent and migrate it to head")
    seed = commands.add_parser("seed", help="load demo data (once; idempotent)")
    seed.add_argument("--scale", type=int, default=1, help="multiply every table's row count")
    maintain = commands.add_parser("maintain", help="create audit_log partitions ahead of time")
    maintain.add_argument("--months-ahead", type=int, default=3)
    monitor = commands.add_parser("monitor", help="print the database health report")
    monitor.add_argument("--json", action="store_true", help="machine-readable output")
    monitor.add_argument(
        "--check", action="store_true", help="exit 1 naming each breached threshold (MONITOR_*)"
    )
    monitor.add_argument("--top", type=int, default=10, help="how many top queries to list")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the `sartiq` command."""
    arguments = build_parser().parse_args(argv)
    if arguments.command == "dev":
        if get_settings().environment == "production":
            _say("`sartiq dev` is for development; use `sartiq migrate` and `sartiq serve`")
            raise SystemExit(2)
        _prepare_database(seed=True, scale=1)
        _serve(host=arguments.host, workers=1)
    elif arguments.command == "serve":
        _serve(host=arguments.host, workers=arguments.workers)
    elif arguments.command == "migrate":
        _prepare_database(seed=False, scale=1)
    elif arguments.command == "seed":
        if arguments.scale < 1:
            build_parser().error("--scale must be at least 1")
        _seed(arguments.scale)
    elif arguments.command == "monitor":
        raise SystemExit(
            asyncio.run(_monitor(as_json=arguments.json, check=arguments.check, top=arguments.top))
        )
    elif arguments.command == "maintain":
        created = asyncio.run(
            create_audit_partitions(get_settings().libpq_url, months_ahead=arguments.months_ahead)
        )
        _say(f"audit_log partitions created: {created}")
