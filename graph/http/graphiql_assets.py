"""Copy GraphiQL's scripts and styles from npm into graph/static/graphiql/, checked by hash.

Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from a CDN, each with
an SRI `integrity` hash. `fetch` reads those URLs and hashes from the installed Strawberry,
fetches the same package versions with `npm pack`, extracts only the referenced files (laid out
as the CDN's paths: `graphiql@3.8.3/graphiql.min.js`) and keeps each one only when its sha384
equals the page's hash. The app then serves GraphiQL from them (graph/http/graphiql.py).

Two callers: `scripts/fetch_graphiql_assets.py` (the bootstrap runs it; as root on Debian it
installs npm first) and `prepare_local_assets`, which the app calls once per process at
startup so that a server started without the bootstrap still serves GraphiQL locally, or says
in one line why the page will load from the CDN. Only the standard library is imported here:
the bootstrap runs this before anything else is warm.

Idempotent: when every file is present with the right hash it only hashes them (milliseconds).
Files of other versions left from an older Strawberry are removed.
"""

import argparse
import base64
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "static" / "graphiql"
CDN = "https://unpkg.com/"
# `react@18.2.0/umd/x.js`, `@graphiql/plugin-explorer@1.0.2/dist/style.css`
_CDN_PATH = re.compile(r"(?P<package>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<file>.+)")
NPM_TIMEOUT_SECONDS = 300
# A server waits this long for npm at startup before it gives up and uses the CDN.
STARTUP_NPM_TIMEOUT_SECONDS = 90
EXIT_FAILED = 1
EXIT_NO_NPM = 2

logger = logging.getLogger("graph.graphiql")


class FetchError(Exception):
    """A step failed; the message says which and what to do."""

    def __init__(self, message: str, exit_status: int = EXIT_FAILED) -> None:
        """`message` for the user; `exit_status` for the caller."""
        super().__init__(message)
        self.exit_status = exit_status


@dataclass(frozen=True)
class Asset:
    """One file the page loads: its CDN path (also its path under the destination) and hash."""

    path: str
    package: str
    version: str
    file: str
    integrity: str

    @property
    def spec(self) -> str:
        """The npm package spec, `name@version`."""
        return f"{self.package}@{self.version}"


class _AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[Asset] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") if tag == "script" else attributes.get("href")
        if tag not in {"script", "link"} or not url or not url.startswith(CDN):
            return
        path = url.removeprefix(CDN)
        match = _CDN_PATH.fullmatch(path)
        integrity = attributes.get("integrity") or ""
        if match is None or not integrity.startswith("sha384-"):
            message = f"unexpected asset reference in Strawberry's GraphiQL page: {url}"
            raise FetchError(message)
        self.assets.append(Asset(path=path, integrity=integrity, **match.groupdict()))


def strawberry_page() -> Path:
    """Strawberry's GraphiQL page, found without importing Strawberry (that takes a while)."""
    spec = importlib.util.find_spec("strawberry")
    if spec is None or not spec.submodule_search_locations:
        message = "strawberry-graphql is not installed in this Python: run uv sync"
        raise FetchError(message)
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "graphiql.html"


def page_assets(page: Path) -> list[Asset]:
    """Every CDN file the page loads, with its `integrity` value."""
    parser = _AssetParser()
    parser.feed(page.read_text(encoding="utf-8"))
    if not parser.assets:
        message = f"no CDN assets found in {page}"
        raise FetchError(message)
    return parser.assets


def sri(data: bytes) -> str:
    """The SRI value of `data`: `sha384-<base64 digest>`."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def is_current(dest: Path, asset: Asset) -> bool:
    """The file is in place with the page's hash."""
    target = dest / asset.path
    return target.is_file() and sri(target.read_bytes()) == asset.integrity


def find_npm(*, install: bool = True) -> str:
    """The npm executable; with `install`, installed from Debian's packages when root on Debian."""
    npm = shutil.which("npm")
    if npm:
        return npm
    apt_get = shutil.which("apt-get")
    if not install or os.geteuid() != 0 or apt_get is None:
        message = "npm is not installed: install Node.js with npm (Debian: apt-get install npm)"
        raise FetchError(message, EXIT_NO_NPM)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install_npm = [apt_get, "install", "-y", "-qq", "--no-install-recommends", "npm"]
    if subprocess.run(install_npm, env=env, capture_output=True, check=False).returncode != 0:  # noqa: S603 - fixed arguments
        subprocess.run([apt_get, "update", "-qq"], env=env, capture_output=True, check=False)  # noqa: S603 - fixed arguments
        subprocess.run(install_npm, env=env, capture_output=True, check=False)  # noqa: S603 - fixed arguments
    npm = shutil.which("npm")
    if npm is None:
        message = "npm is not installed and apt-get install npm failed"
        raise FetchError(message, EXIT_NO_NPM)
    return npm


def npm_pack(
    specs: list[str], into: Path, *, npm: str, timeout: float = NPM_TIMEOUT_SECONDS
) -> dict[str, Path]:
    """Download each `name@version` tarball with `npm pack`; map spec -> tarball."""
    # --prefer-offline: tarballs already in npm's cache are taken from there, without a request.
    options = ["--json", "--silent", "--prefer-offline", "--pack-destination", str(into)]
    try:
        result = subprocess.run(  # noqa: S603 - npm with package specs read from Strawberry's page
            [npm, "pack", *specs, *options],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"npm pack took over {timeout:.0f} s (is the npm registry reachable?)"
        raise FetchError(message) from None
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        message = f"npm pack {' '.join(specs)} failed: {detail}"
        raise FetchError(message)
    packed = json.loads(result.stdout)
    return {f"{entry['name']}@{entry['version']}": into / entry["filename"] for entry in packed}


def extract(tarball: Path, file: str) -> bytes:
    """One file of an npm tarball; its top folder (usually `package/`) is skipped."""
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            top, _, rest = member.name.partition("/")
            if top and rest == file and member.isfile():
                handle = archive.extractfile(member)
                if handle is not None:
                    return handle.read()
    message = f"{tarball.name} has no {file}"
    raise FetchError(message)


def write_atomically(target: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so no reader sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(target)


def remove_stale(dest: Path, assets: list[Asset]) -> None:
    """Delete files under `dest` that the page no longer loads (an older Strawberry's)."""
    wanted = {dest / asset.path for asset in assets}
    for path in sorted(dest.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def fetch(dest: Path, *, install_npm: bool = True, timeout: float = NPM_TIMEOUT_SECONDS) -> str:
    """Bring `dest` up to date; returns a one-line summary.

    Without `install_npm` a missing npm is reported (`EXIT_NO_NPM`), never installed.
    """
    assets = page_assets(strawberry_page())
    missing = [asset for asset in assets if not is_current(dest, asset)]
    if dest.is_dir():
        remove_stale(dest, assets)
    if not missing:
        return f"GraphiQL assets up to date ({len(assets)} files in {dest})"
    specs = sorted({asset.spec for asset in missing})
    npm = find_npm(install=install_npm)
    with tempfile.TemporaryDirectory(prefix="graphiql-assets-") as scratch:
        tarballs = npm_pack(specs, Path(scratch), npm=npm, timeout=timeout)
        for asset in missing:
            if asset.spec not in tarballs:
                message = f"npm pack did not return {asset.spec}"
                raise FetchError(message)
            data = extract(tarballs[asset.spec], asset.file)
            actual = sri(data)
            if actual != asset.integrity:
                message = (
                    f"{asset.spec}/{asset.file}: sha384 is {actual}, "
                    f"Strawberry's page expects {asset.integrity}; nothing written for it"
                )
                raise FetchError(message)
            write_atomically(dest / asset.path, data)
    return f"GraphiQL assets fetched: {len(missing)} of {len(assets)} files ({', '.join(specs)})"


@dataclass(frozen=True)
class Preparation:
    """What `prepare_local_assets` found: whether GraphiQL is served locally, and a summary."""

    local: bool
    summary: str


def prepare_local_assets(dest: Path = DEFAULT_DEST) -> Preparation:
    """GraphiQL's assets in `dest`, fetched with npm if missing; once per process and folder.

    Called when the app is built, before the endpoint decides which page to serve. It never
    installs npm and waits at most `STARTUP_NPM_TIMEOUT_SECONDS`; when the files cannot be had
    it logs one warning saying why the page will load them from the CDN.
    """
    return _prepare(dest.resolve())


@cache
def _prepare(dest: Path) -> Preparation:
    try:
        assets = page_assets(strawberry_page())
        if all(is_current(dest, asset) for asset in assets):
            return Preparation(local=True, summary=f"GraphiQL assets up to date in {dest}")
        if shutil.which("npm") is None:
            reason = (
                f"they are not in {dest} and npm is not installed (install Node.js with npm;"
                " scripts/fetch_graphiql_assets.py does, as root on Debian)"
            )
        else:
            logger.warning("GraphiQL's scripts are not in %s: fetching them with npm", dest)
            summary = fetch(dest, install_npm=False, timeout=STARTUP_NPM_TIMEOUT_SECONDS)
            logger.info("%s", summary)
            return Preparation(local=True, summary=summary)
    except FetchError as error:
        reason = str(error)
    except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    summary = f"GraphiQL will load its scripts from {CDN}: {reason}"
    logger.warning("%s", summary)
    return Preparation(local=False, summary=summary)


def main(argv: list[str] | None = None) -> int:
    """Run from the command line; prints one line, the exit status says how it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="target folder")
    args = parser.parse_args(argv)
    try:
        summary = fetch(args.dest)
    except FetchError as error:
        sys.stderr.write(f"fetch_graphiql_assets: {error}\n")
        return error.exit_status
    except (OSError, subprocess.SubprocessError, tarfile.TarError, ValueError) as error:
        sys.stderr.write(f"fetch_graphiql_assets: {type(error).__name__}: {error}\n")
        return EXIT_FAILED
    sys.stdout.write(f"{summary}\n")
    return 0
