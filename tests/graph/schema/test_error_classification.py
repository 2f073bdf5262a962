"""Errors graphql-core raises without a type or node of their own, classified through HTTP.

graph/schema/error_codes.py classifies graphql-core's errors by validation rule, error type and
node; three cases give neither and are read from graphql-core's wording. These tests pin that
wording through the served app, so a graphql-core upgrade that rewords a message fails here
instead of silently turning a client error into GRAPHQL_VALIDATION_FAILED.
"""

from typing import Any

import httpx

from graph.core.errors import ErrorCode
from graph.schema.query_limits import QueryLimits
from models.settings import Settings

LIMITS = QueryLimits.from_settings(Settings())


async def _errors(client: httpx.AsyncClient, query: str, variables: object) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_a_null_reaching_a_required_argument_through_a_defaulted_variable(client):
    # Valid (the variable has a default), but null is sent: graphql-core reports it at run
    # time against the variable's node, naming the argument only in its message.
    errors = await _errors(client, 'query($id: ID = "x") { venue(id: $id) { id } }', {"id": None})

    assert [error["extensions"] for error in errors] == [
        {"code": ErrorCode.BAD_USER_INPUT.value, "field": "id"}
    ]


async def test_a_document_over_the_token_limit(client):
    # graphql-core raises the token limit as a plain syntax error.
    query = "{ " + "__typename " * LIMITS.max_tokens + "}"

    errors = await _errors(client, query, {})

    assert [error["extensions"]["code"] for error in errors] == [ErrorCode.TOO_MANY_TOKENS.value]


async def test_a_plain_syntax_error_is_a_parse_failure(client):
    errors = await _errors(client, "{ venues(", {})

    assert [error["extensions"]["code"] for error in errors] == [
        ErrorCode.GRAPHQL_PARSE_FAILED.value
    ]
