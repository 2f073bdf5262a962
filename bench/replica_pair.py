"""A throwaway PostgreSQL primary and its streaming replica, on this machine, for tests and bench.

The shared cluster on 5432 holds multi-GB benchmark databases and its `pg_hba.conf` is not
ours to edit, so it is never replicated: `initdb` makes a small primary in a temporary
directory (trust authentication, replication allowed from localhost, which initdb's
defaults give), the database is created and migrated there, and `pg_basebackup -R` copies it
into a replica started on a port of its own. Both run as the `postgres` OS user (PostgreSQL
refuses root) and are stopped and deleted by `close`, also after a failure. About two
seconds to start on a 2-core machine.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.run import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "psql")

# Durability is not what is tested: no fsync. The replica replays as it receives; hot standby
# answers reads. pg_stat_statements counts each server's statements (tests and bench).
_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 4
hot_standby = on
hot_standby_feedback = on
max_connections = 200
shared_buffers = 64MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
jit = off
"""


class ReplicationUnavailableError(RuntimeError):
    """This machine cannot make a replica (no PostgreSQL 15 server binaries, or no runuser)."""


def missing_tools() -> str | None:
    """Why a pair cannot be made here, or None when it can."""
    for tool in TOOLS:
        if not (BIN / tool).exists():
            return f"{BIN / tool} is missing (PostgreSQL 15 server binaries)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (needed to run PostgreSQL as postgres when root)"
    return None


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], *, timeout: float = 60) -> None:
    completed = subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
        _as_postgres(command), capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        message = f"{' '.join(command)} failed: {completed.stderr.strip() or completed.stdout}"
        raise RuntimeError(message)


@dataclass
class Server:
    """One cluster of the pair: its data directory and port."""

    data: Path
    port: int
    log: Path
    running: bool = False

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        _run([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"])
        self.running = True

    def stop(self) -> None:
        """Stop it fast (open connections are cut), waiting until it is down."""
        if self.running:
            _run([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
            self.running = False

    def url(self, database: str, *, driver: str = "postgresql+asyncpg") -> str:
        """A URL of `database` on this server."""
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"


@dataclass
class ReplicaPair:
    """A running primary and its streaming replica, and the database made on them."""

    root: Path
    primary: Server
    replica: Server
    database: str
    closed: bool = field(default=False)

    def url(self, server: Server, *, driver: str = "postgresql+asyncpg") -> str:
        """The database's URL on `server`."""
        return server.url(self.database, driver=driver)

    def close(self) -> None:
        """Stop both servers and delete their directories."""
        if self.closed:
            return
        self.closed = True
        for server in (self.replica, self.primary):
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _write_settings(data: Path, port: int, sockets: Path) -> None:
    conf = data / "postgresql.conf"
    with conf.open("a") as settings:
        settings.write(_SETTINGS.format(port=port, sockets=sockets))


def start_pair(database: str) -> ReplicaPair:
    """A new primary with `database` (empty), started; the caller migrates, then `replicate`.

    Raises ReplicationUnavailableError when this machine cannot run one.
    """
    reason = missing_tools()
    if reason is not None:
        raise ReplicationUnavailableError(reason)
    root = Path(tempfile.mkdtemp(prefix="sartiq-replicas-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    primary = Server(root / "primary", free_port(), root / "primary.log")
    replica = Server(root / "replica", free_port(), root / "replica.log")
    pair = ReplicaPair(root, primary, replica, database)
    try:
        _run(
            [
                str(BIN / "initdb"),
                "-D",
                str(primary.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        _write_settings(primary.data, primary.port, root)
        primary.start()
        psql = [str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        _run([*psql, "-d", "postgres", "-qc", f'CREATE DATABASE "{database}"'])
        _run([*psql, "-d", database, "-qc", "CREATE EXTENSION pg_stat_statements"])
    except BaseException:
        pair.close()
        raise
    return pair


def replicate(pair: ReplicaPair) -> None:
    """Copy the primary into the replica's directory with `pg_basebackup -R` and start it."""
    try:
        _run(
            [
                str(BIN / "pg_basebackup"),
                "-R",
                "-D",
                str(pair.replica.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(pair.primary.port),
                "-U",
                "postgres",
                "-c",
                "fast",
            ],
            timeout=300,
        )
        # The copy carries the primary's settings: only the port differs (appended last wins).
        with (pair.replica.data / "postgresql.conf").open("a") as settings:
            settings.write(f"port = {pair.replica.port}\n")
        pair.replica.start()
    except BaseException:
        pair.close()
        raise


@contextlib.contextmanager
def replica_pair(database: str, migrate: Callable[[str], None]) -> Iterator[ReplicaPair]:
    """A primary with `database` migrated by `migrate(url)`, its replica; both gone after."""
    pair = start_pair(database)
    try:
        migrate(pair.url(pair.primary))
        replicate(pair)
        yield pair
    finally:
        pair.close()
