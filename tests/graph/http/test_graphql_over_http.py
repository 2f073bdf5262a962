"""GraphQL over HTTP: the status and body of each kind of answer, in each media type.

The specification's rules, as the app serves them:
- `application/graphql-response+json` (when `Accept` prefers it): a request error (the
  document does not parse or validate, a limit refuses it, its variables do not coerce, no
  single operation is named) is 400 without `data`; once execution started, 200 with `data`
  (null when a non-null field failed), field errors or not.
- `application/json` (asked for, `*/*` or no `Accept`): the same request errors are 200 without
  `data` ("SHOULD use 200" for a well-formed request); execution as above.
- A request that is not a well-formed GraphQL-over-HTTP request (bad JSON, wrong parameters,
  no document) is 400 in both; a mutation over GET is 405 with `Allow: POST`; all are JSON
  with `extensions.code` and no `data`.
"""

import json
from typing import Any

import pytest

from tests.graph.serving import serving

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# (Accept sent, media type answered); None sends no Accept at all.
MEDIA_TYPES = [
    (JSON, JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
    ("*/*", JSON),
    (None, JSON),
]
DEEP = "{ " + "viewer { " * 14 + "id" + " }" * 14 + " }"
COSTLY = "{ venues(first: 100) { edges { node { bookings(first: 100) { totalCount } } } } }"

# (case, method, request arguments, code of the first error)
REQUEST_ERRORS: list[tuple[str, str, dict[str, Any], str]] = [
    ("parse", "POST", {"json": {"query": "{"}}, "GRAPHQL_PARSE_FAILED"),
    ("validation", "POST", {"json": {"query": "{ nope }"}}, "GRAPHQL_VALIDATION_FAILED"),
    ("validation, GET", "GET", {"params": {"query": "{ nope }"}}, "GRAPHQL_VALIDATION_FAILED"),
    (
        "literal",
        "POST",
        {"json": {"query": '{ venues(first: "x") { totalCount } }'}},
        "BAD_USER_INPUT",
    ),
    (
        "variable coercion",
        "POST",
        {
            "json": {
                "query": "query Q($n: Int) { venues(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            }
        },
        "BAD_USER_INPUT",
    ),
    (
        "missing variable",
        "POST",
        {"json": {"query": "query Q($id: ID!) { venue(id: $id) { id } }", "variables": {}}},
        "BAD_USER_INPUT",
    ),
    ("too deep", "POST", {"json": {"query": DEEP}}, "QUERY_TOO_DEEP"),
    ("too costly", "POST", {"json": {"query": COSTLY}}, "QUERY_TOO_COSTLY"),
    (
        "unknown operation",
        "POST",
        {"json": {"query": "query A { __typename }", "operationName": "B"}},
        "OPERATION_RESOLUTION_FAILURE",
    ),
    (
        "unnamed operation of two, GET",
        "GET",
        {"params": {"query": "query A { __typename } query B { __typename }"}},
        "OPERATION_RESOLUTION_FAILURE",
    ),
]

MALFORMED: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "not JSON",
        "POST",
        {"content": b'{ "not a JSON', "headers": {"Content-Type": JSON}},
        "BAD_REQUEST",
    ),
    ("typo for query", "POST", {"json": {"qeury": "{ __typename }"}}, "BAD_REQUEST"),
    (
        "variables a list",
        "POST",
        {"json": {"query": "{ __typename }", "variables": [7]}},
        "BAD_REQUEST",
    ),
    ("no document, GET", "GET", {"params": {"operationName": "A"}}, "BAD_REQUEST"),
]


def _send(client, method: str, arguments: dict[str, Any], accept: str | None):
    arguments = dict(arguments)
    headers = dict(arguments.pop("headers", {}))
    if accept is not None:
        headers["Accept"] = accept
    return client.request(method, "/graphql", headers=headers, **arguments)


def _answer(response) -> dict[str, Any]:
    answer = json.loads(response.content)  # whichever the media type
    assert isinstance(answer, dict)
    return answer


@pytest.fixture
async def bare_client(session):
    """A client that sends no `Accept` unless told (httpx's default is `*/*`)."""
    async with serving(session) as http:
        del http.headers["accept"]
        yield http


@pytest.mark.parametrize(("accept", "media_type"), MEDIA_TYPES)
@pytest.mark.parametrize("case", REQUEST_ERRORS, ids=[case[0] for case in REQUEST_ERRORS])
async def test_a_request_error_has_no_data_and_the_media_types_status(
    bare_client, count_statements, case, accept, media_type
):
    _, method, arguments, code = case
    with count_statements as counted:
        response = await _send(bare_client, method, arguments, accept)

    assert response.status_code == (400 if media_type == GRAPHQL_RESPONSE else 200)
    assert response.headers["content-type"] == media_type
    answer = _answer(response)
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == code
    assert "path" not in answer["errors"][0]
    assert counted.count == 0  # nothing ran


@pytest.mark.parametrize(("accept", "media_type"), MEDIA_TYPES)
@pytest.mark.parametrize("case", MALFORMED, ids=[case[0] for case in MALFORMED])
async def test_a_malformed_request_is_400_in_both_media_types(
    bare_client, case, accept, media_type
):
    _, method, arguments, code = case
    response = await _send(bare_client, method, arguments, accept)

    assert response.status_code == 400
    assert response.headers["content-type"] == media_type
    answer = _answer(response)
    assert "data" not in answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]


@pytest.mark.parametrize(("accept", "media_type"), MEDIA_TYPES)
async def test_execution_is_200_with_data_even_with_field_errors(bare_client, accept, media_type):
    ok = await _send(bare_client, "POST", {"json": {"query": "{ __typename }"}}, accept)
    by_get = await _send(bare_client, "GET", {"params": {"query": "{ __typename }"}}, accept)
    partial = await _send(
        bare_client, "POST", {"json": {"query": '{ __typename venue(id: "bad") { id } }'}}, accept
    )
    # logOut is non-null: its error nulls the whole `data`, which is still there.
    nulled = await _send(
        bare_client, "POST", {"json": {"query": "mutation { logOut { __typename } }"}}, accept
    )

    for response in (ok, by_get, partial, nulled):
        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
    assert _answer(ok) == {"data": {"__typename": "Query"}}
    assert _answer(by_get) == {"data": {"__typename": "Query"}}
    assert _answer(partial)["data"] == {"__typename": "Query", "venue": None}
    assert _answer(partial)["errors"][0]["path"] == ["venue"]
    assert _answer(nulled)["data"] is None
    assert _answer(nulled)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("accept", "media_type"), MEDIA_TYPES)
async def test_a_mutation_over_get_is_405_allowing_post(bare_client, accept, media_type):
    response = await _send(
        bare_client, "GET", {"params": {"query": "mutation { logOut { __typename } }"}}, accept
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == media_type
    answer = _answer(response)
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
