"""The application as it is served, built for a test: its own settings, the test's session."""

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.request_database import RequestDatabase
from graph.http.app import create_app
from graph.http.serving import WEBSOCKET_OPTIONS
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


@contextmanager
def served_over_tcp(application: FastAPI) -> Iterator[str]:
    """Serve `application` with uvicorn in a thread on a free 127.0.0.1 port; yield its URL.

    For clients outside this process (a browser, node): its lifespan runs in the thread.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # The websockets as served (graph/http/serving.py): the subscriptions' tests see its protocol.
    config = uvicorn.Config(application, log_level="warning", lifespan="on", **WEBSOCKET_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        listener.close()
