"""GraphiQL at /graphql: served from local assets, and running a query in a real Chromium.

The browser test installs what it needs: Debian's `chromium` (as root, with apt-get) and
GraphiQL's assets (`scripts/fetch_graphiql_assets.py`, with npm). It is skipped only when
neither is possible. It serves the real app with uvicorn on a free local port, on the test
database, with rows it commits itself and deletes afterwards.
"""

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Page, Route, async_playwright, expect
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.routing import Route as StarletteRoute
from strawberry.http.ides import get_graphql_ide_html

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from graph.http.endpoint import GraphQLEndpoint
from graph.http.graphiql import ASSETS_DIR, ASSETS_URL_PATH
from graph.schema.root import schema
from models import User, Venue
from models.settings import Settings
from tests.factories import make_user, make_venue

FETCH_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "fetch_graphiql_assets.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CDN_PAGE = get_graphql_ide_html("graphiql")
CDN_FILES = re.findall(r'(?:src|href)="https://unpkg\.com/([^"]+)"', CDN_PAGE)
INTEGRITY = re.findall(r'integrity="(sha384-[^"]+)"', CDN_PAGE)
APT_TIMEOUT_SECONDS = 600


def _apt_get(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(  # noqa: S603 - fixed apt-get arguments
        [shutil.which("apt-get") or "/usr/bin/apt-get", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=APT_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when absent (root only), else a skip."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"no browser: {CHROMIUM} is missing and installing it needs root on Debian "
            "(sudo apt-get install chromium)"
        )
    if _apt_get("install", "-y", "chromium").returncode != 0:
        _apt_get("update")
        result = _apt_get("install", "-y", "chromium")
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(f"no browser: apt-get install chromium failed: {result.stderr[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def graphiql_assets() -> Path:
    """GraphiQL's scripts and styles in graph/static/graphiql/, fetched and hash-checked."""
    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(FETCH_SCRIPT)], capture_output=True, text=True, check=False
    )
    if result.returncode == 2:  # the script's "npm unavailable" status
        pytest.skip(f"GraphiQL's assets cannot be installed here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return ASSETS_DIR


def _ide_app(assets_dir: Path, *, graphql_ide: str | None = "graphiql") -> FastAPI:
    application = FastAPI()
    application.router.routes.append(
        StarletteRoute(
            "/graphql", GraphQLEndpoint(schema, graphql_ide=graphql_ide, assets_dir=assets_dir)
        )
    )
    return application


async def _get_page(application: FastAPI, *, root_path: str = "") -> httpx.Response:
    transport = httpx.ASGITransport(app=application, root_path=root_path)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.get("/graphql", headers={"Accept": "text/html"})


def _lay_out(assets_dir: Path, files: list[str]) -> None:
    for file in files:
        (assets_dir / file).parent.mkdir(parents=True, exist_ok=True)
        (assets_dir / file).write_text("/* stand-in */", encoding="utf-8")


async def test_page_points_at_local_assets_when_all_are_present(tmp_path):
    _lay_out(tmp_path, CDN_FILES)
    response = await _get_page(_ide_app(tmp_path))
    assert response.status_code == 200
    assert "unpkg.com" not in response.text
    assert re.findall(r'(?:src|href)="/graphql/assets/([^"]+)"', response.text) == CDN_FILES
    assert re.findall(r'integrity="(sha384-[^"]+)"', response.text) == INTEGRITY


async def test_page_honours_the_proxy_root_path(tmp_path):
    _lay_out(tmp_path, CDN_FILES)
    response = await _get_page(_ide_app(tmp_path), root_path="/api")
    assert f'src="/api/graphql/assets/{CDN_FILES[0]}"' in response.text


async def test_page_falls_back_to_the_cdn_when_an_asset_is_missing(tmp_path):
    _lay_out(tmp_path, CDN_FILES[1:])
    response = await _get_page(_ide_app(tmp_path))
    assert response.status_code == 200
    assert response.text == CDN_PAGE


async def test_no_page_when_graphiql_is_off(tmp_path):
    _lay_out(tmp_path, CDN_FILES)
    endpoint = GraphQLEndpoint(schema, graphql_ide=None, assets_dir=tmp_path)
    assert not endpoint.serves_local_assets
    response = await _get_page(_ide_app(tmp_path, graphql_ide=None))
    assert response.status_code == 404


async def test_app_serves_the_fetched_assets_with_their_page_hashes(test_database, graphiql_assets):
    del graphiql_assets
    application = create_app(Settings(database_url=test_database.url))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for file, integrity in zip(CDN_FILES, INTEGRITY, strict=True):
            response = await http.get(f"{ASSETS_URL_PATH}/{file}")
            assert response.status_code == 200, file
            assert _sri(response.content) == integrity, file


async def test_app_without_graphiql_serves_no_assets(test_database, graphiql_assets):
    del graphiql_assets
    application = create_app(Settings(database_url=test_database.url, graphiql=False))
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get(f"{ASSETS_URL_PATH}/{CDN_FILES[0]}")
    assert response.status_code == 404


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


@contextlib.asynccontextmanager
async def _serving(application: FastAPI) -> AsyncIterator[str]:
    """Serve `application` with uvicorn in a thread on a free 127.0.0.1 port; yield its URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start within 15 s"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        listener.close()


@pytest.fixture
async def committed_venue(engine: AsyncEngine) -> AsyncIterator[Venue]:
    """A venue (and its host) committed for a server outside the test's transaction."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        owner = await make_user(session, role="host")
        venue = await make_venue(session, owner=owner, name=f"Browser Hall {secrets.token_hex(4)}")
        await session.commit()
    try:
        yield venue
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(Venue).where(Venue.id == venue.id))
            await connection.execute(delete(User).where(User.id == owner.id))


@dataclass
class Traffic:
    """What the page asked for: every URL, and those refused for not being this server."""

    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def _browser_page(chromium: Path, base_url: str) -> AsyncIterator[tuple[Page, Traffic]]:
    """A Chromium page that may reach only `base_url` (anything else is aborted and logged)."""
    origin = urlsplit(base_url).netloc
    traffic = Traffic()

    async def only_this_server(route: Route) -> None:
        url = route.request.url
        traffic.requested.append(url)
        if url.startswith("data:") or urlsplit(url).netloc == origin:
            await route.continue_()
        else:
            traffic.blocked.append(url)
            await route.abort()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
            await page.route("**/*", only_this_server)
            yield page, traffic
        finally:
            await browser.close()


async def test_graphiql_runs_a_query_in_chromium_without_leaving_the_machine(
    chromium, graphiql_assets, test_database, committed_venue
):
    del graphiql_assets
    application = create_app(Settings(database_url=test_database.url, graphiql=True))
    global_id = encode_global_id("Venue", committed_venue.id)
    async with (
        _serving(application) as base_url,
        _browser_page(chromium, base_url) as (
            page,
            traffic,
        ),
    ):
        await page.goto(f"{base_url}/graphql")
        assert traffic.blocked == [], "the page tried to load files from elsewhere"

        await page.locator(".graphiql-query-editor .CodeMirror").click()
        await page.keyboard.press("Control+A")
        await page.keyboard.press("Delete")
        await page.keyboard.insert_text(f'{{ venue(id: "{global_id}") {{ name city }} }}')
        await page.keyboard.press("Control+Enter")

        response_pane = page.locator(".graphiql-response")
        await expect(response_pane).to_contain_text(committed_venue.name, timeout=20_000)
        await expect(response_pane).to_contain_text("Paris")

    assert traffic.blocked == []
    assert traffic.page_errors == []
    assets_requested = sorted(
        url.split(ASSETS_URL_PATH + "/", 1)[1]
        for url in traffic.requested
        if ASSETS_URL_PATH in url
    )
    assert assets_requested == sorted(CDN_FILES)
    assert f"{base_url}/graphql" in traffic.requested
