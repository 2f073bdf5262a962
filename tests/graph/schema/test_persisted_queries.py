"""Persisted queries over HTTP: Apollo's automatic persisted queries and the production
allow-list built from `graph/operations/`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graph.core.errors import ErrorCode
from graph.schema.persisted_queries import (
    ALLOWLIST_FILE,
    DocumentCache,
    load_allowlist,
    operation_documents,
    render_allowlist,
    sha256_hex,
)
from tests.factories import make_venue
from tests.graph.schema.test_operations import operation_source
from tests.graph.serving import serving

ROOT = Path(__file__).resolve().parents[3]
QUERY = "{ venues(first: 5) { edges { node { name } } } }"


def persisted(sha256: str, version: int = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256}}


def get_params(body: dict[str, object]) -> dict[str, str]:
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()
    }


# --- Automatic persisted queries ----------------------------------------------------------------


async def test_unknown_hash_asks_for_the_document_then_the_hash_alone_runs(
    session, client, count_statements
):
    await make_venue(session, name="Hashed Hall")
    sha256 = sha256_hex(QUERY)

    with count_statements as counted:
        missing = await client.post("/graphql", json={"extensions": persisted(sha256)})
    assert counted.count == 0
    assert missing.status_code == 200
    assert missing.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": ErrorCode.PERSISTED_QUERY_NOT_FOUND.value},
            }
        ]
    }

    registered = await client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted(sha256)}
    )
    by_post = await client.post("/graphql", json={"extensions": persisted(sha256)})
    by_get = await client.get("/graphql", params=get_params({"extensions": persisted(sha256)}))

    expected = {"data": {"venues": {"edges": [{"node": {"name": "Hashed Hall"}}]}}}
    assert registered.json() == expected
    assert by_post.json() == expected
    assert by_get.status_code == 200
    assert by_get.json() == expected


async def test_registering_over_get_works_too(client):
    query = "{ __typename }"
    sha256 = sha256_hex(query)

    missing = await client.get("/graphql", params=get_params({"extensions": persisted(sha256)}))
    registered = await client.get(
        "/graphql", params=get_params({"query": query, "extensions": persisted(sha256)})
    )
    again = await client.get("/graphql", params=get_params({"extensions": persisted(sha256)}))

    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json() == again.json() == {"data": {"__typename": "Query"}}


async def test_a_hash_that_does_not_match_the_document_is_refused_and_not_kept(client):
    wrong = sha256_hex("{ somethingElse }")

    response = await client.post("/graphql", json={"query": QUERY, "extensions": persisted(wrong)})
    afterwards = await client.post("/graphql", json={"extensions": persisted(wrong)})

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.BAD_USER_INPUT.value,
        "field": "extensions.persistedQuery.sha256Hash",
    }
    assert afterwards.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    ("extension", "field"),
    [
        ({"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}, "version"),
        ({"persistedQuery": "abc"}, "version"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}}, "sha256Hash"),
    ],
)
async def test_a_malformed_persisted_query_is_bad_input(client, extension, field):
    response = await client.post("/graphql", json={"extensions": extension})

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.BAD_USER_INPUT.value,
        "field": f"extensions.persistedQuery.{field}",
    }


def test_the_document_cache_is_a_bounded_lru():
    cache = DocumentCache(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.get("a") == "A"  # now the most recently used
    cache.put("c", "C")

    assert len(cache) == 2
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    none_kept = DocumentCache(0)
    none_kept.put("a", "A")
    assert none_kept.get("a") is None


# --- The production allow-list ------------------------------------------------------------------


def test_the_allowlist_is_up_to_date():
    assert ALLOWLIST_FILE.read_text(encoding="utf-8") == render_allowlist(), (
        "graph/operations/allowlist.json is stale: run uv run python scripts/build_allowlist.py"
    )


def test_the_check_script_agrees():
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "scripts" / "build_allowlist.py"), "--check"],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_allowlist_holds_each_operation_as_the_client_sends_it():
    documents = operation_documents()
    allowed = load_allowlist()

    assert sorted(documents) == sorted(json.loads(ALLOWLIST_FILE.read_text("utf-8")))
    for name, document in documents.items():
        assert document == operation_source(name), name
        assert allowed[sha256_hex(document)] == document


async def test_only_allowlisted_operations_run_in_production(session, count_statements):
    await make_venue(session, name="Listed Loft")
    document = operation_documents()["VenueSearchList"]
    sha256 = sha256_hex(document)
    async with serving(session, persisted_queries_only=True) as client:
        with count_statements as counted:
            ad_hoc = await client.post("/graphql", json={"query": QUERY})
            unknown_hash = await client.post(
                "/graphql", json={"extensions": persisted(sha256_hex(QUERY))}
            )
            registering = await client.post(
                "/graphql", json={"query": QUERY, "extensions": persisted(sha256_hex(QUERY))}
            )
        assert counted.count == 0
        by_hash = await client.post(
            "/graphql",
            json={"extensions": persisted(sha256), "variables": {"first": 5}},
        )
        by_get = await client.get(
            "/graphql",
            params=get_params({"extensions": persisted(sha256), "variables": {"first": 5}}),
        )
        in_full = await client.post("/graphql", json={"query": document, "variables": {"first": 5}})

    # Refusals are GraphQL errors (HTTP 200 as application/json); an unknown hash is not found,
    # so that Apollo's link sends the text, which is then refused or allowed.
    for refused, code in (
        (ad_hoc, ErrorCode.PERSISTED_QUERY_NOT_ALLOWED),
        (unknown_hash, ErrorCode.PERSISTED_QUERY_NOT_FOUND),
        (registering, ErrorCode.PERSISTED_QUERY_NOT_ALLOWED),
    ):
        assert refused.status_code == 200
        (error,) = refused.json()["errors"]
        assert error["extensions"] == {"code": code.value}
        assert "data" not in refused.json()
    for allowed in (by_hash, by_get, in_full):
        assert allowed.status_code == 200
        body = allowed.json()
        assert "errors" not in body, body
        names = [edge["node"]["name"] for edge in body["data"]["venues"]["edges"]]
        assert names == ["Listed Loft"]


async def test_allowlisted_operations_are_known_by_hash_without_registering(session):
    document = operation_documents()["VenueSearchList"]
    async with serving(session) as client:
        response = await client.post(
            "/graphql",
            json={"extensions": persisted(sha256_hex(document)), "variables": {"first": 1}},
        )

    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["venues"]["totalCount"] == 0
