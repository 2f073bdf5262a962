"""GraphQL test helpers: execute operations against the schema on the test's session."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from graph.app import create_app, get_request_session
from graph.context import Context
from graph.request_session import RequestSession
from graph.schema import schema
from graph.viewer import Viewer
from models.settings import Settings


@pytest.fixture
def execute(session: AsyncSession):
    """Run a GraphQL operation as one request (fresh context, fresh loaders)."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, *, viewer: Viewer | None = None
    ) -> Any:
        context = Context(db=RequestSession(session), viewer=viewer)
        try:
            return await schema.execute(query, variable_values=variables, context_value=context)
        finally:
            await context.db.finish()

    return run


@pytest.fixture
async def app(test_database, session: AsyncSession) -> AsyncIterator[FastAPI]:
    """The real application on the test database, its sessions replaced by the test's."""
    application = create_app(Settings(database_url=test_database.url))

    async def test_request_session() -> AsyncIterator[RequestSession]:
        db = RequestSession(session)
        try:
            yield db
        finally:
            await db.finish()

    application.dependency_overrides[get_request_session] = test_request_session
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `app` in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
