"""Query safety: every limit lets an operation just under it through and refuses one just over
it with its own code, before any SQL runs.
"""

from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from graphql import Source, TokenKind, get_operation_ast, parse, print_ast, validate
from graphql.language.lexer import Lexer

from graph.core.errors import ErrorCode
from graph.core.global_id import encode_global_id
from graph.schema.persisted_queries import operation_documents
from graph.schema.query_cost import operation_cost
from graph.schema.query_limits import QueryLimits, validation_rules
from graph.schema.root import schema
from models.settings import Settings
from tests.factories import make_venue
from tests.graph.serving import serving

GRAPHQL_SCHEMA = schema._schema  # noqa: SLF001 - graphql-core's schema, which the cost walks
DEFAULTS = Settings()
ERRORS_DOC = Path(__file__).resolve().parents[3] / "docs" / "errors.md"
# The benchmark's nested list (the brief of issue 5).
BENCHMARK_LIST = """
query BenchNested {
  venues(first: 50) { edges { node { id name city hourlyRate owner { id displayName }
    bookings(first: 10) { edges { node { id startsAt endsAt status amount
      user { id displayName } } } }
    media(first: 5) { edges { node { id title width height } } } } } }
}
"""


def codes(result) -> list[str]:
    return [error.extensions["code"] for error in result.errors or ()]


def deep(depth: int) -> str:
    """A query `depth` levels deep: venue, then hops through its bookings' venues."""
    hops, rest = divmod(depth - 1, 4)
    tail = ["id", "bookings(first: 1) { totalCount }", "bookings(first: 1) { edges { cursor } }"]
    tail.append("bookings(first: 1) { edges { node { id } } }")
    inner = tail[rest]
    for _ in range(hops):
        inner = f"bookings(first: 1) {{ edges {{ node {{ venue {{ {inner} }} }} }} }}"
    return f"query Deep($id: ID!) {{ venue(id: $id) {{ {inner} }} }}"


def costing(cost: int) -> str:
    """A query whose cost is exactly `cost` (at least 9,901): nested pages, then padding."""
    nested = (
        "venues(first: 50) { edges { node { bookings(first: 65) { edges { node { id } } } } } }"
    )
    base = 1 + 50 * (1 + 1 + (1 + 65 * 3))
    assert cost >= base
    # Padded with one list of `padding - 1` total counts (fields repeated under one name
    # would be refused for the pairs validation compares).
    padding = cost - base
    assert padding <= 101
    pad = f"pad: venues(first: {padding - 1}) {{ totalCount }}" if padding > 1 else ""
    return "{ " + nested + (" __typename" if padding == 1 else " " + pad) + " }"


# --- Depth --------------------------------------------------------------------------------------


async def test_depth_at_the_limit_runs(session, execute):
    venue = await make_venue(session)
    result = await execute(
        deep(DEFAULTS.max_query_depth), {"id": encode_global_id("Venue", venue.id)}
    )

    assert result.errors is None
    assert result.data["venue"]["bookings"]["edges"] == []


async def test_depth_over_the_limit_is_refused_before_sql(execute, count_statements):
    with count_statements as counted:
        result = await execute(
            deep(DEFAULTS.max_query_depth + 1), {"id": encode_global_id("Venue", uuid4())}
        )

    assert codes(result) == [ErrorCode.QUERY_TOO_DEEP.value]
    assert result.data is None
    assert counted.count == 0


# --- Aliases ------------------------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_aliases_at_the_limit_run(execute):
    result = await execute(aliased(DEFAULTS.max_aliases))

    assert result.errors is None
    assert len(result.data) == DEFAULTS.max_aliases


async def test_aliases_over_the_limit_are_refused_before_sql(execute, count_statements):
    with count_statements as counted:
        result = await execute(aliased(DEFAULTS.max_aliases + 1))

    assert codes(result) == [ErrorCode.TOO_MANY_ALIASES.value]
    assert counted.count == 0


# --- Tokens -------------------------------------------------------------------------------------


def count_tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def tokens(count: int) -> str:
    """A valid document of exactly `count` tokens: a variable's default list padded to length.

    The default is never used: the tests send `tags`.
    """
    document = (
        "query($tags: [String!] = [%s]) { media(first: 1, filter: {tags: $tags}) { totalCount } }"
    )
    padding = count - count_tokens(document % "")
    text = document % " ".join(['"tag"'] * padding)
    assert count_tokens(text) == count
    return text


async def test_tokens_at_the_limit_run(execute):
    result = await execute(tokens(DEFAULTS.max_tokens), {"tags": []})

    assert result.errors is None
    assert result.data == {"media": {"totalCount": 0}}


async def test_tokens_over_the_limit_are_refused_before_sql(execute, count_statements):
    with count_statements as counted:
        result = await execute(tokens(DEFAULTS.max_tokens + 1), {"tags": []})

    assert codes(result) == [ErrorCode.TOO_MANY_TOKENS.value]
    assert counted.count == 0


# --- Cost ---------------------------------------------------------------------------------------


def test_costing_builds_the_cost_it_names():
    for cost in (DEFAULTS.max_query_cost, DEFAULTS.max_query_cost + 1):
        document = parse(costing(cost))
        assert operation_cost(GRAPHQL_SCHEMA, document, operation_name=None, variables={}) == cost


async def test_cost_at_the_limit_runs(execute):
    result = await execute(costing(DEFAULTS.max_query_cost))

    assert result.errors is None
    assert result.data["venues"] == {"edges": []}


async def test_cost_over_the_limit_is_refused_before_sql_with_the_cost(execute, count_statements):
    with count_statements as counted:
        result = await execute(costing(DEFAULTS.max_query_cost + 1))

    assert codes(result) == [ErrorCode.QUERY_TOO_COSTLY.value]
    (error,) = result.errors
    assert error.extensions["cost"] == DEFAULTS.max_query_cost + 1
    assert error.extensions["maxCost"] == DEFAULTS.max_query_cost
    assert result.data is None
    assert counted.count == 0


async def test_cost_counts_variables_and_their_defaults(execute, count_statements):
    query = """
    query($venues: Int = 100, $bookings: Int!) {
      venues(first: $venues) { edges { node { bookings(first: $bookings) {
        edges { node { id } } } } } }
    }
    """
    with count_statements as counted:
        refused = await execute(query, {"bookings": 100})
    small = await execute(query, {"venues": 2, "bookings": 2})

    assert codes(refused) == [ErrorCode.QUERY_TOO_COSTLY.value]
    assert refused.errors[0].extensions["cost"] == 1 + 100 * (3 + 100 * 3)
    assert counted.count == 0
    assert small.errors is None


async def test_a_cached_cost_is_never_reused_for_other_variables_or_limits(session):
    """Costs are cached per document and variables; the limit is each app's own."""
    query = """
    query Sized($venues: Int!) {
      venues(first: $venues) { edges { node { bookings(first: 100) { edges { node { id } } } } } }
    }
    """

    async def sized(http, venues: int) -> list[str]:
        body = {"query": query, "variables": {"venues": venues}}
        response = await http.post("/graphql", json=body)
        return [error["extensions"]["code"] for error in response.json().get("errors", ())]

    costly = ErrorCode.QUERY_TOO_COSTLY.value
    async with serving(session) as client:
        assert await sized(client, 2) == []
        assert await sized(client, 100) == [costly]
        assert await sized(client, 2) == []  # the same document, the cheap variables again
        assert await sized(client, 100) == [costly]
    # Cost 1 + 2 * (3 + 100 * 3): within the default limit, over a lower one.
    async with serving(session, max_query_cost=600) as strict:
        assert await sized(strict, 2) == [costly]


def test_frontend_operations_and_the_benchmark_fit_the_default_limits():
    limits = QueryLimits.from_settings(DEFAULTS)
    documents = {**operation_documents(), "BenchNested": BENCHMARK_LIST}
    for name, text in documents.items():
        document = parse(text, max_tokens=limits.max_tokens)
        assert validate(GRAPHQL_SCHEMA, document, validation_rules(limits)) == [], name
        operation = get_operation_ast(document)
        assert operation is not None
        # Page-size variables at the operation's defaults, or 20 when it has none.
        variables = {
            definition.variable.name.value: 20
            for definition in operation.variable_definitions or ()
            if print_ast(definition.type).startswith("Int") and definition.default_value is None
        }
        cost = operation_cost(GRAPHQL_SCHEMA, document, operation_name=name, variables=variables)
        if name != "HostDashboard":  # its defaults apply at execution (3,306)
            assert cost <= limits.max_cost, (name, cost)
    bench = operation_cost(GRAPHQL_SCHEMA, parse(BENCHMARK_LIST), operation_name=None, variables={})
    assert bench == 7051
    assert bench <= limits.max_cost


# --- Configuration per app ----------------------------------------------------------------------


async def test_an_app_applies_the_limits_of_its_settings(session, count_statements):
    query = {"query": deep(3), "variables": {"id": encode_global_id("Venue", uuid4())}}
    async with serving(session, max_query_depth=2) as client:
        with count_statements as counted:
            response = await client.post("/graphql", json=query)

    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == ErrorCode.QUERY_TOO_DEEP.value
    assert counted.count == 0


async def test_introspection_is_on_by_default(client):
    response = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})

    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_introspection_switches_off(session):
    async with serving(session, introspection=False, graphiql=False) as client:
        schema_query = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        type_query = await client.post(
            "/graphql", json={"query": '{ __type(name: "Venue") { name } }'}
        )
        typename = await client.post("/graphql", json={"query": "{ __typename }"})
        page = await client.get("/graphql", headers={"Accept": "text/html"})

    for response in (schema_query, type_query):
        body = response.json()
        assert "data" not in body or body["data"] is None
        assert {error["extensions"]["code"] for error in body["errors"]} == {
            ErrorCode.INTROSPECTION_DISABLED.value
        }
    assert typename.json() == {"data": {"__typename": "Query"}}
    assert page.status_code == 404


# --- Request size -------------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    """A JSON request body of exactly `size` bytes (the query padded with spaces)."""
    body = b'{"query": "{ __typename }"}'
    return body[:-2] + b" " * (size - len(body)) + body[-2:]


async def test_a_body_at_the_limit_runs(session):
    async with serving(session, max_request_bytes=1_000) as client:
        response = await client.post(
            "/graphql", content=padded_body(1_000), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_a_body_over_the_limit_is_413_before_sql(session, count_statements):
    async with serving(session, max_request_bytes=1_000) as client:
        with count_statements as counted:
            response = await client.post(
                "/graphql",
                content=padded_body(1_001),
                headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
            )

    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": "The request is over 1000 bytes; send a smaller document.",
                "extensions": {"code": ErrorCode.REQUEST_TOO_LARGE.value, "maxBytes": 1_000},
            }
        ]
    }
    # Refused before authentication, which would have looked the token up.
    assert counted.count == 0


async def test_a_chunked_body_over_the_limit_is_413(session):
    async def chunks() -> AsyncIterator[bytes]:
        body = padded_body(1_500)
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    async with serving(session, max_request_bytes=1_000) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        within = await client.post(
            "/graphql",
            content=(part async for part in _once(padded_body(900))),
            headers={"Content-Type": "application/json"},
        )

    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == ErrorCode.REQUEST_TOO_LARGE.value
    assert within.json() == {"data": {"__typename": "Query"}}


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def test_a_query_string_over_the_limit_is_413(session):
    async with serving(session, max_request_bytes=1_000) as client:
        response = await client.get("/graphql", params={"query": tokens(300), "variables": "{}"})

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == ErrorCode.REQUEST_TOO_LARGE.value


# --- Batching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("operations", [1, 2])
async def test_a_batch_is_refused_with_a_code(client, count_statements, operations):
    batch = [{"query": "{ venues(first: 1) { totalCount } }"}] * operations
    with count_statements as counted:
        response = await client.post("/graphql", json=batch)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": ErrorCode.TOO_MANY_OPERATIONS.value}
    assert "one operation per request" in error["message"]
    assert counted.count == 0


# --- Documentation ------------------------------------------------------------------------------


def test_every_code_is_documented():
    documented = ERRORS_DOC.read_text(encoding="utf-8")
    missing = [code.value for code in ErrorCode if f"| `{code.value}` |" not in documented]
    assert missing == []
