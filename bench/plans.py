"""How each list ordering is read at scale 100: the plan of every statement a page runs.

    uv run python -m bench.plans                  # after `python -m bench.growth` seeded it
    uv run python -m bench.plans --database sartiq_bench_scale10

It serves the API in this process on the dataset, sends each ordering of each root list and of
a venue's child connections twice over HTTP (the first 20, then the 20 after that page's end
cursor; as the admin, who sees every row), captures the statements each request ran on the
API's engine and runs them again under EXPLAIN (ANALYZE, BUFFERS). One line per request: the
statements' execution time, the scans of the listed table (node, index, rows returned), and
any Sort above the table's rows. A page walked by an index shows an Index Scan returning about
a page and no Sort.
"""

import argparse
import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench.scenarios import admin_token, first_venue
from graph.entities.booking.inputs import BookingOrder
from graph.entities.media.inputs import MediaOrder
from graph.entities.user.inputs import UserOrder
from graph.entities.venue.inputs import VenueOrder
from graph.http.app import create_app
from models.settings import Settings, get_settings

ROOT = """
query ($after: String, $orderBy: %(order)s) {
  %(field)s(first: 20, after: $after, orderBy: $orderBy) {
    pageInfo { endCursor } edges { node { id } }
  }
}
"""
CHILD = """
query ($id: ID!, $after: String, $orderBy: %(order)s) {
  venue(id: $id) { %(field)s(first: 20, after: $after, orderBy: $orderBy) {
    pageInfo { endCursor } edges { node { id } }
  } }
}
"""
COMPUTED_ORDERS = {"RELEVANCE", "DISTANCE"}
LISTS = (
    ("venues", "venues", "VenueOrder", VenueOrder, False),
    ("media", "media", "MediaOrder", MediaOrder, False),
    ("bookings", "bookings", "BookingOrder", BookingOrder, False),
    ("users", "users", "UserOrder", UserOrder, False),
    ("bookings", "bookings", "BookingOrder", BookingOrder, True),
    ("media", "media", "MediaOrder", MediaOrder, True),
)


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`plan` and every node under it."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def reads_table(plan: dict[str, Any], table: str) -> bool:
    """Whether a node under `plan` reads `table` with no Limit between."""
    if plan.get("Relation Name") == table:
        return True
    return any(
        reads_table(child, table)
        for child in plan.get("Plans", [])
        if child["Node Type"] != "Limit"
    )


def summary(plans: list[dict[str, Any]], table: str) -> str:
    """The scans of `table` and the sorts over its rows, in a few words."""
    scans = [
        f"{node['Node Type']}{' Backward' if node.get('Scan Direction') == 'Backward' else ''}"
        f" {node.get('Index Name', '')} ({node['Actual Rows']} rows x {node['Actual Loops']})"
        for plan in plans
        for node in nodes(plan)
        if node.get("Relation Name") == table
    ]
    sorts = [
        f"{node['Node Type']} of {node['Actual Rows']} rows"
        for plan in plans
        for node in nodes(plan)
        if node["Node Type"] == "Sort" and reads_table(node, table)
    ]
    return "; ".join(scans) + (f"; {', '.join(sorts)}" if sorts else "; no Sort")


async def explain(dsn: str, ran: list[tuple[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    """EXPLAIN ANALYZE each statement: the total execution time and the plans."""
    connection = await asyncpg.connect(dsn)
    try:
        total, plans = 0.0, []
        for statement, parameters in ran:
            raw = await connection.fetchval(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", *parameters
            )
            (explained,) = json.loads(raw)
            total += explained["Execution Time"]
            plans.append(explained["Plan"])
        return total, plans
    finally:
        await connection.close()


async def run(database: str) -> None:
    """Print one line per ordering and page."""
    url = make_url(str(get_settings().database_url)).set(database=database)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False), environment="production"
    )
    dsn = settings.libpq_url
    token = await admin_token(dsn)
    venue = (await first_venue(dsn))["id"]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        ran: list[tuple[str, Any]] = []

        def capture(*arguments: Any) -> None:  # noqa: ANN401 - SQLAlchemy's event signature
            statement, parameters = arguments[2], arguments[3]
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                ran.append((statement, parameters))

        event.listen(application.state.engine.sync_engine, "before_cursor_execute", capture)
        transport = httpx.ASGITransport(app=application)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for field, table, order_type, orders, child in LISTS:
                query = (CHILD if child else ROOT) % {"field": field, "order": order_type}
                for order in orders:
                    if order.value in COMPUTED_ORDERS:
                        continue
                    after = None
                    for page in ("first 20", "next 20"):
                        variables = {"orderBy": order.value, "after": after}
                        if child:
                            variables["id"] = venue
                        ran.clear()
                        answer = (
                            await http.post(
                                "/graphql",
                                json={"query": query, "variables": variables},
                                headers=headers,
                            )
                        ).json()
                        assert not answer.get("errors"), answer  # noqa: S101 - a bench check
                        listed = answer["data"]["venue"][field] if child else answer["data"][field]
                        after = listed["pageInfo"]["endCursor"]
                        milliseconds, plans = await explain(dsn, list(ran))
                        name = f"{'venue.' if child else ''}{field} {order.value} {page}"
                        print(f"{name:<40} {milliseconds:7.2f} ms  {summary(plans, table)}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    """Print the plans of the dataset's list orderings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", default="sartiq_bench_scale100")
    asyncio.run(run(parser.parse_args(argv).database))


if __name__ == "__main__":
    main()
