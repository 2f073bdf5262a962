"""What the benchmark measures: datasets and the GraphQL requests run against them."""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Dataset:
    """A database the benchmark seeds once and reuses."""

    database: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Scenario:
    """One request shape, sent over and over by wrk."""

    name: str
    dataset: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    # Makes a bearer token for requests that need a viewer (gets the dataset's libpq URL).
    token: Callable[[str], Coroutine[Any, Any, str]] | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the request."""
        return {"query": self.query, "variables": self.variables}


DATASETS = {
    # `sartiq seed --scale 10`: 10,000 users, 3,000 venues, 200,000 bookings, 50,000 media.
    "scale10": Dataset(database="sartiq_bench_scale10", counts={"scale": 10}),
}

PARIS = {"latitude": 48.8566, "longitude": 2.3522}

VENUE_LIST = """
query BenchVenueList { venues(first: 20) { edges { node { id name city hourlyRate } } } }
"""
SEARCH = """
query BenchSearch($q: String!) {
  venues(first: 20, search: $q) { edges { rank node { id name city } } }
}
"""
NEAR = """
query BenchNear($near: NearInput!) {
  venues(first: 20, near: $near) { edges { distanceMeters node { id name } } }
}
"""
SEARCH_NEAR = """
query BenchSearchNear($q: String!, $near: NearInput!) {
  venues(first: 20, search: $q, near: $near, orderBy: RELEVANCE) {
    edges { rank distanceMeters node { id name } }
  }
}
"""
NEAREST_FIRST = """
query BenchNearestFirst($near: NearInput!) {
  venues(first: 20, near: $near, orderBy: DISTANCE) { edges { distanceMeters node { id name } } }
}
"""

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("venue_list", "scale10", VENUE_LIST),
        Scenario("search", "scale10", SEARCH, {"q": "loft studio"}),
        Scenario("near", "scale10", NEAR, {"near": {**PARIS, "radiusMeters": 3000}}),
        Scenario(
            "search_near",
            "scale10",
            SEARCH_NEAR,
            {"q": "studio", "near": {**PARIS, "radiusMeters": 10000}},
        ),
        Scenario(
            "nearest_first",
            "scale10",
            NEAREST_FIRST,
            {"near": {**PARIS, "radiusMeters": 50000}},
        ),
    )
}
