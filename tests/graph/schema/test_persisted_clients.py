"""Stock clients and their build tools against the production allow-list, end to end.

Apollo Client 4 (`@apollo/client` with its persisted-queries link and Node's crypto SHA-256)
runs the frontend's operations against the app served by uvicorn with production settings
(`persisted_queries_only`, no introspection, no GraphiQL) and the manifest that
`@apollo/generate-persisted-query-manifest` writes from `graph/operations/`. GraphQL Code
Generator's client preset writes `persisted-documents.json`, and its documents run by
`documentId` as its clients send them.

The npm packages (pinned by `persisted_clients/package-lock.json`) are installed once into a
cache folder outside the repository, keyed by that lock file; a fresh install takes 25 to 40
seconds. The tests are skipped only when `node` or `npm` is missing.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from graph.schema.persisted_queries import OPERATIONS_DIR, load_manifest
from models import User, Venue, auth
from models.settings import Settings
from tests.factories import make_user, make_venue
from tests.graph.serving import served_over_tcp, serving

ROOT = Path(__file__).resolve().parents[3]
CLIENTS_DIR = Path(__file__).resolve().parent / "persisted_clients"
PASSWORD = "correct horse battery"
NPM_TIMEOUT_SECONDS = 300
NODE_TIMEOUT_SECONDS = 120
# Production: only allow-listed operations, no introspection, no GraphiQL.
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "persisted_queries_only": True,
    "introspection": False,
    "graphiql": False,
}


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sartiq-graph" / "persisted-clients"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned npm packages, installed with `npm ci` into the cache once per lock file."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        pytest.skip("node and npm are needed to run stock clients (Debian: apt-get install npm)")
    lock = (CLIENTS_DIR / "package-lock.json").read_bytes()
    manifest = (CLIENTS_DIR / "package.json").read_bytes()
    key = hashlib.sha256(manifest + b"\0" + lock).hexdigest()[:16]
    installed = _cache_root() / key
    if (installed / "node_modules" / ".complete").exists():
        return installed / "node_modules"
    _cache_root().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=_cache_root()))
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy(CLIENTS_DIR / name, staging / name)
        result = subprocess.run(  # noqa: S603 - npm with the pinned lock file
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        (staging / "node_modules" / ".complete").touch()
        # Another run may have finished first: its copy is as good as this one.
        if not installed.exists():
            staging.rename(installed)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed / "node_modules"


@dataclass(frozen=True)
class NodeProject:
    """A folder that sees the installed packages, where tools and scripts run."""

    path: Path

    def run(self, *command: str, stdin: str | None = None) -> str:
        """`command` run in the folder; its standard output (it must succeed)."""
        result = subprocess.run(  # noqa: S603 - node and the installed tools, fixed arguments
            command,
            cwd=self.path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def tool(self, name: str, *arguments: str) -> str:
        """An installed package's command."""
        return self.run(str(self.path / "node_modules" / ".bin" / name), *arguments)


@pytest.fixture(scope="module")
def node_project(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> NodeProject:
    path = tmp_path_factory.mktemp("persisted-clients")
    (path / "node_modules").symlink_to(node_modules, target_is_directory=True)
    shutil.copy(CLIENTS_DIR / "package.json", path / "package.json")
    shutil.copy(CLIENTS_DIR / "apollo.mjs", path / "apollo.mjs")
    return NodeProject(path)


@pytest.fixture(scope="module")
def apollo_manifest(node_project: NodeProject) -> Path:
    """`generate-persisted-query-manifest` run on graph/operations/, as the frontend's build."""
    output = node_project.path / "persisted-query-manifest.json"
    config = {"documents": [f"{OPERATIONS_DIR}/**/*.graphql"], "output": str(output)}
    (node_project.path / "persisted-query-manifest.config.json").write_text(json.dumps(config))
    node_project.tool("generate-persisted-query-manifest")
    return output


@dataclass(frozen=True)
class Codegen:
    """What GraphQL Code Generator's client preset wrote."""

    manifest: Path
    document_ids: dict[str, str]  # operation name -> the `documentId` its document carries


@pytest.fixture(scope="module")
def codegen(node_project: NodeProject) -> Codegen:
    """The client preset with `persistedDocuments: true` on schema.graphql and the operations."""
    output = node_project.path / "gql"
    config = {
        "schema": str(ROOT / "schema.graphql"),
        "documents": [f"{OPERATIONS_DIR}/**/*.graphql"],
        "generates": {
            f"{output}/": {
                "preset": "client",
                "presetConfig": {"persistedDocuments": True, "fragmentMasking": False},
            }
        },
        "silent": True,
    }
    (node_project.path / "codegen.json").write_text(json.dumps(config))
    node_project.tool("graphql-codegen", "--config", "codegen.json")
    # The typed documents carry the id their client sends: `__meta__: {hash: "sha256:..."}`.
    source = (output / "graphql.ts").read_text(encoding="utf-8")
    ids = dict(
        re.findall(r'export const (\w+)Document = \{"__meta__":\{"hash":"([^"]+)"\}', source)
    )
    return Codegen(manifest=output / "persisted-documents.json", document_ids=ids)


@dataclass(frozen=True)
class Committed:
    """Rows committed for a server outside the test's transaction."""

    venue: Venue
    host: User


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    suffix = os.urandom(4).hex()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        host = await make_user(
            session,
            role="host",
            email=f"persisted-{suffix}@example.test",
            password_hash=await auth.hash_password(PASSWORD),
        )
        venue = await make_venue(
            session, owner=host, name=f"Persisted Hall {suffix}", city=f"Persisted {suffix}"
        )
        await session.commit()
    try:
        yield Committed(venue=venue, host=host)
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(Venue).where(Venue.id == venue.id))
            await connection.execute(delete(User).where(User.id == host.id))


def _run_apollo(
    project: NodeProject, url: str, manifest: Path, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    plan = {
        "url": f"{url}/graphql",
        "operationsDir": str(OPERATIONS_DIR),
        "manifest": str(manifest),
        "steps": steps,
    }
    report: dict[str, Any] = json.loads(project.run("node", "apollo.mjs", stdin=json.dumps(plan)))
    return report


def _statuses(result: dict[str, Any]) -> list[tuple[tuple[str, ...], int]]:
    """What each HTTP exchange carried (beside variables and operationName) and its status."""
    return [
        (
            tuple(key for key in exchange["sent"] if key in {"query", "extensions"}),
            exchange["status"],
        )
        for exchange in result["exchanges"]
    ]


HASH_ONLY = ("extensions",)
WITH_TEXT = ("extensions", "query")


async def test_stock_apollo_client_runs_the_manifest_and_is_refused_the_rest(
    test_database, committed, node_project, apollo_manifest
):
    settings = Settings(
        database_url=test_database.url,
        persisted_documents_manifests=(apollo_manifest,),
        **PRODUCTION,
    )
    venue, host = committed.venue, committed.host
    search = {"filter": {"city": venue.city}, "first": 5}
    sneaky = "query Sneaky { venues(first: 1) { totalCount } }"
    with served_over_tcp(create_app(settings)) as url:
        report = _run_apollo(
            node_project,
            url,
            apollo_manifest,
            [
                # Fragments in spread order: unknown hash, then the text, which is the
                # manifest's document reordered; kept, so the hash alone runs next time.
                {"operation": "VenueSearchList", "variables": search},
                {"operation": "VenueSearchList", "variables": search},
                # One fragment or none: the hash is the manifest's.
                {
                    "operation": "LogIn",
                    "variables": {"input": {"email": host.email, "password": PASSWORD}},
                },
                {
                    "operation": "VenueDetails",
                    "variables": {"id": encode_global_id("Venue", venue.id), "bookings": 3},
                    "accept": "json",
                },
                # Apollo's ways to use the manifest's ids: sorted at run time, or by name.
                {"operation": "Viewer", "ids": "runtime", "signedIn": True},
                {"operation": "MyBookings", "ids": "manifest", "signedIn": True},
                # Not in the manifest: a GraphQL error with its code, whatever the media type.
                {"document": sneaky},
                {"document": sneaky, "accept": "json"},
            ],
        )

    assert report["version"].startswith("4."), report["version"]
    (search_first, search_again, log_in, details, viewer, my_bookings, refused, refused_json) = (
        report["results"]
    )
    for result in (search_first, search_again, log_in, details, viewer, my_bookings):
        assert result["ok"], result

    venues = search_first["data"]["venues"]
    assert venues["__typename"] == "VenueListConnection"
    assert [edge["node"]["name"] for edge in venues["edges"]] == [venue.name]
    assert venues["edges"][0]["node"]["__typename"] == "Venue"
    assert _statuses(search_first) == [(HASH_ONLY, 404), (WITH_TEXT, 200)]
    assert search_again["data"] == search_first["data"]
    assert _statuses(search_again) == [(HASH_ONLY, 200)]

    assert log_in["data"]["logIn"]["user"]["__typename"] == "User"
    assert _statuses(log_in) == [(HASH_ONLY, 200)]
    assert details["data"]["venue"]["name"] == venue.name
    assert details["exchanges"][0]["contentType"] == "application/json"
    assert _statuses(details) == [(HASH_ONLY, 200)]
    assert viewer["data"]["viewer"]["email"] == host.email
    assert _statuses(viewer) == [(HASH_ONLY, 200)]
    assert my_bookings["data"]["bookings"]["totalCount"] == 0
    assert _statuses(my_bookings) == [(HASH_ONLY, 200)]

    for result in (refused, refused_json):
        assert not result["ok"]
        assert result["error"]["kind"] == "graphql", result["error"]
        assert result["error"]["codes"] == ["PERSISTED_QUERY_NOT_ALLOWED"]
    # Apollo reads application/graphql-response+json at any status, application/json at 2xx.
    assert _statuses(refused) == [(HASH_ONLY, 404), (WITH_TEXT, 403)]
    assert _statuses(refused_json) == [(HASH_ONLY, 200), (WITH_TEXT, 200)]


def test_the_apollo_manifest_is_read_as_written(apollo_manifest):
    written = json.loads(apollo_manifest.read_text(encoding="utf-8"))
    documents = load_manifest(apollo_manifest)

    assert written["format"] == "apollo-persisted-query-manifest"
    names = sorted(operation["name"] for operation in written["operations"])
    assert names == sorted(path.stem for path in OPERATIONS_DIR.glob("[A-Z]*.graphql"))
    for operation in written["operations"]:
        assert "__typename" in operation["body"]
        assert operation["id"] == hashlib.sha256(operation["body"].encode()).hexdigest()
        assert documents[operation["id"]] == operation["body"]


async def test_codegen_persisted_documents_run_by_document_id(session, codegen):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Codegen Court", city="Codegenville")
    written = json.loads(codegen.manifest.read_text(encoding="utf-8"))
    ids = codegen.document_ids

    assert sorted(ids) == sorted(path.stem for path in OPERATIONS_DIR.glob("[A-Z]*.graphql"))
    assert set(ids.values()) == set(written)
    for document_id, document in written.items():
        assert document_id == "sha256:" + hashlib.sha256(document.encode()).hexdigest()

    venue_id = encode_global_id("Venue", venue.id)
    async with serving(
        session, persisted_documents_manifests=(codegen.manifest,), **PRODUCTION
    ) as client:
        by_post = await client.post(
            "/graphql",
            json={
                "documentId": ids["VenueSearchList"],
                "variables": {"filter": {"city": "Codegenville"}},
            },
        )
        by_get = await client.get(
            "/graphql",
            params={
                "documentId": ids["VenueDetails"],
                "variables": json.dumps({"id": venue_id, "bookings": 1}),
            },
        )
        mutation = await client.post(
            "/graphql",
            json={
                "documentId": ids["LogIn"],
                "variables": {"input": {"email": host.email, "password": "wrong password"}},
            },
        )
        mutation_by_get = await client.get("/graphql", params={"documentId": ids["LogOut"]})
        unknown = await client.post(
            "/graphql", json={"documentId": "sha256:" + hashlib.sha256(b"nope").hexdigest()}
        )

    assert by_post.status_code == 200, by_post.text
    assert [e["node"]["name"] for e in by_post.json()["data"]["venues"]["edges"]] == [
        "Codegen Court"
    ]
    assert by_get.status_code == 200, by_get.text
    assert by_get.json()["data"]["venue"]["name"] == "Codegen Court"
    # The mutation ran: it is refused by the resolver, not by the allow-list.
    assert mutation.status_code == 200
    assert mutation.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert mutation_by_get.status_code == 405
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
