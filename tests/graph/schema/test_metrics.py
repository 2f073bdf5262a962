import logging

import pytest
from prometheus_client import REGISTRY

from graph.core.global_id import encode_global_id
from graph.schema import sql_observation
from tests.factories import make_venue

VENUE = "query MetricsVenue($id: ID!) { venue(id: $id) { name owner { displayName } } }"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def observed_test_engine(engine):
    # The app under test runs on the test's connection, which belongs to the test engine.
    uninstall = sql_observation.install(engine, slow_statement_ms=0)
    yield
    uninstall()


@pytest.mark.usefixtures("observed_test_engine")
async def test_requests_statements_and_errors_are_counted(session, client):
    venue = await make_venue(session)
    requests_before = sample(
        "sartiq_graphql_request_seconds_count", operation="MetricsVenue", outcome="ok"
    )
    statements_before = sample("sartiq_graphql_sql_statements_sum", operation="MetricsVenue")
    errors_before = sample("sartiq_graphql_errors_total", code="BAD_USER_INPUT")

    ok = await client.post(
        "/graphql",
        json={"query": VENUE, "variables": {"id": encode_global_id("Venue", venue.id)}},
    )
    bad = await client.post("/graphql", json={"query": VENUE, "variables": {"id": "nope"}})

    assert ok.json()["data"]["venue"]["owner"] is not None
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (
        sample("sartiq_graphql_request_seconds_count", operation="MetricsVenue", outcome="ok")
        == requests_before + 1
    )
    # The fast path answers venue { owner } with one compiled statement.
    statements = sample("sartiq_graphql_sql_statements_sum", operation="MetricsVenue")
    assert statements - statements_before == 1
    assert sample("sartiq_graphql_errors_total", code="BAD_USER_INPUT") == errors_before + 1


async def test_metrics_endpoint_serves_prometheus_text_with_pool_gauges(client):
    await client.post("/graphql", json={"query": "{ __typename }"})
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    for name in (
        "sartiq_graphql_request_seconds_bucket",
        "sartiq_graphql_sql_statements_bucket",
        "sartiq_db_pool_size",
        "sartiq_db_pool_checked_out",
        "sartiq_db_pool_overflow",
    ):
        assert name in body
    assert 'sartiq_db_pool_size{database="primary"} 20.0' in body


@pytest.mark.usefixtures("observed_test_engine")
async def test_slow_statements_are_logged_with_operation_and_request_id(session, client, caplog):
    venue = await make_venue(session)
    with caplog.at_level(logging.WARNING, logger="graph.sql"):
        await client.post(
            "/graphql",
            json={"query": VENUE, "variables": {"id": encode_global_id("Venue", venue.id)}},
        )
    slow = [
        record
        for record in caplog.records
        if record.getMessage().startswith("slow statement:") and record.operation is not None
    ]
    assert slow, "with a 0 ms threshold every statement is slow"
    record = slow[0]
    assert record.operation == "MetricsVenue"
    assert len(record.request_id) == 32
    assert record.duration_ms >= 0
    assert "SELECT" in record.statement
    assert str(venue.id) not in record.statement  # parameters are never logged
