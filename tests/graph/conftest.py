"""GraphQL test helpers: execute operations against the schema on the test's session."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import ExecutionResult

from graph.compiler import RawData, encode_response
from graph.core.context import Context
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from graph.schema.root import schema
from models.settings import Settings
from tests.conftest import StatementCounter
from tests.graph.serving import http_client, served_app


@pytest.fixture
def execute(session: AsyncSession, count_statements: StatementCounter):
    """Run a GraphQL operation as one request (fresh context, fresh loaders), as production does.

    A query runs on the compiled path where it plans (as the app serves it), and again on the
    loader path with statement counting paused: both must answer the same bytes, errors
    included. `paths="loaders"` runs the loader path alone (for tests about the loaders).
    """

    async def once(
        query: str,
        variables: dict[str, Any] | None,
        viewer: Viewer | None,
        *,
        compiled: bool,
    ) -> ExecutionResult:
        context = Context(db=RequestDatabase(session), viewer=viewer, compiled_reads=compiled)
        try:
            return await schema.execute(query, variable_values=variables, context_value=context)
        finally:
            await context.db.finish()

    async def run(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        viewer: Viewer | None = None,
        paths: str = "both",
    ) -> ExecutionResult:
        if paths == "loaders" or not is_query(query):
            return await once(query, variables, viewer, compiled=False)
        result = await once(query, variables, viewer, compiled=True)
        counting, count_statements.counting = count_statements.counting, False
        try:
            loaders = await once(query, variables, viewer, compiled=False)
        finally:
            count_statements.counting = counting
        assert response_bytes(result) == response_bytes(loaders), query
        if isinstance(result.data, RawData):
            result.data = json.loads(result.data.json)
        return result

    return run


def is_query(document: str) -> bool:
    """Whether `document` parses to exactly one query operation (what the compiler may answer)."""
    try:
        parsed = parse(document)
    except GraphQLError:
        return False
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    return len(operations) == 1 and operations[0].operation is OperationType.QUERY


def response_bytes(result: ExecutionResult) -> bytes:
    """The response body the router would send for `result` (data spliced as compiled)."""
    response: dict[str, Any] = {"data": result.data}
    if result.errors:
        response["errors"] = [error.formatted for error in result.errors]
    return encode_response(response) or json.dumps(response, separators=(",", ":")).encode()


@pytest.fixture
async def app(test_database, session: AsyncSession) -> AsyncIterator[FastAPI]:
    """The real application on the test database, its sessions replaced by the test's."""
    async with served_app(Settings(database_url=test_database.url), session) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in process."""
    async with http_client(app) as http:
        yield http
