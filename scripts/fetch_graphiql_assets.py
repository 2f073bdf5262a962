"""Copy GraphiQL's scripts and styles from npm into graph/static/graphiql/, checked by hash.

Strawberry's GraphiQL page loads React, GraphiQL and its explorer plugin from a CDN, each with
an SRI `integrity` hash. This script reads those URLs and hashes from the installed Strawberry,
fetches the same package versions with `npm pack`, extracts only the referenced files (laid out
as the CDN's paths: `graphiql@3.8.3/graphiql.min.js`) and keeps each one only when its sha384
equals the page's hash. The app then serves GraphiQL from them (graph/http/graphiql.py).

Idempotent: when every file is present with the right hash it only hashes them (milliseconds).
Files of other versions left from an older Strawberry are removed. Without npm it installs
Debian's `npm` when run as root on Debian, else exits 2 saying so (GraphiQL then uses the CDN).

Exit status: 0 ready, 1 failed (a download or a hash), 2 npm unavailable.
"""  # noqa: INP001 - a script run by path, not a package

import argparse
import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = ROOT / "graph" / "static" / "graphiql"
CDN = "https://unpkg.com/"
# `react@18.2.0/umd/x.js`, `@graphiql/plugin-explorer@1.0.2/dist/style.css`
_CDN_PATH = re.compile(r"(?P<package>(?:@[^/@]+/)?[^/@]+)@(?P<version>[^/]+)/(?P<file>.+)")
NPM_TIMEOUT_SECONDS = 300
EXIT_FAILED = 1
EXIT_NO_NPM = 2


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


def find_npm() -> str:
    """The npm executable, installed from Debian's packages when root on Debian."""
    npm = shutil.which("npm")
    if npm:
        return npm
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        message = "npm is not installed: install Node.js with npm (Debian: apt-get install npm)"
        raise FetchError(message, EXIT_NO_NPM)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "-qq", "--no-install-recommends", "npm"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:  # noqa: S603 - fixed arguments
        subprocess.run([apt_get, "update", "-qq"], env=env, capture_output=True, check=False)  # noqa: S603 - fixed arguments
        subprocess.run(install, env=env, capture_output=True, check=False)  # noqa: S603 - fixed arguments
    npm = shutil.which("npm")
    if npm is None:
        message = "npm is not installed and apt-get install npm failed"
        raise FetchError(message, EXIT_NO_NPM)
    return npm


def npm_pack(specs: list[str], into: Path) -> dict[str, Path]:
    """Download each `name@version` tarball with `npm pack`; map spec -> tarball."""
    command = [find_npm(), "pack", *specs, "--json", "--silent", "--pack-destination", str(into)]
    result = subprocess.run(  # noqa: S603 - npm with package specs read from Strawberry's page
        command, capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS, check=False
    )
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


def fetch(dest: Path) -> str:
    """Bring `dest` up to date; returns a one-line summary."""
    assets = page_assets(strawberry_page())
    missing = [asset for asset in assets if not is_current(dest, asset)]
    if dest.is_dir():
        remove_stale(dest, assets)
    if not missing:
        return f"GraphiQL assets up to date ({len(assets)} files in {dest})"
    specs = sorted({asset.spec for asset in missing})
    with tempfile.TemporaryDirectory(prefix="graphiql-assets-") as scratch:
        tarballs = npm_pack(specs, Path(scratch))
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


if __name__ == "__main__":
    sys.exit(main())
