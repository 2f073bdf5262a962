"""/metrics stays small whatever operation names clients send.

Every distinct label stays in every scrape until the process ends; operation names come from
clients. Only GraphQL names of at most 64 characters are labels, the allow-list's and the
first `MAX_OPERATION_LABELS` others; the rest count under `other`, and the label is the name
of the operation that ran, never the raw `operationName` field.
"""

import pytest
from prometheus_client import REGISTRY

from graph.schema import metrics
from graph.schema.metrics import MAX_LABEL_LENGTH, OperationLabels
from graph.schema.persisted_queries import load_allowlist_names

REQUESTS = "sartiq_graphql_request_seconds_count"


def requests_labelled(operation: str) -> float:
    return REGISTRY.get_sample_value(REQUESTS, {"operation": operation, "outcome": "ok"}) or 0.0


@pytest.fixture
def fresh_labels(monkeypatch):
    """A fresh set of labels for this test (the process's set is shared by every test)."""
    labels = OperationLabels(load_allowlist_names(), max_seen=5)
    monkeypatch.setattr(metrics, "_labels", labels)
    return labels


@pytest.mark.usefixtures("fresh_labels")
async def test_300_distinct_long_names_keep_the_scrape_small(client):
    before = len((await client.get("/metrics")).content)
    other_before = requests_labelled("other")
    for number in range(300):
        name = f"Op{number}_" + "x" * 45_000  # twice in the body, within its 100 KB
        response = await client.post(
            "/graphql",
            json={"query": f"query {name} {{ __typename }}", "operationName": name},
        )
        assert response.status_code == 200
    scrape = await client.get("/metrics")

    assert scrape.status_code == 200
    # Each long name counts under one label; the scrape grows by a few counters at most.
    assert len(scrape.content) - before < 5_000
    assert "x" * 100 not in scrape.text
    assert requests_labelled("other") == other_before + 300


@pytest.mark.usefixtures("fresh_labels")
async def test_only_the_first_few_short_names_get_a_label(client):
    other_before = requests_labelled("other")
    for number in range(8):
        response = await client.post(
            "/graphql", json={"query": f"query Short{number} {{ __typename }}"}
        )
        assert response.json() == {"data": {"__typename": "Query"}}

    assert [requests_labelled(f"Short{number}") for number in range(5)] == [1.0] * 5
    assert [requests_labelled(f"Short{number}") for number in range(5, 8)] == [0.0] * 3
    assert requests_labelled("other") == other_before + 3


@pytest.mark.usefixtures("fresh_labels")
async def test_the_label_is_the_operation_that_ran_not_the_request_field(client):
    response = await client.post(
        "/graphql",
        json={"query": "query Real { __typename }", "operationName": "Invented"},
    )
    anonymous = await client.post("/graphql", json={"query": "{ __typename }"})
    ran = await client.post(
        "/graphql", json={"query": "query Real { __typename }", "operationName": "Real"}
    )

    assert response.status_code == 200  # a request error, in application/json
    assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
    assert anonymous.status_code == ran.status_code == 200
    assert REGISTRY.get_sample_value(REQUESTS, {"operation": "Invented", "outcome": "ok"}) is None
    assert requests_labelled("Real") >= 1


def test_names_that_are_not_short_graphql_names_are_never_labels():
    labels = OperationLabels(["Allowed", "x" * 65], max_seen=2)

    assert labels.label(None) == labels.label("") == metrics.ANONYMOUS
    assert labels.label("x" * MAX_LABEL_LENGTH) == "x" * MAX_LABEL_LENGTH
    assert labels.label("x" * (MAX_LABEL_LENGTH + 1)) == metrics.OTHER
    assert labels.label("not a name") == labels.label("1st") == labels.label("é") == metrics.OTHER
    assert labels.label("Second") == "Second"
    assert labels.label("Third") == metrics.OTHER  # past max_seen
    # The allow-list's names are always labels, and do not use up max_seen.
    assert labels.label("Allowed") == "Allowed"
    assert labels.label("Second") == "Second"


def test_every_allow_listed_operation_has_its_label():
    labels = OperationLabels(load_allowlist_names(), max_seen=0)
    names = sorted(load_allowlist_names())
    assert names
    assert [labels.label(name) for name in names] == names
