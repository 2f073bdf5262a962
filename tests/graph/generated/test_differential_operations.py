"""The frontend's read operations answer the same, byte for byte, on both read paths.

Each query in `graph/operations/` is sent with realistic variables (the test's rows, cursors
of real pages) as each kind of viewer to the app with the compiled path and to the app
without it (see test_differential_documents.py for generated documents).
"""

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.graph.generated import differential
from tests.graph.generated.conftest import ReadWorld
from tests.graph.schema.test_operations import all_operations, operation_source

Variables = Callable[[ReadWorld], dict[str, Any]]
VIEWERS = (None, "member", "host", "admin")


def cursor(world: ReadWorld, page: str, index: int = 0) -> str:
    """A cursor of a real page of `page` (a list, or a list under one ordering)."""
    return world.cursors[page][index]


# Per operation, the variables a screen sends: first pages and following ones.
SCENARIOS: dict[str, dict[str, Variables]] = {
    "HostDashboard": {
        "own venues": lambda w: {
            "ownerId": w.ids["Host"],
            "from": "2030-01-01T00:00:00Z",
            "to": "2031-01-01T00:00:00Z",
        },
        "small pages": lambda w: {
            "ownerId": w.ids["Host"],
            "from": "2029-12-01T00:00:00+01:00",
            "to": "2030-03-01T00:00:00Z",
            "venues": 1,
            "bookings": 2,
        },
    },
    "MyBookings": {
        "defaults": lambda _: {},
        "filtered": lambda w: {
            "status": ["PENDING", "CONFIRMED"],
            "startsAt": {"from": "2030-01-01T00:00:00Z", "to": "2031-01-01T00:00:00Z"},
            "userId": w.ids["User"],
            "first": 2,
        },
        "next page": lambda w: {"first": 2, "after": cursor(w, "bookings_starts", 1)},
    },
    "VenueDetails": {
        "first bookings": lambda w: {"id": w.ids["Venue"], "bookings": 2},
        "no bookings": lambda w: {"id": w.ids["Venue"], "bookings": 0},
        "not a venue": lambda w: {"id": w.ids["Booking"], "bookings": 2},
    },
    "VenueHistory": {
        "first page": lambda w: {"id": w.ids["Venue"]},
        "next page": lambda w: {"id": w.ids["Venue"], "first": 1, "after": cursor(w, "history")},
    },
    "VenueSearchList": {
        "defaults": lambda _: {},
        "first page": lambda _: {"first": 2},
        "next page": lambda w: {"first": 2, "after": cursor(w, "venues", 1)},
        "city by name": lambda w: {
            "filter": {"city": "Paris"},
            "orderBy": "NAME_ASC",
            "first": 1,
            "after": cursor(w, "venues_city"),
        },
        "owner and rate": lambda w: {
            "filter": {"ownerId": w.ids["Host"], "hourlyRate": {"min": "45", "max": "80.00"}},
            "orderBy": "HOURLY_RATE_DESC",
        },
    },
    "Viewer": {
        "defaults": lambda _: {},
        "next page": lambda w: {"sessions": 1, "after": cursor(w, "sessions")},
    },
}


def test_every_read_operation_has_scenarios():
    reads = {
        name
        for name, (_, operation) in all_operations().items()
        if operation.operation.value == "query"
    }
    assert reads == SCENARIOS.keys()


@pytest.mark.parametrize("operation", SCENARIOS)
async def test_read_operation_answers_the_same_on_both_paths(
    compare_reads, read_world, operation: str
):
    # Every scenario as every viewer in one test: the rows and both apps are made once.
    tally = differential.TALLIES.setdefault("frontend operations", differential.Tally())
    differences = []
    for scenario, variables in SCENARIOS[operation].items():
        for role in VIEWERS:
            try:
                compared = await compare_reads(
                    operation_source(operation),
                    variables(read_world),
                    role=role,
                    operation_name=operation,
                )
            except AssertionError as difference:
                differences.append(f"{scenario}, {difference}")
                continue
            tally.add(compared.path, compared.body)
            assert compared.status == 200, compared.body
    assert not differences, "\n\n".join(differences)


def _nested(levels: int) -> str:
    """`venue` with `owner { venues { edges { node { ... } } } }` repeated: deeper each level."""
    inner = "id"
    for _ in range(levels):
        inner = f"owner {{ venues(first: 2) {{ edges {{ node {{ {inner} }} }} }} }}"
    return f'{{ venue(id: "@@real:Venue@@") {{ {inner} }} }}'


# Documents past a limit, and the code each is refused with: both paths must refuse alike.
REFUSED = {
    "QUERY_TOO_COSTLY": (
        "{ venues(first: 100) { edges { node { id bookings(first: 100) { edges { node { id "
        "media: venue { media(first: 100) { edges { node { id } } } } } } } } } } }"
    ),
    "QUERY_TOO_DEEP": _nested(3),
    "TOO_MANY_ALIASES": "{ " + " ".join(f"a{n}: venue(id: $id) {{ id }}" for n in range(31)) + " }",
    "GRAPHQL_VALIDATION_FAILED": '{ venue(id: "@@real:Venue@@") { id nope } }',
}


@pytest.mark.parametrize("code", REFUSED)
async def test_refusals_are_the_same_on_both_paths(compare_reads, read_world, code: str):
    document = REFUSED[code]
    if "$id" in document:
        document = "query Q($id: ID!) " + document
    document = differential.fill(document, read_world.ids, read_world.cursors)
    compared = await compare_reads(document, {"id": read_world.ids["Venue"]}, role="admin")
    errors = json.loads(compared.body)["errors"]
    assert [error["extensions"]["code"] for error in errors] == [code]
