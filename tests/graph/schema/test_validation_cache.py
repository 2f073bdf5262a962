"""Validation is cached per document text and rules, and answers as uncached validation does."""

from uuid import uuid4

import pytest
from graphql import parse, specified_rules
from strawberry.schema.schema import validate_document

from graph.core.bounded_cache import MISSING, BoundedCache
from graph.schema import validation_cache
from graph.schema.root import VALIDATION_RESULTS, schema

GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema


def test_results_are_bounded_least_recently_used_first():
    results = BoundedCache(maxsize=2)
    first = (GRAPHQL_SCHEMA, "{ a }", ())
    second = (GRAPHQL_SCHEMA, "{ b }", ())
    third = (GRAPHQL_SCHEMA, "{ c }", ())
    results.put(first, [])
    results.put(second, [])
    assert results.get(first) == []  # now the most recently used
    results.put(third, [])

    assert len(results) == 2
    assert results.get(second) is MISSING
    assert results.get(first) == []


async def test_a_document_text_is_validated_once(monkeypatch: pytest.MonkeyPatch, client):
    calls: list[str] = []

    def counting(graphql_schema, document, rules):
        calls.append("validate")
        return validate_document(graphql_schema, document, rules)

    monkeypatch.setattr(validation_cache, "validate_document", counting)
    # A text no other test sent: the cache lives as long as the process.
    query = f"query ValidatedOnce_{uuid4().hex} {{ venues(first: 1) {{ totalCount }} }}"
    answers = [await client.post("/graphql", json={"query": query}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all("errors" not in answer.json() for answer in answers)
    assert calls == ["validate"]


async def test_an_invalid_document_answers_the_same_errors_from_the_cache(client):
    query = "query NoSuchField { venues(first: 1) { noSuchField } }"
    first = await client.post("/graphql", json={"query": query})
    again = await client.post("/graphql", json={"query": query})

    assert first.json() == again.json()
    assert first.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    uncached = validate_document(GRAPHQL_SCHEMA, parse(query), tuple(specified_rules))
    assert uncached, "graphql-core refuses it too"
    assert first.json()["errors"][0]["message"] == uncached[0].message


async def test_the_served_schema_validates_through_its_shared_cache(client):
    size = len(VALIDATION_RESULTS)
    query = f"query Shared_{uuid4().hex} {{ __typename }}"

    answer = await client.post("/graphql", json={"query": query})

    assert answer.json() == {"data": {"__typename": "Query"}}
    assert len(VALIDATION_RESULTS) == min(size + 1, VALIDATION_RESULTS.maxsize)
