"""GraphiQL at /graphql: served from local assets, and running a query in a real Chromium.

The page opens on an example over the demo data that says how to sign in, and keeps the
Headers tab across reloads; a server started without the bootstrap fetches the assets itself
or says in one line why the page uses the CDN.

The browser tests install what they need: Debian's `chromium` (as root, with apt-get) and
GraphiQL's assets (`scripts/fetch_graphiql_assets.py`, with npm). They are skipped only when
neither is possible. They serve the real app with uvicorn on a free local port, on the test
database, with rows they commit themselves and delete afterwards.
"""

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from graphql import parse, validate
from playwright.async_api import Page, Route, async_playwright, expect
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.routing import Route as StarletteRoute
from strawberry.http.ides import get_graphql_ide_html

from graph.core.global_id import encode_global_id
from graph.http import graphiql_assets as assets_module
from graph.http.app import create_app
from graph.http.endpoint import GraphQLEndpoint
from graph.http.graphiql import ASSETS_DIR, ASSETS_URL_PATH, EXAMPLE_OPERATION, graphiql_page
from graph.http.graphiql_assets import prepare_local_assets
from graph.schema.root import schema
from models import User, Venue
from models.settings import Settings
from tests.factories import make_login_session, make_user, make_venue
from tests.graph.serving import served_over_tcp

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
    assert response.text == graphiql_page()
    assert re.findall(r'(?:src|href)="https://unpkg\.com/([^"]+)"', response.text) == CDN_FILES
    assert re.findall(r'integrity="(sha384-[^"]+)"', response.text) == INTEGRITY


async def test_page_opens_on_the_example_not_strawberrys_welcome(tmp_path):
    for assets_dir, files in ((tmp_path / "all", CDN_FILES), (tmp_path / "none", [])):
        _lay_out(assets_dir, files)
        page = (await _get_page(_ide_app(assets_dir))).text
        assert "Welcome to GraphiQL" not in page
        assert "<title>Sartiq Graph · GraphiQL</title>" in page
        assert "const EXAMPLE_QUERY = `# Sartiq Graph on the demo data." in page
        assert "shouldPersistHeaders: true" in page


def test_example_operation_is_valid_and_says_how_to_sign_in():
    document = parse(EXAMPLE_OPERATION)
    assert validate(schema._schema, document) == []  # noqa: SLF001 - graphql-core's schema
    for hint in (
        "host@sartiq.demo",
        "password sartiq-demo",
        "logIn(input:",
        "Headers tab",
        '{"Authorization": "Bearer <token>"}',
        "kept in this browser across reloads",
    ):
        assert hint in EXAMPLE_OPERATION, hint


def test_the_example_survives_characters_a_template_literal_treats_specially():
    text = "# a `tick`, ${not} interpolated, a \\ backslash\n{ __typename }\n"
    page = graphiql_page(text)
    literal = page.split("const EXAMPLE_QUERY = ", 1)[1].split(";\n", 1)[0]
    assert literal == r"`# a \`tick\`, \${not} interpolated, a \\ backslash" + "\n{ __typename }\n`"


def test_startup_keeps_assets_that_are_in_place(tmp_path, monkeypatch, caplog):
    _lay_out(tmp_path, CDN_FILES)
    monkeypatch.setattr(assets_module, "is_current", lambda *_: True)
    monkeypatch.setattr(assets_module, "fetch", _must_not_fetch)
    with caplog.at_level(logging.INFO, logger="graph.graphiql"):
        prepared = prepare_local_assets(tmp_path)
    assert prepared.local
    assert caplog.records == []


def _must_not_fetch(*_: object, **__: object) -> str:
    message = "fetched although the assets were there"
    raise AssertionError(message)


def test_startup_without_npm_says_in_one_line_why_the_cdn_is_used(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("graph.http.graphiql_assets.shutil.which", lambda _: None)
    monkeypatch.setattr(assets_module, "fetch", _must_not_fetch)
    with caplog.at_level(logging.INFO, logger="graph.graphiql"):
        prepared = prepare_local_assets(tmp_path / "empty")
    assert not prepared.local
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("GraphiQL will load its scripts from https://unpkg.com/")
    assert "npm is not installed" in record.getMessage()
    assert "\n" not in record.getMessage()


def test_startup_fetches_missing_assets_with_npm_once(tmp_path, monkeypatch, caplog):
    calls: list[dict[str, object]] = []

    def fetch(dest: Path, **options: object) -> str:
        calls.append({"dest": dest, **options})
        return "GraphiQL assets fetched: 7 of 7 files"

    monkeypatch.setattr("graph.http.graphiql_assets.shutil.which", lambda _: "/usr/bin/npm")
    monkeypatch.setattr(assets_module, "fetch", fetch)
    with caplog.at_level(logging.WARNING, logger="graph.graphiql"):
        first = prepare_local_assets(tmp_path / "assets")
        again = prepare_local_assets(tmp_path / "assets")
    assert first == again
    assert first.local
    # Never installs npm at startup, and gives up well before a client would.
    assert calls == [
        {
            "dest": tmp_path / "assets",
            "install_npm": False,
            "timeout": assets_module.STARTUP_NPM_TIMEOUT_SECONDS,
        }
    ]
    assert [r.getMessage() for r in caplog.records] == [
        f"GraphiQL's scripts are not in {tmp_path / 'assets'}: fetching them with npm"
    ]


def test_startup_after_a_failed_fetch_says_why(tmp_path, monkeypatch, caplog):
    def fetch(*_: object, **__: object) -> str:
        message = "npm pack graphiql@3.8.3 failed: E404"
        raise assets_module.FetchError(message)

    monkeypatch.setattr("graph.http.graphiql_assets.shutil.which", lambda _: "/usr/bin/npm")
    monkeypatch.setattr(assets_module, "fetch", fetch)
    with caplog.at_level(logging.WARNING, logger="graph.graphiql"):
        prepared = prepare_local_assets(tmp_path / "assets")
    assert not prepared.local
    assert caplog.records[-1].getMessage() == (
        "GraphiQL will load its scripts from https://unpkg.com/:"
        " npm pack graphiql@3.8.3 failed: E404"
    )


def test_app_prepares_assets_only_with_graphiql_on(test_database, monkeypatch):
    prepared: list[Path] = []
    monkeypatch.setattr("graph.http.app.prepare_local_assets", prepared.append)
    create_app(Settings(database_url=test_database.url, graphiql=False))
    assert prepared == []
    create_app(Settings(database_url=test_database.url, graphiql=True))
    assert prepared == [ASSETS_DIR]


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
    with served_over_tcp(application) as base_url:
        async with _browser_page(chromium, base_url) as (page, traffic):
            await page.goto(f"{base_url}/graphql")
            assert traffic.blocked == [], "the page tried to load files from elsewhere"

            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            query = f'{{ venue(id: "{global_id}") {{ name city }} }}'
            await page.keyboard.insert_text(query)
            # GraphiQL reads the edited document 100 ms after the last keystroke (then the page
            # puts it in the URL); run before that and it would still send the example's name.
            await page.wait_for_function(
                "query => new URLSearchParams(location.search).get('q') === query", arg=query
            )
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


@dataclass
class SignedInHost:
    """A host and a bearer token of theirs, committed for a server outside the test."""

    display_name: str
    token: str


@pytest.fixture
async def committed_host(engine: AsyncEngine) -> AsyncIterator[SignedInHost]:
    """A host with a live session (deleted with the user afterwards)."""
    token = secrets.token_urlsafe(32)
    name = f"Browser Host {secrets.token_hex(4)}"
    async with AsyncSession(engine, expire_on_commit=False) as session:
        host = await make_user(session, role="host", display_name=name)
        await make_login_session(session, user=host, token=token)
        await session.commit()
    try:
        yield SignedInHost(display_name=name, token=token)
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(User).where(User.id == host.id))


_EDITOR_VALUE = "element => element.CodeMirror.getValue()"
_HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"


async def _run_and_read(page: Page) -> str:
    """Press GraphiQL's run button; the response pane's text once an answer is there."""
    response_pane = page.locator(".graphiql-response")
    await page.locator(".graphiql-execute-button").click()
    await expect(response_pane).to_contain_text('"data"', timeout=20_000)
    return await response_pane.locator(".CodeMirror").evaluate(_EDITOR_VALUE)


async def test_graphiql_opens_on_the_example_and_keeps_headers_across_reloads(
    chromium, graphiql_assets, test_database, committed_host
):
    del graphiql_assets
    application = create_app(Settings(database_url=test_database.url, graphiql=True))
    headers = json.dumps({"Authorization": f"Bearer {committed_host.token}"})
    with served_over_tcp(application) as base_url:
        async with _browser_page(chromium, base_url) as (page, traffic):
            await page.goto(f"{base_url}/graphql")
            query_editor = page.locator(".graphiql-query-editor .CodeMirror")
            await expect(query_editor).to_contain_text("query Demo")
            assert await query_editor.evaluate(_EDITOR_VALUE) == EXAMPLE_OPERATION

            # Signed out, the example runs: venues are public, `viewer` is null.
            answer = json.loads(await _run_and_read(page))
            assert "errors" not in answer, answer
            assert answer["data"]["viewer"] is None
            assert "totalCount" in answer["data"]["venues"]

            # The sign-in step the example's comment describes: the token in the Headers tab.
            await page.get_by_role("button", name="Headers").click()
            await page.locator(_HEADERS_EDITOR).click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            await page.keyboard.insert_text(headers)
            await page.wait_for_function(
                "token => (localStorage.getItem('graphiql:headers') || '').includes(token)",
                arg=committed_host.token,
                timeout=10_000,
            )

            await page.reload()
            await expect(query_editor).to_contain_text("query Demo")
            await page.get_by_role("button", name="Headers").click()
            assert await page.locator(_HEADERS_EDITOR).evaluate(_EDITOR_VALUE) == headers

            # And the kept header is sent: the viewer is now the host.
            answer = json.loads(await _run_and_read(page))
            assert answer["data"]["viewer"]["displayName"] == committed_host.display_name

    assert traffic.blocked == []
    assert traffic.page_errors == []


async def test_graphiql_runs_a_subscription_over_the_websocket(
    chromium, graphiql_assets, test_database, committed_venue
):
    del graphiql_assets
    application = create_app(Settings(database_url=test_database.url, graphiql=True))
    global_id = encode_global_id("Venue", committed_venue.id)
    with served_over_tcp(application) as base_url:
        async with _browser_page(chromium, base_url) as (page, traffic):
            await page.goto(f"{base_url}/graphql")
            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            query = (
                f'subscription {{ venueAvailability(venueId: "{global_id}",'
                ' from: "2031-01-01T00:00:00Z", to: "2031-01-02T00:00:00Z")'
                " { reason busy { startsAt } } }"
            )
            await page.keyboard.insert_text(query)
            await page.wait_for_function(
                "query => new URLSearchParams(location.search).get('q') === query", arg=query
            )
            await page.keyboard.press("Control+Enter")

            response_pane = page.locator(".graphiql-response")
            await expect(response_pane).to_contain_text("INITIAL", timeout=20_000)

    assert traffic.blocked == []
    assert traffic.page_errors == []
