"""The GraphQL-over-HTTP audit of the `graphql-http` npm package, run against the served app.

`graphql-http`'s `serverAudits` is the reference implementation's conformance check of the
GraphQL over HTTP specification: each audit sends one request and names its rule with the
specification's level (MUST, SHOULD, MAY). The app is served with uvicorn on a free local
port, on the test database; node runs the audits from a folder npm installs the pinned
packages into (kept under the user's cache, so a second run does not reach the registry).
Every audit must pass, MAYs included. Skipped only when node or npm is missing.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from graph.http.app import create_app
from models.settings import Settings
from tests.graph.serving import served_over_tcp

PACKAGES = {"graphql-http": "1.23.1", "graphql": "16.15.0"}
NPM_TIMEOUT_SECONDS = 300
AUDIT_TIMEOUT_SECONDS = 120
# Runs every audit one after the other and prints one JSON array of results; for a failure,
# the status and the start of the body the server answered.
AUDIT_SCRIPT = """\
import { serverAudits } from 'graphql-http';

const results = [];
for (const audit of serverAudits({ url: process.argv[2] })) {
  const result = await audit.fn();
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.httpStatus = result.response.status;
    entry.contentType = result.response.headers.get('content-type');
    entry.body = await result.response.text().then((t) => t.slice(0, 300), () => '(read)');
  }
  results.push(entry);
}
console.log(JSON.stringify(results));
"""


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    versions = "-".join(f"{name}@{version}" for name, version in sorted(PACKAGES.items()))
    return base / "sartiq-graph" / f"audit-{versions}"


def _installed(folder: Path) -> bool:
    for name, version in PACKAGES.items():
        manifest = folder / "node_modules" / name / "package.json"
        if not manifest.is_file():
            return False
        if json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
            return False
    return True


@pytest.fixture(scope="module")
def audit_script() -> tuple[str, Path]:
    """node, and the audit script in a folder where `graphql-http` is installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the GraphQL-over-HTTP audit needs node and npm (Debian: apt-get install npm)")
    folder = _cache_dir()
    if not _installed(folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        result = subprocess.run(  # noqa: S603 - npm with the pinned package specs
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
                str(folder),
                *specs,
            ],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=False,
        )
        assert result.returncode == 0, f"npm install {' '.join(specs)} failed:\n{result.stderr}"
    script = folder / "audit.mjs"
    script.write_text(AUDIT_SCRIPT, encoding="utf-8")
    return node, script


def test_every_graphql_over_http_audit_passes(test_database, audit_script):
    node, script = audit_script
    application = create_app(Settings(database_url=test_database.url, graphiql=False))
    with served_over_tcp(application) as base_url:
        result = subprocess.run(  # noqa: S603 - node with our own script
            [node, str(script), f"{base_url}/graphql"],
            capture_output=True,
            text=True,
            timeout=AUDIT_TIMEOUT_SECONDS,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)

    by_level: dict[str, list[int]] = {}
    for entry in results:
        level = entry["name"].split(" ", 1)[0]
        passed, total = by_level.setdefault(level, [0, 0])
        by_level[level] = [passed + (entry["status"] == "ok"), total + 1]
    print(  # noqa: T201 - the summary `pytest -s` shows
        "graphql-http audit: "
        + ", ".join(f"{level} {passed}/{total}" for level, (passed, total) in by_level.items())
    )
    failed = [entry for entry in results if entry["status"] != "ok"]
    assert failed == [], "\n".join(
        f"{entry['id']} {entry['name']}: {entry['reason']} "
        f"(HTTP {entry['httpStatus']}, {entry['contentType']}: {entry['body']})"
        for entry in failed
    )
    assert len(results) > 50, "the audit ran fewer audits than graphql-http 1.23 has"
