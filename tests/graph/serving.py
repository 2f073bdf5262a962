"""The application as it is served, built for a test: its own settings, the test's session."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.request_database import RequestDatabase
from graph.http.app import create_app
from models.settings import Settings


@asynccontextmanager
async def served_app(
    settings: Settings, session: AsyncSession | None = None
) -> AsyncIterator[FastAPI]:
    """`create_app(settings)` with its lifespan running; on `session` when given, else its pool.

    On the test's session, whatever a request writes is rolled back with the test.
    """
    application = create_app(settings)
    if session is not None:

        @asynccontextmanager
        async def on_test_session(request: Request) -> AsyncIterator[RequestDatabase]:
            del request
            db = RequestDatabase(session)
            try:
                yield db
            finally:
                await db.finish()

        application.state.open_request_database = on_test_session
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def http_client(application: FastAPI, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to `application` in process (`options` go to the transport)."""
    transport = httpx.ASGITransport(app=application, **options)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@asynccontextmanager
async def serving(session: AsyncSession, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app built with `Settings(**settings)`, on the test's session."""
    async with (
        served_app(Settings(**settings), session) as application,
        http_client(application) as http,
    ):
        yield http
