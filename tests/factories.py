"""Factories: one per model, related rows passed explicitly, every column overridable by keyword.

Each factory adds its row, flushes (so ids, server defaults and constraints apply at once) and
returns the ORM object. Missing parents are created with their own factory, and defaults are
unique per call, so tests name only what they care about. Many-to-one relationships that the
models map (`Venue.owner`, `Booking.user`, `Booking.venue`, `Media.venue`) are set on the new
object, so reading them needs no load:

    venue = await make_venue(session, hourly_rate=Decimal("30.00"))
    booking = await make_booking(session, venue=venue, status="confirmed")
"""

import datetime as dt
import hashlib
import itertools
import secrets
from decimal import Decimal
from typing import Any, TypeVar

from geoalchemy2 import WKTElement
from sqlalchemy.ext.asyncio import AsyncSession

from models import Booking, LoginSession, Media, User, Venue

# Bookings without an explicit start get one day each from here, so they never overlap.
DEFAULT_BOOKINGS_FROM = dt.datetime(2030, 1, 7, 10, tzinfo=dt.UTC)

_sequence = itertools.count(1)

Row = TypeVar("Row")


def point(*, latitude: float, longitude: float) -> WKTElement:
    """A WGS 84 point for a geography column (WKT is longitude first)."""
    return WKTElement(f"POINT({longitude} {latitude})", srid=4326)


async def _persist(session: AsyncSession, row: Row) -> Row:
    session.add(row)
    await session.flush()
    return row


async def make_user(
    session: AsyncSession,
    *,
    role: str = "member",
    email: str | None = None,
    **fields: Any,
) -> User:
    """A user with a unique email; `preferences` defaults to the database's `{}`."""
    n = next(_sequence)
    defaults: dict[str, Any] = {"display_name": f"{role.title()} {n}"}
    user = User(role=role, email=email or f"{role}-{n}@example.test", **(defaults | fields))
    return await _persist(session, user)


async def make_venue(
    session: AsyncSession,
    *,
    owner: User | None = None,
    latitude: float = 48.8566,
    longitude: float = 2.3522,
    **fields: Any,
) -> Venue:
    """A venue in Paris at 50.00 EUR an hour, owned by `owner` or by a new host."""
    if owner is None:
        owner = await make_user(session, role="host")
    n = next(_sequence)
    defaults: dict[str, Any] = {
        "name": f"Venue {n}",
        "address": f"{n} Rue de Rivoli",
        "city": "Paris",
        "country": "FR",
        "hourly_rate": Decimal("50.00"),
        "currency": "EUR",
    }
    venue = Venue(
        owner=owner,
        location=point(latitude=latitude, longitude=longitude),
        **(defaults | fields),
    )
    return await _persist(session, venue)


async def make_booking(  # noqa: PLR0913 - the keywords every booking test varies
    session: AsyncSession,
    *,
    user: User | None = None,
    venue: Venue | None = None,
    starts_at: dt.datetime | None = None,
    hours: int | Decimal = 2,
    status: str = "pending",
    **fields: Any,
) -> Booking:
    """A booking of `venue` by `user` for `hours` from `starts_at`, priced at the venue's rate.

    Without `starts_at` each booking gets a day of its own, so defaults never overlap.
    """
    if user is None:
        user = await make_user(session)
    if venue is None:
        venue = await make_venue(session)
    if starts_at is None:
        starts_at = DEFAULT_BOOKINGS_FROM + dt.timedelta(days=next(_sequence))
    defaults: dict[str, Any] = {
        "ends_at": starts_at + dt.timedelta(hours=float(hours)),
        "amount": venue.hourly_rate * hours,
        "currency": venue.currency,
    }
    booking = Booking(
        user=user, venue=venue, starts_at=starts_at, status=status, **(defaults | fields)
    )
    return await _persist(session, booking)


async def make_media(
    session: AsyncSession,
    *,
    owner: User | None = None,
    venue: Venue | None = None,
    booking: Booking | None = None,
    resource_type: str = "IMAGE",
    **fields: Any,
) -> Media:
    """A 1920x1080 image (or video) of `owner` or a new user, of `venue`/`booking` if given."""
    if owner is None:
        owner = await make_user(session)
    n = next(_sequence)
    extension = fields.pop("extension", "mp4" if resource_type == "VIDEO" else "jpg")
    storage_key = fields.pop("storage_key", f"media/{n}-{secrets.token_hex(4)}.{extension}")
    defaults: dict[str, Any] = {
        "content_hash": hashlib.sha256(storage_key.encode()).hexdigest(),
        "file_size": 1024 * n,
        "width": 1920,
        "height": 1080,
        "title": f"Media {n}",
    }
    media = Media(
        owner_id=owner.id,
        venue=venue,
        booking_id=booking.id if booking is not None else None,
        resource_type=resource_type,
        storage_key=storage_key,
        extension=extension,
        **(defaults | fields),
    )
    return await _persist(session, media)


async def make_login_session(
    session: AsyncSession,
    *,
    user: User | None = None,
    token: str | None = None,
    **fields: Any,
) -> LoginSession:
    """A login session of `user` (or a new user) holding the SHA-256 of `token`, valid 30 days."""
    if user is None:
        user = await make_user(session)
    token = token or secrets.token_urlsafe(32)
    defaults: dict[str, Any] = {"expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=30)}
    login_session = LoginSession(
        user_id=user.id,
        token_hash=hashlib.sha256(token.encode()).digest(),
        **(defaults | fields),
    )
    return await _persist(session, login_session)
