"""The frontend's operations in `graph/operations/` parse, validate and run on real data.

Every `.graphql` file there is checked. Each operation also needs a scenario below: a function
that makes its data with the factories, and returns the variables to run it with and a check
of the result, so adding an operation without a way to run it fails here.
"""

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from graphql import DocumentNode, OperationDefinitionNode, parse, validate
from sqlalchemy.ext.asyncio import AsyncSession

from graph.context import Context
from graph.global_id import encode_global_id
from graph.request_session import RequestSession
from graph.schema import schema
from graph.viewer import Viewer
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

OPERATIONS_DIR = Path(__file__).resolve().parents[2] / "graph" / "operations"
OPERATION_FILES = sorted(OPERATIONS_DIR.rglob("*.graphql"))

Check = Callable[[dict[str, Any]], None]
# A scenario makes data and returns the variables, a check of the result and the viewer.
Scenario = Callable[[AsyncSession], Awaitable[tuple[dict[str, Any], Check, Viewer | None]]]


def load(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def all_operations() -> dict[str, tuple[Path, OperationDefinitionNode]]:
    found: dict[str, tuple[Path, OperationDefinitionNode]] = {}
    for path in OPERATION_FILES:
        for operation in operations(load(path)):
            assert operation.name is not None, f"{path.name}: every operation needs a name"
            found.setdefault(operation.name.value, (path, operation))
    return found


async def venue_details(session: AsyncSession) -> tuple[dict[str, Any], Check, Viewer | None]:
    host = await make_user(session, role="host", display_name="Hana Host")
    venue = await make_venue(
        session, owner=host, name="Sunlit Loft", city="Lisbon", latitude=38.7223, longitude=-9.1393
    )
    guest = await make_user(session, display_name="Gus Guest")
    start = dt.datetime(2031, 5, 1, 9, tzinfo=dt.UTC)
    first = await make_booking(session, venue=venue, user=guest, starts_at=start)
    await make_booking(session, venue=venue, user=guest, starts_at=start + dt.timedelta(days=1))
    await make_media(session, venue=venue, title="Front room", width=800, height=600)

    def check(data: dict[str, Any]) -> None:
        venue_data = data["venue"]
        assert venue_data["name"] == "Sunlit Loft"
        assert venue_data["city"] == "Lisbon"
        assert (venue_data["latitude"], venue_data["longitude"]) == pytest.approx(
            (38.7223, -9.1393)
        )
        assert Decimal(venue_data["hourlyRate"]) == Decimal("50.00")
        assert venue_data["owner"] == {"displayName": "Hana Host"}
        bookings = venue_data["bookings"]
        assert len(bookings["edges"]) == 1
        node = bookings["edges"][0]["node"]
        assert node["id"] == encode_global_id("Booking", first.id)
        assert dt.datetime.fromisoformat(node["startsAt"]) == start
        assert dt.datetime.fromisoformat(node["endsAt"]) == start + dt.timedelta(hours=2)
        assert node["status"] == "PENDING"
        assert Decimal(node["amount"]) == Decimal("100.00")
        assert node["user"] == {
            "id": encode_global_id("User", guest.id),
            "displayName": "Gus Guest",
        }
        assert bookings["pageInfo"] == {
            "hasNextPage": True,
            "endCursor": bookings["edges"][0]["cursor"],
        }
        assert venue_data["media"] == {
            "edges": [{"node": {"title": "Front room", "width": 800, "height": 600}}]
        }

    # The host sees every booking of their venue.
    return {"id": encode_global_id("Venue", venue.id), "bookings": 1}, check, viewer_of(host)


SCENARIOS: dict[str, Scenario] = {"VenueDetails": venue_details}


def test_there_are_operations():
    assert OPERATION_FILES, f"no .graphql files under {OPERATIONS_DIR}"


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda path: path.name)
def test_operation_file_is_valid_against_the_schema(path):
    document = load(path)
    assert operations(document), f"{path.name} holds no operation"
    errors = validate(schema._schema, document)  # noqa: SLF001 - the graphql-core schema
    assert errors == [], "\n".join(f"{path.name}: {error}" for error in errors)


def test_operation_names_are_unique_and_named():
    seen: dict[str, Path] = {}
    for path in OPERATION_FILES:
        for operation in operations(load(path)):
            assert operation.name is not None, f"{path.name}: every operation needs a name"
            name = operation.name.value
            assert name not in seen, f"{name} is in both {seen[name].name} and {path.name}"
            seen[name] = path


def test_every_operation_has_a_scenario():
    assert sorted(all_operations()) == sorted(SCENARIOS), (
        "add a scenario to SCENARIOS for each operation in graph/operations (and only those)"
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_operation_runs_on_factory_data(session, name):
    path, _ = all_operations()[name]
    variables, check, viewer = await SCENARIOS[name](session)

    context = Context(db=RequestSession(session), viewer=viewer)
    try:
        result = await schema.execute(
            path.read_text(encoding="utf-8"),
            variable_values=variables,
            context_value=context,
            operation_name=name,
        )
    finally:
        await context.db.finish()

    assert result.errors is None, result.errors
    assert result.data is not None
    check(result.data)
