"""A typed Python client generates from `schema.graphql` + `graph/operations`, and works.

The client has one method per operation, shared fragments become shared models, a consumer
using several operations type-checks under mypy --strict (and misuse does not), and the client
signs in and reads the app over HTTP.

ariadne-codegen 0.19 requires graphql-core < 3.3 and strawberry 0.341 needs 3.3, so the
generator runs in its own throwaway environment (`uv tool run`), never in the project's.
The generated package needs only pydantic and httpx, which the project has.
"""

import importlib
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from graph.core.global_id import encode_global_id
from models import auth
from tests.factories import make_booking, make_media, make_user, make_venue

ROOT = Path(__file__).resolve().parents[3]
ARIADNE_CODEGEN = "ariadne-codegen==0.19.0"
PACKAGE = "sartiq_codegen_client"

CONSUMER = f"""
import datetime as dt
from decimal import Decimal

from {PACKAGE} import (
    BookingStatus,
    Client,
    CreateBookingInput,
    DecimalRangeInput,
    LogInInput,
    VenueFilter,
    VenueOrder,
)


async def sign_in(client: Client, email: str, password: str) -> str:
    result = await client.log_in(input=LogInInput(email=email, password=password))
    token: str = result.log_in.token
    return token


async def affordable(client: Client, city: str, after: str | None) -> tuple[list[str], str | None]:
    result = await client.venue_search_list(
        filter_=VenueFilter(city=city, hourly_rate=DecimalRangeInput(max=Decimal("80"))),
        order_by=VenueOrder.HOURLY_RATE_ASC,
        first=10,
        after=after,
    )
    page = result.venues
    cards = [f"{{e.node.name}}: {{e.node.hourly_rate}} {{e.node.currency}}" for e in page.edges]
    return cards, page.page_info.end_cursor if page.page_info.has_next_page else None


async def book(client: Client, venue_id: str, start: dt.datetime) -> tuple[str, Decimal]:
    end = start + dt.timedelta(hours=2)
    result = await client.create_booking(
        input=CreateBookingInput(venue_id=venue_id, starts_at=start, ends_at=end)
    )
    booking = result.create_booking.booking
    assert booking.status is BookingStatus.PENDING
    return booking.id, booking.amount


async def guest_names(client: Client, venue_id: str) -> list[str]:
    result = await client.venue_details(id=venue_id, bookings=5)
    assert result.venue is not None
    names: list[str] = []
    for edge in result.venue.bookings.edges:
        user = edge.node.user
        if user is not None:
            names.append(user.display_name)
    return names


# Each `type: ignore` below is reported as unused unless mypy sees the error it names.
async def misspelt(client: Client, venue_id: str) -> object:
    result = await client.venue_details(id=venue_id, bookings=5)
    assert result.venue is not None
    return result.venue.nmae  # type: ignore[attr-defined]


async def token_as_number(client: Client) -> int:
    result = await client.log_in(input=LogInInput(email="a@example.test", password="secret"))
    return result.log_in.token  # type: ignore[return-value]


async def wrong_input(client: Client, venue_id: str) -> object:
    return await client.create_booking(input=VenueFilter(city=venue_id))  # type: ignore[arg-type]


def start_as_text(venue: str, end: dt.datetime) -> CreateBookingInput:
    return CreateBookingInput(venue_id=venue, starts_at="9", ends_at=end)  # type: ignore[arg-type]
"""


def snake_case(name: str) -> str:
    """How ariadne-codegen names an operation's method: `VenueSearchList` -> `venue_search_list`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def operation_names() -> list[str]:
    names: list[str] = []
    for path in sorted((ROOT / "graph" / "operations").rglob("*.graphql")):
        document = parse(path.read_text(encoding="utf-8"))
        names.extend(
            d.name.value
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode) and d.name is not None
        )
    return names


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


def test_generated_client_has_a_method_per_operation(client_module):
    names = operation_names()
    # The demo frontend's screens (more may come).
    assert set(names) >= {
        "SignUp",
        "LogIn",
        "LogOut",
        "Viewer",
        "UpdateProfile",
        "UpdatePreferences",
        "VenueSearchList",
        "VenueDetails",
        "MyBookings",
        "CreateBooking",
        "CancelBooking",
        "ConfirmBooking",
        "HostDashboard",
        "AddVenueMedia",
        "VenueHistory",
        "RevokeSession",
    }

    for name in names:
        method = getattr(client_module.Client, snake_case(name))
        assert inspect.iscoroutinefunction(method), name
        # Each method returns the model generated for its operation's result.
        assert inspect.signature(method).return_annotation is getattr(client_module, name)


def test_generated_client_takes_typed_inputs(client_module):
    def parameters(method_name):
        return list(inspect.signature(getattr(client_module.Client, method_name)).parameters)

    assert parameters("log_in") == ["self", "input", "kwargs"]
    assert parameters("log_out") == ["self", "kwargs"]
    assert parameters("venue_search_list") == [
        "self",
        "filter_",
        "order_by",
        "first",
        "after",
        "kwargs",
    ]
    booking_input = client_module.CreateBookingInput.model_fields
    assert {name: f.alias or name for name, f in booking_input.items()} == {
        "venue_id": "venueId",
        "starts_at": "startsAt",
        "ends_at": "endsAt",
        "notes": "notes",
    }
    assert {m.name for m in client_module.VenueOrder} >= {"HOURLY_RATE_ASC", "NAME_ASC"}


def test_shared_fragments_are_shared_models(client_module):
    # A venue card is one class whatever screen shows it.
    assert issubclass(client_module.VenueSearchListVenuesEdgesNode, client_module.VenueCard)
    assert issubclass(client_module.MyBookingsBookingsEdgesNodeVenue, client_module.VenueCard)
    assert issubclass(client_module.MyBookingsBookingsEdgesNode, client_module.BookingFields)
    assert set(client_module.VenueCard.model_fields) == {
        "id",
        "name",
        "city",
        "country",
        "latitude",
        "longitude",
        "hourly_rate",
        "currency",
        "owner",
    }
    assert client_module.LogInLogInSession is client_module.SessionFields


def test_generated_client_has_venue_details(client_module):
    method = client_module.Client.venue_details
    assert inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["self", "id", "bookings", "kwargs"]

    venue = client_module.VenueDetailsVenue.model_fields
    assert {name: f.alias or name for name, f in venue.items()} == {
        "id": "id",
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
    assert set(client_module.VenueDetailsVenueOwner.model_fields) == {"id", "display_name"}
    assert set(client_module.VenueDetailsVenueMediaEdgesNode.model_fields) == {
        "id",
        "title",
        "width",
        "height",
    }
    assert {m.name for m in client_module.BookingStatus} >= {"PENDING", "CONFIRMED"}


def test_generated_client_type_checks_strictly(generated):
    (generated / "consumer.py").write_text(CONSUMER, encoding="utf-8")
    # ariadne-codegen's transport boilerplate has an untyped optional-websockets fallback; the
    # operation methods, the models and their use are what frontends rely on, strictly checked.
    # The consumer's `type: ignore`s are reported as unused unless mypy sees their errors.
    # pydantic's plugin lets inputs be built by field name (`venue_id=`), as at run time, with
    # typed arguments and no unknown ones.
    (generated / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\nwarn_unused_ignores = True\nplugins = pydantic.mypy\n"
        f"[pydantic-mypy]\ninit_typed = True\ninit_forbid_extra = True\n"
        f"[mypy-{PACKAGE}.async_base_client]\nignore_errors = True\n",
        encoding="utf-8",
    )
    mypy = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini"]
    cache = ["--cache-dir", str(generated / ".mypy_cache")]
    result = run([*mypy, *cache, PACKAGE, "consumer.py"], cwd=generated)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_generated_client_logs_in_then_reads_the_server(session, app, client_module):
    venue = await make_venue(session, name="Harbour Hall", city="Porto")
    guest = await make_user(
        session,
        email="gus@example.test",
        display_name="Gus Guest",
        password_hash=await auth.hash_password("correct horse battery"),
    )
    booking = await make_booking(session, venue=venue, user=guest, status="confirmed")
    await make_booking(session, venue=venue)  # someone else's: hidden from Gus
    await make_media(session, venue=venue, title="Main hall")
    venue_id = encode_global_id("Venue", venue.id)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        client = client_module.Client(url="http://test/graphql", http_client=http)
        logged_in = await client.log_in(
            input=client_module.LogInInput(
                email="GUS@example.test", password="correct horse battery"
            )
        )
        token = logged_in.log_in.token
        signed_out = await client.venue_details(id=venue_id, bookings=5)
        result = await client.venue_details(
            id=venue_id, bookings=5, headers={"Authorization": f"Bearer {token}"}
        )

    assert logged_in.log_in.user.id == encode_global_id("User", guest.id)
    assert logged_in.log_in.user.email == "gus@example.test"
    assert logged_in.log_in.session.current is False
    # Signed out, no booking of the venue is visible; with Gus's token, his own is.
    assert signed_out.venue.bookings.edges == []
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
