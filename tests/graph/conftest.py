"""GraphQL test helpers: execute operations against the schema on the test's session."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.context import Context
from graph.core.request_database import RequestDatabase
from graph.core.viewer import Viewer
from graph.schema.root import schema
from models.settings import Settings
from tests.graph.serving import http_client, served_app


@pytest.fixture
def execute(session: AsyncSession):
    """Run a GraphQL operation as one request (fresh context, fresh loaders)."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, *, viewer: Viewer | None = None
    ) -> Any:
        context = Context(db=RequestDatabase(session), viewer=viewer)
        try:
            return await schema.execute(query, variable_values=variables, context_value=context)
        finally:
            await context.db.finish()

    return run


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
