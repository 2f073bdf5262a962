"""GraphQL over HTTP: every request, however malformed, is answered as JSON with a code.

Each case below answered HTTP 500 (text/plain, a traceback in the log) or a plain-text 400
without a code before issue 10. A request refused before any operation runs gets the GraphQL
over HTTP specification's status (400, 405 with `Allow`, 415) and no `data`.
"""

import json
import logging
from typing import Any

import pytest
from graphql import GraphQLError, specified_rules

from graph.core.errors import ErrorCode
from graph.schema.error_codes import assign_code, tag_rules
from tests.factories import make_venue
from tests.graph.serving import serving

DEEP = "[" * 5_000 + "]" * 5_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000
DEEP_OBJECT_2000 = '{"a":' * 2_000 + "1" + "}" * 2_000  # short enough for a URL
JSON_BODY = {"Content-Type": "application/json"}
GRAPHQL_RESPONSE = "application/graphql-response+json"


def body(text: str | bytes) -> dict[str, Any]:
    """Request arguments for a raw JSON body."""
    return {"content": text.encode() if isinstance(text, str) else text, "headers": JSON_BODY}


def typename(**fields: object) -> dict[str, Any]:
    """Request arguments for `{ __typename }` with `fields` added to (or replacing) the body."""
    return {"json": {"query": "{ __typename }", **fields}}


BAD_REQUEST = ErrorCode.BAD_REQUEST.value
BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT.value
VALIDATION_FAILED = ErrorCode.GRAPHQL_VALIDATION_FAILED.value
CASES: list[tuple[str, str, dict[str, Any], int, str]] = [
    # JSON that is not an object.
    ("null body", "POST", body("null"), 400, BAD_REQUEST),
    ("number body", "POST", body("123"), 400, BAD_REQUEST),
    ("string body", "POST", body('"x"'), 400, BAD_REQUEST),
    ("boolean body", "POST", body("true"), 400, BAD_REQUEST),
    # Not JSON, not UTF-8, nested too deeply.
    ("invalid JSON", "POST", body("{bad"), 400, BAD_REQUEST),
    ("empty JSON body", "POST", body(""), 400, BAD_REQUEST),
    ("non-UTF-8 body", "POST", body(b'{"query": "\xff\xfe{ __typename }"}'), 400, BAD_REQUEST),
    (
        "huge integer",
        "POST",
        body('{"query": "{ __typename }", "x": 1' + "0" * 5_000 + "}"),
        400,
        BAD_REQUEST,
    ),
    (
        "deep body",
        "POST",
        body('{"query": "{ __typename }", "variables": ' + DEEP_OBJECT + "}"),
        400,
        BAD_REQUEST,
    ),
    (
        "deep GET variables",
        "GET",
        {"params": {"query": "{ __typename }", "variables": DEEP}},
        400,
        BAD_REQUEST,
    ),
    (
        "deep GET extensions",
        "GET",
        {"params": {"query": "{ __typename }", "extensions": DEEP_OBJECT_2000}},
        400,
        BAD_REQUEST,
    ),
    (
        "invalid GET variables",
        "GET",
        {"params": {"query": "{ __typename }", "variables": "{bad"}},
        400,
        BAD_REQUEST,
    ),
    # Fields of the wrong JSON type.
    ("operationName object", "POST", typename(operationName={}), 400, BAD_REQUEST),
    ("operationName list", "POST", typename(operationName=["A"]), 400, BAD_REQUEST),
    ("operationName number", "POST", typename(operationName=1), 400, BAD_REQUEST),
    ("query number", "POST", {"json": {"query": 1}}, 400, BAD_REQUEST),
    ("query list", "POST", {"json": {"query": ["{ __typename }"]}}, 400, BAD_REQUEST),
    ("variables list", "POST", typename(variables=[1]), 400, BAD_REQUEST),
    ("variables string", "POST", typename(variables='{"a": 1}'), 400, BAD_REQUEST),
    ("extensions number", "POST", typename(extensions=5), 400, BAD_REQUEST),
    (
        "GET variables a list",
        "GET",
        {"params": {"query": "{ __typename }", "variables": "[1]"}},
        400,
        BAD_REQUEST,
    ),
    (
        "GET extensions a string",
        "GET",
        {"params": {"query": "{ __typename }", "extensions": '"x"'}},
        400,
        BAD_REQUEST,
    ),
    (
        "GET query twice",
        "GET",
        {"url": "/graphql?query=%7B__typename%7D&query=%7B__typename%7D"},
        400,
        BAD_REQUEST,
    ),
    # No document.
    ("empty object", "POST", {"json": {}}, 400, BAD_REQUEST),
    ("null query", "POST", {"json": {"query": None}}, 400, BAD_REQUEST),
    ("empty GET query", "GET", {"params": {"query": ""}}, 400, BAD_REQUEST),
    # Media types other than JSON in UTF-8.
    (
        "text/xml",
        "POST",
        {"content": b"{}", "headers": {"Content-Type": "text/xml"}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    (
        "application/graphql",
        "POST",
        {"content": b"{ __typename }", "headers": {"Content-Type": "application/graphql"}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    ("form body", "POST", {"data": {"query": "{ __typename }"}}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (
        "multipart body",
        "POST",
        {"files": {"query": b"{ __typename }"}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    (
        "no content type",
        "POST",
        {"content": b'{"query": "{ __typename }"}'},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    (
        "latin1 charset",
        "POST",
        {
            "content": b'{"query": "{ __typename }"}',
            "headers": {"Content-Type": "application/json; charset=latin1"},
        },
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    (
        "json-like media type",
        "POST",
        {
            "content": b'{"query": "{ __typename }"}',
            "headers": {"Content-Type": "application/jsonx"},
        },
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    # Persisted queries.
    (
        "hash not hex",
        "POST",
        typename(extensions={"persistedQuery": {"version": 1, "sha256Hash": "zz" * 32}}),
        400,
        "BAD_USER_INPUT",
    ),
    (
        "persistedQuery a list",
        "POST",
        typename(extensions={"persistedQuery": [1]}),
        400,
        "BAD_USER_INPUT",
    ),
    ("batch", "POST", {"json": [{"query": "{ __typename }"}]}, 400, "TOO_MANY_OPERATIONS"),
    ("deep batch", "POST", body(DEEP), 400, "TOO_MANY_OPERATIONS"),
]


def _errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info
    ]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
async def test_a_malformed_request_is_refused_with_its_status_and_code(client, caplog, case):
    _, method, arguments, status, code = case
    arguments = dict(arguments)
    url = arguments.pop("url", "/graphql")
    with caplog.at_level(logging.INFO):
        response = await client.request(method, url, **arguments)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"]["code"] for error in answer["errors"]] == [code]
    assert _errors_logged(caplog) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("query", 1), ("operationName", {}), ("variables", []), ("extensions", "x")],
)
async def test_a_field_of_the_wrong_type_is_named(client, field, value):
    response = await client.post("/graphql", json={"query": "{ __typename }", field: value})

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": BAD_REQUEST, "field": field}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
async def test_other_methods_are_405_with_allow(client, caplog, method):
    with caplog.at_level(logging.INFO):
        response = await client.request(method, "/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"] == "application/json"
    if method != "HEAD":  # a HEAD response has no body
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert _errors_logged(caplog) == []


async def test_a_mutation_over_get_is_405_allowing_post(client, count_statements):
    with count_statements as counted:
        response = await client.get(
            "/graphql",
            params={"query": "mutation { logOut }"},
            headers={"Accept": "application/json"},
        )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert "data" not in response.json()
    assert counted.count == 0


async def test_a_missing_required_argument_is_a_validation_error(client, caplog):
    """`{ venue { id } }` reached the fast path's argument binding, which raised: HTTP 500."""
    with caplog.at_level(logging.INFO):
        response = await client.post("/graphql", json={"query": "{ venue { id } }"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert "data" not in answer  # a request error: nothing ran
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == ErrorCode.GRAPHQL_VALIDATION_FAILED.value
    assert "venue" in error["message"]
    assert _errors_logged(caplog) == []


async def test_two_operations_run_when_one_is_named(client):
    document = "query A { __typename } query B { venues { totalCount } }"
    first = await client.post("/graphql", json={"query": document, "operationName": "A"})
    second = await client.post("/graphql", json={"query": document, "operationName": "B"})

    assert first.json() == {"data": {"__typename": "Query"}}
    assert second.json() == {"data": {"venues": {"totalCount": 0}}}


async def test_two_operations_without_a_name_run_neither(client, count_statements):
    with count_statements as counted:
        response = await client.post(
            "/graphql",
            json={"query": "query A { venues { totalCount } } query B { venues { totalCount } }"},
        )

    # A GraphQL request error of a well-formed request: 200 in application/json, no data.
    assert response.status_code == 200
    assert "data" not in response.json()
    (error,) = response.json()["errors"]
    assert error["extensions"] == {
        "code": ErrorCode.OPERATION_RESOLUTION_FAILURE.value,
        "field": "operationName",
    }
    assert counted.count == 0


async def test_an_invalid_document_with_two_operations_reports_the_validation_error(client):
    response = await client.post(
        "/graphql", json={"query": "query A { nope } query B { __typename }"}
    )

    assert response.status_code == 200
    codes = {error["extensions"]["code"] for error in response.json()["errors"]}
    assert codes == {ErrorCode.GRAPHQL_VALIDATION_FAILED.value}


async def test_the_graphql_response_media_type_when_accept_prefers_it(client):
    accept = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    ok = await client.post("/graphql", json={"query": "{ __typename }"}, headers=accept)
    invalid = await client.post("/graphql", json={"query": "{ venue { id } }"}, headers=accept)
    unparsable = await client.post("/graphql", json={"query": "{"}, headers=accept)
    refused = await client.post("/graphql", content=b"null", headers={**accept, **JSON_BODY})

    assert ok.status_code == 200
    assert ok.headers["content-type"] == GRAPHQL_RESPONSE
    assert ok.json() == {"data": {"__typename": "Query"}}
    # Request errors in this media type: 400 and no `data` (the specification's rule).
    for response, code in (
        (invalid, ErrorCode.GRAPHQL_VALIDATION_FAILED),
        (unparsable, ErrorCode.GRAPHQL_PARSE_FAILED),
        (refused, ErrorCode.BAD_REQUEST),
    ):
        assert response.status_code == 400
        assert response.headers["content-type"] == GRAPHQL_RESPONSE
        answer = json.loads(response.content)
        assert "data" not in answer
        assert answer["errors"][0]["extensions"]["code"] == code.value


@pytest.mark.parametrize(
    "accept",
    ["application/json", "*/*", "", f"application/json, {GRAPHQL_RESPONSE};q=0.5"],
)
async def test_application_json_otherwise(client, accept):
    response = await client.post(
        "/graphql", json={"query": "{ venue { id } }"}, headers={"Accept": accept}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "data" not in response.json()


async def test_an_unknown_path_is_a_json_404(client):
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_graphiql_off_answers_a_json_404(session):

    async with serving(session, graphiql=False) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_large_headers_within_the_limit_and_a_good_body_run(client):
    # Over MAX_HEADER_BYTES (32 KiB) they are refused: tests/graph/http/test_http_edges.py.
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Padding": "a" * 20_000}
    )

    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
        "application/json;charset=utf8",
    ],
)
async def test_json_is_json_whatever_the_case_of_its_media_type(client, content_type):
    answer = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"Content-Type": content_type},
    )

    assert answer.status_code == 200
    assert answer.json() == {"data": {"__typename": "Query"}}


async def test_a_get_query_still_runs(client):
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int) { venues(first: $n) { totalCount } }",
            "variables": '{"n": 1}',
        },
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"venues": {"totalCount": 0}}}


@pytest.mark.parametrize("venues", [0, 3])
async def test_a_connection_asked_only_for_its_count_is_json(session, client, venues):
    """The compiled statement wrote `{"venues":}` for an empty page, and failed for several rows."""
    for _ in range(venues):
        await make_venue(session)

    response = await client.post("/graphql", json={"query": "{ venues(first: 5) { totalCount } }"})

    assert response.status_code == 200
    assert json.loads(response.content) == {"data": {"venues": {"totalCount": venues}}}


# --- Codes of graphql-core's errors, by rule and node rather than by message ---------------------


@pytest.mark.parametrize(
    ("document", "variables", "extensions"),
    [
        ('{ venues(first: "x") { totalCount } }', None, {"code": BAD_USER_INPUT, "field": "first"}),
        ("{ venues(first: 1.5) { totalCount } }", None, {"code": BAD_USER_INPUT, "field": "first"}),
        (
            'query Q($n: Int = "x") { venues(first: $n) { totalCount } }',
            None,
            {"code": BAD_USER_INPUT, "field": "n"},
        ),
        (
            "query Q($n: Int) { venues(first: $n) { totalCount } }",
            {"n": "ten"},
            {"code": BAD_USER_INPUT, "field": "n"},
        ),
        (
            "query Q($id: ID!) { venue(id: $id) { id } }",
            {},
            {"code": BAD_USER_INPUT, "field": "id"},
        ),
        ("{ venue { id } }", None, {"code": VALIDATION_FAILED}),
        ("{ venues { nope } }", None, {"code": VALIDATION_FAILED}),
        ("query Q($unused: Int) { __typename }", None, {"code": VALIDATION_FAILED}),
        ("{ __typename } { __typename }", None, {"code": VALIDATION_FAILED}),
        ("{ venues(first: 1", None, {"code": ErrorCode.GRAPHQL_PARSE_FAILED.value}),
    ],
)
async def test_graphql_core_errors_are_coded_by_rule_and_node(
    client, caplog, document, variables, extensions
):
    with caplog.at_level(logging.INFO):
        response = await client.post("/graphql", json={"query": document, "variables": variables})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert "data" not in answer
    assert [error["extensions"] for error in answer["errors"]][:1] == [extensions]
    assert _errors_logged(caplog) == []


def test_tagged_rules_are_the_same_classes_each_time():
    """Strawberry's validation cache is keyed by the rules: tagging must not defeat it."""
    rules = tuple(specified_rules)

    assert tag_rules(rules) is tag_rules(tuple(specified_rules))
    assert all(
        issubclass(tagged, rule) for tagged, rule in zip(tag_rules(rules), rules, strict=True)
    )


def test_a_code_set_by_a_rule_is_kept():
    """A limit rule that sets its own code (QUERY_TOO_DEEP) keeps it, whatever its message."""
    error = GraphQLError("Too deep.", extensions={"code": ErrorCode.QUERY_TOO_DEEP.value})
    assign_code(error)

    assert error.extensions == {"code": ErrorCode.QUERY_TOO_DEEP.value}


async def test_a_body_over_the_limit_is_413_in_the_media_type_asked_for(session):

    async with serving(session, max_request_bytes=1_000) as http:
        response = await http.post(
            "/graphql",
            content=b'{"query": "{ __typename }"}' + b" " * 1_000,
            headers={**JSON_BODY, "Accept": GRAPHQL_RESPONSE},
        )

    assert response.status_code == 413
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.headers["connection"] == "close"
    assert json.loads(response.content)["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
