"""Persisted documents over HTTP: the manifests client tooling writes, every way a client names
a document, and every refusal as a GraphQL error with its code.

The manifests here are written as the tools write them (tests/graph/schema/
test_persisted_clients.py runs the tools themselves): Apollo's with `__typename` everywhere and
its fragments sorted by name, GraphQL Code Generator's on one line under `sha256:<hex>`.
"""

import hashlib
import json
from pathlib import Path

import pytest
from strawberry.http import GraphQLRequestData

from graph.http.app import create_app
from graph.schema.persisted_queries import (
    ALLOWLIST_FILE,
    ManifestError,
    PersistedQueries,
    load_allowlist,
    load_manifest,
    merge_manifests,
    parse_manifest,
)
from models.settings import Settings
from tests.factories import make_venue
from tests.graph.serving import serving

GRAPHQL_RESPONSE = "application/graphql-response+json"
PRODUCTION = {"persisted_queries_only": True, "introspection": False, "graphiql": False}

# As Apollo Client sends it: `__typename` added, fragments after the operation, sorted by name
# (its manifest) while the operation spreads `Zed` first.
APOLLO_BODY = """query VenueNames($first: Int) {
  venues(first: $first) {
    ...Zed
    edges {
      node {
        ...Alpha
        __typename
      }
      __typename
    }
    __typename
  }
}

fragment Alpha on Venue {
  name
  __typename
}

fragment Zed on VenueListConnection {
  totalCount
  __typename
}"""
# The same definitions in spread order: what Apollo's link hashes without sorting.
_OPERATION, _ALPHA, _ZED = APOLLO_BODY.split("\n\n")
SPREAD_ORDER = f"{_OPERATION}\n\n{_ZED}\n\n{_ALPHA}"
APOLLO_MUTATION = """mutation SignOut {
  logOut {
    session {
      id
      __typename
    }
    __typename
  }
}"""
CUSTOM_ID = "venue-names-v2"  # an id from Apollo's `createOperationId`
# As GraphQL Code Generator's client preset writes it: normalised, on one line.
CODEGEN_BODY = "query VenueCount { venues { totalCount } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apollo_manifest(*operations: tuple[str, str, str]) -> dict[str, object]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": id_, "name": name, "type": body.split(" ", 1)[0], "body": body}
            for id_, name, body in operations
        ],
    }


@pytest.fixture
def manifests(tmp_path: Path) -> tuple[Path, Path]:
    apollo = tmp_path / "persisted-query-manifest.json"
    apollo.write_text(
        json.dumps(
            apollo_manifest(
                (sha256(APOLLO_BODY), "VenueNames", APOLLO_BODY),
                (CUSTOM_ID, "VenueNamesAgain", APOLLO_BODY),
                (sha256(APOLLO_MUTATION), "SignOut", APOLLO_MUTATION),
            )
        )
    )
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({f"sha256:{sha256(CODEGEN_BODY)}": CODEGEN_BODY}, indent=2))
    return apollo, codegen


def persisted(hash_: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


def get_params(body: dict[str, object]) -> dict[str, str]:
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()
    }


# --- Reading manifests --------------------------------------------------------------------------


def test_each_manifest_format_maps_ids_to_documents_as_written(manifests):
    apollo, codegen = manifests

    assert load_manifest(apollo) == {
        sha256(APOLLO_BODY): APOLLO_BODY,
        CUSTOM_ID: APOLLO_BODY,
        sha256(APOLLO_MUTATION): APOLLO_MUTATION,
    }
    assert load_manifest(codegen) == {f"sha256:{sha256(CODEGEN_BODY)}": CODEGEN_BODY}
    assert load_manifest(ALLOWLIST_FILE) == load_allowlist()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "not a JSON object"),
        ({"format": "apollo-persisted-query-manifest", "version": 2, "operations": []}, "version"),
        ({"format": "relay", "version": 1, "operations": []}, "format"),
        (
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": 1}]},
            "operations",
        ),
        ({"a": "query { x }", "b": {"document": "query { y }"}}, "neither"),
        ({"a": "query {"}, "does not parse"),
        ({"": "query { x }"}, "empty document id"),
    ],
)
def test_a_broken_manifest_is_refused_with_its_reason(data, problem):
    with pytest.raises(ManifestError, match=problem):
        parse_manifest(data, source="m.json")


def test_an_id_naming_two_documents_is_refused():
    with pytest.raises(ManifestError, match="two different documents"):
        merge_manifests([{"x": "query A { a }"}, {"x": "query B { b }"}])
    assert merge_manifests([{"x": "query A { a }"}, {"x": "query A { a }"}]) == {
        "x": "query A { a }"
    }


def test_the_server_does_not_start_without_its_manifests(tmp_path):
    missing = tmp_path / "missing.json"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    for path in (missing, broken):
        with pytest.raises(ManifestError, match=str(path)):
            create_app(Settings(persisted_documents_manifests=(path,)))


def test_the_setting_takes_comma_separated_paths(monkeypatch, manifests):
    apollo, codegen = manifests
    monkeypatch.setenv("PERSISTED_DOCUMENTS_MANIFESTS", f"{apollo}, {codegen},")

    settings = Settings()
    queries = PersistedQueries.from_settings(settings)

    assert settings.persisted_documents_manifests == (apollo, codegen)
    assert queries.allowed(f"sha256:{sha256(CODEGEN_BODY)}") == CODEGEN_BODY
    assert queries.allowed(CUSTOM_ID) == APOLLO_BODY
    # allowlist.json is still read beside them.
    assert set(load_allowlist()) <= set(queries.by_sha256)


def test_a_reordering_is_recognised_only_when_each_definition_is_the_same_text():
    queries = PersistedQueries(cache_size=0, allowlist={"x": APOLLO_BODY}, only_allowed=True)

    assert queries.is_allowed_text(APOLLO_BODY)
    assert queries.is_allowed_text(SPREAD_ORDER)
    assert not queries.is_allowed_text(SPREAD_ORDER.replace("  name", "  id  "))  # same length
    assert not queries.is_allowed_text(SPREAD_ORDER + " ")
    assert not queries.is_allowed_text(f"{_OPERATION}\n\n{_ZED}\n\n{_ZED}")
    assert not queries.is_allowed_text("{" * len(APOLLO_BODY))


# --- Every way to name an allowed document ------------------------------------------------------

VENUE_NAMES = {"first": 5}
FORMS = [
    ("documentId sha256", "POST", {"documentId": f"sha256:{sha256(APOLLO_BODY)}"}),
    ("documentId: Apollo's id", "POST", {"documentId": sha256(APOLLO_BODY)}),
    ("documentId: custom id", "POST", {"documentId": CUSTOM_ID}),
    ("documentId over GET", "GET", {"documentId": f"sha256:{sha256(APOLLO_BODY)}"}),
    ("Apollo's hash", "POST", {"extensions": persisted(sha256(APOLLO_BODY))}),
    ("Apollo's hash over GET", "GET", {"extensions": persisted(sha256(APOLLO_BODY))}),
    ("Apollo's link, manifest id", "POST", {"extensions": persisted(CUSTOM_ID)}),
    ("the full text", "POST", {"query": APOLLO_BODY}),
    (
        "the text with its hash",
        "POST",
        {"query": APOLLO_BODY, "extensions": persisted(sha256(APOLLO_BODY))},
    ),
    ("the text in spread order", "POST", {"query": SPREAD_ORDER}),
    ("the full text over GET", "GET", {"query": APOLLO_BODY}),
]


@pytest.mark.parametrize(
    ("method", "body"), [form[1:] for form in FORMS], ids=[f[0] for f in FORMS]
)
async def test_an_allowed_document_runs_however_it_is_named(session, manifests, method, body):
    await make_venue(session, name="Manifest Hall")
    request = {**body, "variables": VENUE_NAMES}
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        if method == "GET":
            response = await client.get("/graphql", params=get_params(request))
        else:
            response = await client.post("/graphql", json=request)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "venues": {
                "totalCount": 1,
                "edges": [
                    {
                        "node": {"name": "Manifest Hall", "__typename": "Venue"},
                        "__typename": "VenueListEdge",
                    }
                ],
                "__typename": "VenueListConnection",
            }
        }
    }


async def test_a_codegen_document_runs_by_its_document_id(session, manifests):
    await make_venue(session)
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        response = await client.post(
            "/graphql", json={"documentId": f"sha256:{sha256(CODEGEN_BODY)}"}
        )
    assert response.json() == {"data": {"venues": {"totalCount": 1}}}


async def test_apollos_link_flow_keeps_a_reordered_text_under_its_hash(
    session, manifests, count_statements
):
    """Unknown hash, then the hash with the text in spread order, then the hash alone runs."""
    hash_ = sha256(SPREAD_ORDER)
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        with count_statements as counted:
            unknown = await client.post("/graphql", json={"extensions": persisted(hash_)})
        assert counted.count == 0
        registered = await client.post(
            "/graphql", json={"query": SPREAD_ORDER, "extensions": persisted(hash_)}
        )
        by_hash = await client.post("/graphql", json={"extensions": persisted(hash_)})
        by_id = await client.post("/graphql", json={"documentId": f"sha256:{hash_}"})

    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    for response in (registered, by_hash, by_id):
        assert response.json() == {
            "data": {"venues": {"totalCount": 0, "edges": [], "__typename": "VenueListConnection"}}
        }


async def test_a_mutation_named_over_get_is_405(session, manifests):
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        response = await client.get(
            "/graphql", params={"documentId": f"sha256:{sha256(APOLLO_MUTATION)}"}
        )
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_browser_asking_for_a_document_by_id_gets_it_not_graphiql(session, manifests):
    async with serving(session, persisted_documents_manifests=manifests, graphiql=True) as client:
        response = await client.get(
            "/graphql",
            params={"documentId": f"sha256:{sha256(CODEGEN_BODY)}"},
            headers={"Accept": "text/html,application/json;q=0.9"},
        )
    assert response.json() == {"data": {"venues": {"totalCount": 0}}}


# --- Refusals: GraphQL errors with their code ---------------------------------------------------

REFUSALS = [
    (
        "unknown documentId",
        {"documentId": f"sha256:{sha256('{ x }')}"},
        "PERSISTED_QUERY_NOT_FOUND",
        404,
    ),
    ("unknown custom documentId", {"documentId": "nope-v1"}, "PERSISTED_QUERY_NOT_FOUND", 404),
    ("unknown hash", {"extensions": persisted(sha256("{ x }"))}, "PERSISTED_QUERY_NOT_FOUND", 404),
    ("ad-hoc text", {"query": "{ venues { totalCount } }"}, "PERSISTED_QUERY_NOT_ALLOWED", 403),
    (
        "ad-hoc text with its hash",
        {"query": "{ __typename }", "extensions": persisted(sha256("{ __typename }"))},
        "PERSISTED_QUERY_NOT_ALLOWED",
        403,
    ),
    (
        "allowed text reformatted",
        {"query": APOLLO_BODY.replace("\n", " ")},
        "PERSISTED_QUERY_NOT_ALLOWED",
        403,
    ),
    (
        "introspection",
        {"query": "{ __schema { types { name } } }"},
        "PERSISTED_QUERY_NOT_ALLOWED",
        403,
    ),
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r[0] for r in REFUSALS])
@pytest.mark.parametrize("accept", [None, "application/json", GRAPHQL_RESPONSE])
async def test_a_refusal_is_a_graphql_error_with_its_code(
    session, manifests, count_statements, refusal, accept
):
    _, body, code, spec_status = refusal
    headers = {"Accept": accept} if accept else {}
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        with count_statements as counted:
            response = await client.post("/graphql", json=body, headers=headers)

    # Apollo's HttpLink turns any other status of application/json into a network error; it
    # reads application/graphql-response+json at any status, which keeps the spec's 4xx.
    expected_status = spec_status if accept == GRAPHQL_RESPONSE else 200
    assert response.status_code == expected_status
    assert response.headers["content-type"] == (accept or "application/json")
    assert response.headers["cache-control"] == "no-store"
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"] for error in answer["errors"]] == [{"code": code}]
    assert counted.count == 0


async def test_a_refused_text_is_not_kept(session, manifests):
    text = "{ __typename }"
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        await client.post("/graphql", json={"query": text, "extensions": persisted(sha256(text))})
        afterwards = await client.post("/graphql", json={"extensions": persisted(sha256(text))})
    assert afterwards.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


MALFORMED = [
    (
        "documentId and query",
        {"documentId": CUSTOM_ID, "query": APOLLO_BODY},
        "BAD_REQUEST",
        "documentId",
    ),
    (
        "documentId and hash",
        {"documentId": CUSTOM_ID, "extensions": persisted(sha256(APOLLO_BODY))},
        "BAD_REQUEST",
        "documentId",
    ),
    ("documentId a number", {"documentId": 7}, "BAD_REQUEST", "documentId"),
    (
        "hash neither hex nor an id",
        {"extensions": persisted("nope")},
        "BAD_USER_INPUT",
        "extensions.persistedQuery.sha256Hash",
    ),
    (
        "hash of another allowed document",
        {"query": SPREAD_ORDER, "extensions": persisted(CUSTOM_ID)},
        "BAD_USER_INPUT",
        "extensions.persistedQuery.sha256Hash",
    ),
]


@pytest.mark.parametrize(
    ("body", "code", "field"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
async def test_a_malformed_persisted_request_is_400(session, manifests, body, code, field):
    async with serving(session, persisted_documents_manifests=manifests, **PRODUCTION) as client:
        response = await client.post("/graphql", json=body)
    assert response.status_code == 400
    assert [error["extensions"] for error in response.json()["errors"]] == [
        {"code": code, "field": field}
    ]


# --- Outside production -------------------------------------------------------------------------


async def test_without_the_allow_list_on_manifests_and_registered_documents_run_by_id(
    session, manifests
):
    text = "{ __typename }"
    async with serving(session, persisted_documents_manifests=manifests) as client:
        from_manifest = await client.post(
            "/graphql", json={"documentId": CUSTOM_ID, "variables": VENUE_NAMES}
        )
        unknown = await client.post("/graphql", json={"documentId": f"sha256:{sha256(text)}"})
        await client.post("/graphql", json={"query": text, "extensions": persisted(sha256(text))})
        registered = await client.post("/graphql", json={"documentId": f"sha256:{sha256(text)}"})
        ad_hoc = await client.post("/graphql", json={"query": "{ venues { totalCount } }"})

    assert from_manifest.json()["data"]["venues"]["totalCount"] == 0
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json() == {"data": {"__typename": "Query"}}
    assert ad_hoc.json() == {"data": {"venues": {"totalCount": 0}}}


def test_resolve_keeps_the_request_when_nothing_is_persisted():
    queries = PersistedQueries(cache_size=1, allowlist={}, only_allowed=False)
    request = GraphQLRequestData(
        query="{ a }", variables=None, operation_name=None, extensions=None
    )
    assert queries.resolve(request) is request
