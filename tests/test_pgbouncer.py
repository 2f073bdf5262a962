"""The API behind a real PgBouncer in transaction pooling mode.

PgBouncer hands each transaction whichever server connection is free, so anything tied to
one server session breaks: prepared statements (asyncpg names them per client connection)
and session settings sent at connect time. `DB_PGBOUNCER=true` turns those off; these tests
run a representative part of the API through Debian's `pgbouncer` with it, and show the
same run failing without it.

The rows are committed through the `engine` fixture (PgBouncer's server connections cannot
see the test's rolled-back transaction) and deleted afterwards.
"""

import asyncio
import datetime as dt
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models.settings import Settings
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue

PGBOUNCER = "/usr/sbin/pgbouncer"
# Fewer server connections than the app's pool: every client connection meets several.
SERVER_POOL_SIZE = 3
BOOKINGS = 4

VENUE_PAGE = """
query VenuePage($id: ID!) {
  venue(id: $id) {
    name
    owner { displayName }
    bookings(first: 10) {
      totalCount
      edges { node { status user { displayName } venue { owner { displayName } } } }
    }
    media(first: 5) { edges { node { title } } }
  }
}
"""
MY_BOOKINGS = """
query Mine($status: [BookingStatus!]) {
  bookings(filter: {status: $status}, orderBy: STARTS_AT_ASC, first: 10) {
    totalCount
    edges { node { status venue { name owner { displayName } } } }
  }
}
"""
CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status } }
}
"""


def _ensure_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or (PGBOUNCER if Path(PGBOUNCER).exists() else None)
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("pgbouncer is not installed and this is not root on Debian (apt-get pgbouncer)")
    environment = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "pgbouncer"],  # noqa: S607 - the system's apt-get
        check=True,
        capture_output=True,
        env=environment,
        timeout=600,
    )
    return PGBOUNCER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"pgbouncer exited: {stderr} {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    pytest.fail("pgbouncer did not listen within 10 s")


@dataclass(frozen=True)
class Bouncer:
    """A running PgBouncer: the URL the app connects to through it."""

    url: str
    log: Path


StartBouncer = Callable[..., Bouncer]


@pytest.fixture(scope="module")
def start_pgbouncer(test_database) -> Iterator[StartBouncer]:
    """Start PgBouncers (transaction mode) in front of the test database; stop them all after."""
    binary = _ensure_pgbouncer()
    target = make_url(test_database.url)
    user = target.username or "postgres"
    processes: list[subprocess.Popen[bytes]] = []
    # Not under pytest's tmp dir: that one is private to root, and PgBouncer runs as postgres.
    directories: list[Path] = []

    def start(*, ignore_startup_parameters: str = "") -> Bouncer:
        directory = Path(tempfile.mkdtemp(prefix="sartiq-pgbouncer-"))
        directories.append(directory)
        port = _free_port()
        server = f"host=127.0.0.1 port={target.port or 5432} dbname={target.database} user={user}"
        if target.password:
            server += f" password={target.password}"
        (directory / "userlist.txt").write_text(f'"{user}" ""\n')
        log = directory / "pgbouncer.log"
        (directory / "pgbouncer.ini").write_text(
            f"[databases]\n{target.database} = {server}\n\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
            f"pool_mode = transaction\ndefault_pool_size = {SERVER_POOL_SIZE}\n"
            f"max_client_conn = 200\nlogfile = {log}\n"
            f"ignore_startup_parameters = {ignore_startup_parameters}\n"
        )
        command = [binary, str(directory / "pgbouncer.ini")]
        if os.geteuid() == 0:
            # PgBouncer refuses to run as root: run it as postgres, who must read its files.
            shutil.chown(directory, "postgres")
            for path in directory.iterdir():
                shutil.chown(path, "postgres")
            command[1:1] = ["-u", "postgres"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603 - fixed arguments
        processes.append(process)
        _wait_for_port(port, process, log)
        url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        return Bouncer(url=url, log=log)

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Committed:
    """A host's venue with bookings and media, and a guest who booked it, with tokens."""

    venue_id: uuid.UUID
    guest_token: str
    guest_name: str
    host_name: str
    free_from: dt.datetime


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[Committed]:
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        host = await make_user(setup, role="host")
        guest = await make_user(setup)
        venue = await make_venue(setup, owner=host)
        for _ in range(BOOKINGS):
            await make_booking(setup, user=guest, venue=venue)
        await make_media(setup, owner=host, venue=venue)
        token = f"guest-{uuid.uuid4()}"
        await make_login_session(setup, user=guest, token=token)
        await setup.commit()
    try:
        yield Committed(
            venue_id=venue.id,
            guest_token=token,
            guest_name=guest.display_name,
            host_name=host.display_name,
            free_from=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3),
        )
    finally:
        async with engine.begin() as connection:
            bookings = await connection.execute(
                text("DELETE FROM bookings WHERE venue_id = :venue RETURNING id"),
                {"venue": venue.id},
            )
            media = await connection.execute(
                text("DELETE FROM media WHERE venue_id = :venue RETURNING id"), {"venue": venue.id}
            )
            users = [host.id, guest.id]
            record_ids = [*bookings.scalars(), *media.scalars(), venue.id, *users]
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = ANY(:users)"), {"users": users}
            )
            await connection.execute(text("DELETE FROM venues WHERE id = :id"), {"id": venue.id})
            await connection.execute(
                text("DELETE FROM users WHERE id = ANY(:users)"), {"users": users}
            )
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = ANY(:ids)"), {"ids": record_ids}
            )


@asynccontextmanager
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (its own engine and pool) behind an in-process HTTP client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _settings(url: str, *, pgbouncer: bool) -> Settings:
    return Settings(
        database_url=url,
        db_pgbouncer=pgbouncer,
        db_pool_size=10,
        db_max_overflow=0,
        db_pool_timeout_seconds=10,
    )


async def _representative_run(client: httpx.AsyncClient, data: Committed) -> dict[str, Any]:
    """Loaders at several depths, a filtered list, concurrent requests, two createBookings."""
    auth = {"Authorization": f"Bearer {data.guest_token}"}
    venue_id = encode_global_id("Venue", data.venue_id)

    async def post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=auth
        )
        body: dict[str, Any] = response.json()
        return body

    slot = {
        "venueId": venue_id,
        "startsAt": data.free_from.isoformat(),
        "endsAt": (data.free_from + dt.timedelta(hours=2)).isoformat(),
    }
    overlapping = slot | {"startsAt": (data.free_from + dt.timedelta(hours=1)).isoformat()}
    page = await post(VENUE_PAGE, {"id": venue_id})
    mine = await post(MY_BOOKINGS, {"status": ["PENDING"]})
    concurrent = await asyncio.gather(
        *(post(VENUE_PAGE, {"id": venue_id}) for _ in range(6)),
        *(post(MY_BOOKINGS, {"status": ["PENDING"]}) for _ in range(6)),
    )
    return {
        "page": page,
        "mine": mine,
        "concurrent": concurrent,
        "booked": await post(CREATE, {"input": slot}),
        "conflict": await post(CREATE, {"input": overlapping}),
    }


def _codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_the_api_answers_correctly_through_pgbouncer_in_transaction_mode(
    start_pgbouncer, committed, engine
):
    bouncer = start_pgbouncer()

    async with api(_settings(bouncer.url, pgbouncer=True)) as client:
        first = await _representative_run(client, committed)
        # A second round reuses every pooled client connection on other server connections.
        again = await _representative_run(client, committed)

    page, mine = first["page"], first["mine"]
    assert "errors" not in page, page
    venue = page["data"]["venue"]
    assert venue["owner"]["displayName"] == committed.host_name
    assert venue["bookings"]["totalCount"] == BOOKINGS
    assert {edge["node"]["user"]["displayName"] for edge in venue["bookings"]["edges"]} == {
        committed.guest_name
    }
    assert {
        edge["node"]["venue"]["owner"]["displayName"] for edge in venue["bookings"]["edges"]
    } == {committed.host_name}
    assert len(venue["media"]["edges"]) == 1
    assert mine["data"]["bookings"]["totalCount"] == BOOKINGS
    assert {edge["node"]["status"] for edge in mine["data"]["bookings"]["edges"]} == {"PENDING"}
    assert first["concurrent"] == [page] * 6 + [mine] * 6
    assert first["booked"]["data"]["createBooking"]["booking"]["status"] == "PENDING"
    assert _codes(first["conflict"]) == ["BOOKING_CONFLICT"]
    # Second round: the first round's booking shows everywhere, and its slot is taken.
    assert again["page"]["data"]["venue"]["bookings"]["totalCount"] == BOOKINGS + 1
    assert again["mine"]["data"]["bookings"]["totalCount"] == BOOKINGS + 1
    assert again["concurrent"] == [again["page"]] * 6 + [again["mine"]] * 6
    assert _codes(again["booked"]) == ["BOOKING_CONFLICT"]
    async with engine.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM bookings WHERE venue_id = :venue"),
            {"venue": committed.venue_id},
        )
    assert stored == BOOKINGS + 1


async def test_application_name_with_the_worker_passes_through_pgbouncer(start_pgbouncer):
    bouncer = start_pgbouncer()
    app = create_app(_settings(bouncer.url, pgbouncer=True))
    async with app.router.lifespan_context(app), app.state.engine.connect() as connection:
        name = await connection.scalar(text("SELECT current_setting('application_name')"))
    assert name == f"sartiq-graph/w{os.getpid()}"


async def test_without_the_setting_the_connections_are_refused(start_pgbouncer):
    bouncer = start_pgbouncer()
    app = create_app(_settings(bouncer.url, pgbouncer=False))
    async with app.router.lifespan_context(app):
        with pytest.raises(DBAPIError, match="unsupported startup parameter: statement_timeout"):
            async with app.state.engine.connect():
                pass


async def test_without_the_setting_prepared_statements_break(start_pgbouncer, committed, caplog):
    # Even with the session settings let through, asyncpg's prepared statements do not survive.
    bouncer = start_pgbouncer(
        ignore_startup_parameters=(
            "statement_timeout,idle_in_transaction_session_timeout,client_connection_check_interval,"
            "jit"
        )
    )
    caplog.set_level(logging.ERROR, logger="graph.errors")

    raised: list[str] = []
    bodies: list[dict[str, Any]] = []
    async with api(_settings(bouncer.url, pgbouncer=False)) as client:
        for _ in range(2):
            try:
                run = await _representative_run(client, committed)
            except DBAPIError as error:  # from authentication, before GraphQL masks errors
                raised.append(str(error))
            else:
                bodies += [run["page"], run["mine"], *run["concurrent"], run["booked"]]

    masked = [code for body in bodies for code in _codes(body) if code == "INTERNAL_SERVER_ERROR"]
    assert raised or masked, "every request succeeded without DB_PGBOUNCER"
    assert "prepared statement" in " ".join(raised) + caplog.text
