"""A typed Python client generates from `schema.graphql` + `graph/operations`, and works.

ariadne-codegen 0.19 requires graphql-core < 3.3 and strawberry 0.341 needs 3.3, so the
generator runs in its own throwaway environment (`uv tool run`), never in the project's.
The generated package needs only pydantic and httpx, which the project has.
"""

import importlib
import inspect
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from graph.global_id import encode_global_id
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue

ROOT = Path(__file__).resolve().parents[2]
ARIADNE_CODEGEN = "ariadne-codegen==0.19.0"
PACKAGE = "sartiq_codegen_client"

CONSUMER = f"""
from {PACKAGE} import Client


async def guest_names(client: Client, venue_id: str) -> list[str]:
    result = await client.venue_details(id=venue_id, bookings=5)
    assert result.venue is not None
    names: list[str] = []
    for edge in result.venue.bookings.edges:
        user = edge.node.user
        if user is not None:
            names.append(user.display_name)
    return names


async def misspelt(client: Client, venue_id: str) -> object:
    result = await client.venue_details(id=venue_id, bookings=5)
    assert result.venue is not None
    return result.venue.nmae  # type: ignore[attr-defined]
"""


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed commands, paths made by the test
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """Generate the client package into a temporary folder; return that folder."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH; it runs ariadne-codegen in its own environment")
    out = tmp_path_factory.mktemp("codegen")
    config = out / "codegen.toml"
    config.write_text(
        textwrap.dedent(f"""
            [tool.ariadne-codegen]
            schema_path = "{ROOT / "schema.graphql"}"
            queries_path = "{ROOT / "graph" / "operations"}"
            target_package_name = "{PACKAGE}"
            target_package_path = "{out}"

            [tool.ariadne-codegen.scalars.DateTime]
            type = "datetime.datetime"

            [tool.ariadne-codegen.scalars.Decimal]
            type = "decimal.Decimal"
        """),
        encoding="utf-8",
    )
    codegen = [uv, "tool", "run", "--from", ARIADNE_CODEGEN, "ariadne-codegen"]
    result = run([*codegen, "--config", str(config), "client"], cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture
def client_module(generated):
    sys.path.insert(0, str(generated))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(generated))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_generated_client_has_venue_details(client_module):
    method = client_module.Client.venue_details
    assert inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["self", "id", "bookings", "kwargs"]

    venue = client_module.VenueDetailsVenue.model_fields
    assert {name: f.alias or name for name, f in venue.items()} == {
        "name": "name",
        "city": "city",
        "latitude": "latitude",
        "longitude": "longitude",
        "hourly_rate": "hourlyRate",
        "owner": "owner",
        "bookings": "bookings",
        "media": "media",
    }
    node = client_module.VenueDetailsVenueBookingsEdgesNode.model_fields
    assert set(node) == {"id", "starts_at", "ends_at", "status", "amount", "user"}
    assert set(client_module.VenueDetailsVenueMediaEdgesNode.model_fields) == {
        "title",
        "width",
        "height",
    }
    assert {m.name for m in client_module.BookingStatus} >= {"PENDING", "CONFIRMED"}


def test_generated_client_type_checks_strictly(generated):
    (generated / "consumer.py").write_text(CONSUMER, encoding="utf-8")
    # ariadne-codegen's transport boilerplate has an untyped optional-websockets fallback; the
    # operation methods, the models and their use are what frontends rely on, strictly checked.
    # The `type: ignore` on the misspelt field is reported as unused unless mypy sees the error.
    (generated / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\nwarn_unused_ignores = True\n"
        f"[mypy-{PACKAGE}.async_base_client]\nignore_errors = True\n",
        encoding="utf-8",
    )
    mypy = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini"]
    cache = ["--cache-dir", str(generated / ".mypy_cache")]
    result = run([*mypy, *cache, PACKAGE, "consumer.py"], cwd=generated)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_generated_client_reads_the_server(session, app, client_module):
    venue = await make_venue(session, name="Harbour Hall", city="Porto")
    guest = await make_user(session, display_name="Gus Guest")
    booking = await make_booking(session, venue=venue, user=guest, status="confirmed")
    await make_media(session, venue=venue, title="Main hall")
    await make_login_session(session, user=guest, token="guest-token")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": "Bearer guest-token"},
    ) as http:
        client = client_module.Client(url="http://test/graphql", http_client=http)
        result = await client.venue_details(id=encode_global_id("Venue", venue.id), bookings=5)

    assert result.venue.name == "Harbour Hall"
    assert result.venue.city == "Porto"
    assert result.venue.hourly_rate == venue.hourly_rate
    (edge,) = result.venue.bookings.edges
    assert edge.node.id == encode_global_id("Booking", booking.id)
    assert edge.node.starts_at == booking.starts_at
    assert edge.node.status == client_module.BookingStatus.CONFIRMED
    assert edge.node.user.display_name == "Gus Guest"
    assert result.venue.bookings.page_info.has_next_page is False
    assert [e.node.title for e in result.venue.media.edges] == ["Main hall"]
