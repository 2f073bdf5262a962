"""Demo data for development and benchmarks, bulk-loaded with binary COPY in one transaction.

Rows are generated in Python with client-side UUIDv7 keys, so foreign keys are wired before
anything is sent, then each table is loaded with one `COPY ... FROM STDIN (FORMAT binary)`.
Generation is deterministic for a given `random_seed`; only ids and timestamps (relative to
now) differ between runs. The audit trigger records every row as written by `sartiq seed`,
once per COPY (migration 0009). The load ends with VACUUM ANALYZE: planner statistics, and the
visibility map that lets `totalCount` count from an index alone.
"""

import asyncio
import datetime as dt
import hashlib
import math
import random
import struct
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import orjson
from argon2 import PasswordHasher

from models.email_address import email_key
from models.ids import uuid7

DEMO_PASSWORD = "sartiq-demo"  # noqa: S105 - documented in the README; demo accounts only
DEMO_ACCOUNTS = {
    "admin": "admin@sartiq.demo",
    "host": "host@sartiq.demo",
    "member": "member@sartiq.demo",
}
SEED_USER_AGENT = "sartiq seed"

# Rows per table at scale 1; `scale=N` multiplies each.
USERS_PER_SCALE = 1_000
VENUES_PER_SCALE = 300
BOOKINGS_PER_SCALE = 20_000
MEDIA_PER_SCALE = 5_000

Record = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class SeedReport:
    """How many rows of each table were written; `seeded=False` when data was already there.

    When nothing was written the counts are those of the rows already in the tables.
    """

    seeded: bool
    users: int
    venues: int
    bookings: int
    media: int


@dataclass(frozen=True, slots=True)
class City:
    """A city venues are placed around: its centre, conventions and a few real streets."""

    name: str
    country: str
    currency: str
    latitude: float
    longitude: float
    timezone: str
    radius_km: float
    weight: float
    address_format: str
    streets: tuple[str, ...]


# fmt: off
CITIES: tuple[City, ...] = (
    City("Paris", "FR", "EUR", 48.8566, 2.3522, "Europe/Paris", 8, 3, "{n} {street}",
         ("Rue Oberkampf", "Rue de Rivoli", "Boulevard Voltaire", "Rue des Martyrs",
          "Rue du Faubourg Saint-Denis", "Quai de Valmy")),
    City("London", "GB", "GBP", 51.5074, -0.1278, "Europe/London", 10, 3, "{n} {street}",
         ("Shoreditch High Street", "Brick Lane", "Upper Street", "Kingsland Road",
          "Old Street", "Clerkenwell Road")),
    City("Berlin", "DE", "EUR", 52.5200, 13.4050, "Europe/Berlin", 10, 2, "{street} {n}",
         ("Torstraße", "Oranienstraße", "Kastanienallee", "Karl-Marx-Allee",
          "Skalitzer Straße", "Schönhauser Allee")),
    City("Lisbon", "PT", "EUR", 38.7223, -9.1393, "Europe/Lisbon", 5, 1, "{street} {n}",
         ("Rua Augusta", "Rua da Rosa", "Avenida da Liberdade", "Rua de São Bento",
          "Rua do Alecrim")),
    City("New York", "US", "USD", 40.7128, -74.0060, "America/New_York", 8, 3, "{n} {street}",
         ("Bowery", "Broadway", "Canal Street", "Bedford Avenue", "West 26th Street",
          "Lafayette Street")),
    City("San Francisco", "US", "USD", 37.7749, -122.4194, "America/Los_Angeles", 5, 2,
         "{n} {street}",
         ("Valencia Street", "Mission Street", "Folsom Street", "Market Street",
          "Hayes Street", "Divisadero Street")),
    City("Tokyo", "JP", "JPY", 35.6762, 139.6503, "Asia/Tokyo", 10, 2, "{n}-{m}-{k} {street}",
         ("Jingumae, Shibuya-ku", "Kamimeguro, Meguro-ku", "Kitazawa, Setagaya-ku",
          "Yanaka, Taito-ku", "Kuramae, Taito-ku", "Nihonbashi, Chuo-ku")),
    City("Sydney", "AU", "AUD", -33.8688, 151.2093, "Australia/Sydney", 8, 1.5, "{n} {street}",
         ("George Street", "Oxford Street", "Crown Street", "King Street", "Harris Street",
          "Glebe Point Road")),
    City("Amsterdam", "NL", "EUR", 52.3676, 4.9041, "Europe/Amsterdam", 6, 1.5, "{street} {n}",
         ("Prinsengracht", "Herengracht", "Haarlemmerstraat", "Ferdinand Bolstraat",
          "Javastraat")),
    City("Barcelona", "ES", "EUR", 41.3874, 2.1686, "Europe/Madrid", 6, 1.5, "{street}, {n}",
         ("Carrer de Verdi", "Carrer de Blai", "Passeig de Gràcia", "Carrer de Girona",
          "Rambla del Poblenou")),
    City("Toronto", "CA", "CAD", 43.6532, -79.3832, "America/Toronto", 8, 1, "{n} {street}",
         ("Queen Street West", "Ossington Avenue", "King Street East", "Spadina Avenue",
          "Dundas Street West")),
    City("Copenhagen", "DK", "DKK", 55.6761, 12.5683, "Europe/Copenhagen", 6, 1,
         "{street} {n}",
         ("Jægersborggade", "Istedgade", "Vesterbrogade", "Nørrebrogade", "Refshalevej")),
)

_FIRST_NAMES = (
    "Amélie", "Lucas", "Chloé", "Hugo", "Olivia", "Noah", "Amelia", "Oliver", "Mia", "Leon",
    "Emma", "Finn", "Beatriz", "João", "Inês", "Tiago", "Sofia", "Liam", "Ava", "Ethan",
    "Isabella", "Mateo", "Yuki", "Haruto", "Aoi", "Sota", "Charlotte", "Jack", "Ruby",
    "Lachlan", "Sanne", "Daan", "Lucía", "Pau", "Freja", "Mads", "Priya", "Omar", "Zoe", "Kai",
)
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Smith", "Jones", "Taylor", "Müller", "Schmidt", "Weber",
    "Silva", "Santos", "Ferreira", "Johnson", "Garcia", "Chen", "Nguyen", "Sato", "Suzuki",
    "Takahashi", "Brown", "Wilson", "de Vries", "Jansen", "Fernández", "Puig", "Jensen",
    "Nielsen", "Patel", "Okafor", "Kowalski", "Rossi", "Novak", "Haddad", "Kim", "Murphy",
)
_ADJECTIVES = (
    "Sunlit", "Quiet", "Bright", "Cosy", "Industrial", "Rooftop", "Garden", "Riverside",
    "Minimal", "Vintage", "Airy", "Hidden", "Urban", "Golden", "Open-Plan", "Canal-Side",
)
_NOUNS = (
    "Loft", "Warehouse", "Atelier", "Gallery", "Courtyard", "Terrace", "Townhouse", "Chapel",
    "Greenhouse", "Library", "Workshop", "Boathouse",
)
_KINDS = (
    "Studio", "Meeting Room", "Event Space", "Workspace", "Photo Studio", "Kitchen",
    "Rehearsal Room", "Salon",
)
_FLAG_AMENITIES = (
    "wifi", "projector", "whiteboard", "kitchen", "coffee", "sound_system", "natural_light",
    "air_conditioning", "wheelchair_access", "blackout_blinds", "lighting_kit", "piano",
)
_BOOKING_NOTES = (
    "Team offsite", "Product shoot", "Birthday brunch", "Quarterly planning",
    "Podcast recording", "Supper club", "Yoga class", "Client workshop", "Band rehearsal",
)
_MEDIA_TAGS = (
    "interior", "exterior", "daylight", "night", "event", "workshop", "kitchen", "terrace",
    "detail", "team", "studio", "architecture",
)
USER_COLUMNS = (
    "id", "email", "email_key", "display_name", "role", "password_hash", "preferences",
    "created_at", "updated_at",
)
VENUE_COLUMNS = (
    "id", "owner_id", "name", "description", "address", "city", "country", "location",
    "amenities", "hourly_rate", "currency", "created_at", "updated_at",
)
BOOKING_COLUMNS = (
    "id", "user_id", "venue_id", "starts_at", "ends_at", "status", "amount", "currency",
    "notes", "created_at", "updated_at",
)
MEDIA_COLUMNS = (
    "id", "owner_id", "venue_id", "booking_id", "resource_type", "storage_key",
    "content_hash", "extension", "file_size", "width", "height", "duration_seconds",
    "dominant_color", "alt_text", "caption", "title", "tags", "exif", "location",
    "captured_at", "created_at", "updated_at",
)
# fmt: on

# Rough value of one euro, so rates look local.
_EUR_TO = {
    "EUR": Decimal(1),
    "GBP": Decimal("0.85"),
    "USD": Decimal("1.10"),
    "JPY": Decimal(165),
    "AUD": Decimal("1.65"),
    "CAD": Decimal("1.50"),
    "DKK": Decimal("7.45"),
}
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
_CLOSINGS = (
    "Ideal for workshops, shoots and small launches.",
    "Natural light all day; blackout blinds on request.",
    "Step-free access from the street.",
    "Quiet neighbours, so amplified music ends at 22:00.",
    "The host lives nearby and can help with set-up.",
    "Tables and chairs can be rearranged to suit your event.",
)
_MEDIA_SUBJECTS = (
    ("Main room", "Wide view of the main room"),
    ("Entrance", "The street entrance"),
    ("Kitchen", "The kitchen and its counter"),
    ("Terrace at dusk", "The terrace at dusk"),
    ("Workshop set-up", "Tables set up for a workshop"),
    ("Lighting test", "Studio lights during a test shoot"),
    ("Detail", "A close-up of the interior"),
    ("Group photo", "Guests gathered for a group photo"),
)
_MEDIA_CAPTIONS = (
    "Morning light through the tall windows.",
    "Set up for twenty, with room to spare.",
    "Everything was ready when we arrived.",
    "The space after a long, happy day.",
    "Coffee corner, stocked and ready.",
)
_IMAGE_SIZES = ((4032, 3024), (3024, 4032), (1920, 1080), (2048, 1365), (1600, 1200))
_VIDEO_SIZES = ((1920, 1080), (3840, 2160), (1080, 1920))
# Extension, bytes per pixel, relative frequency.
_IMAGE_FORMATS = (("jpg", 0.35), ("webp", 0.2), ("png", 1.5))
_IMAGE_FORMAT_WEIGHTS = (6, 3, 1)
_CAMERAS = (("Fujifilm", "X-T5"), ("Sony", "ILCE-7M4"), ("Canon", "EOS R6"), ("Apple", "iPhone 15"))

# The mix, as probabilities.
_HOST_SHARE = 0.08
_EMAIL_OPT_IN = 0.8
_PUSH_OPT_IN = 0.3
_PARKING = 0.4
_SEATING = 0.3
_NOTED = 0.3
_BOOKED_BY_MEMBER = 0.85
_PAST_COMPLETED = 0.88  # the rest of past bookings were cancelled
_FUTURE_CONFIRMED = 0.65  # the rest of future bookings are pending
_MEDIA_OF_BOOKING = 0.2
_MEDIA_OF_VENUE = 0.9  # cumulative: the rest belong to no venue
_VIDEO = 0.12
_GEOTAGGED = 0.85
_VIDEO_COLORED = 0.5
_ALT_TEXT = 0.9
_CAPTIONED = 0.8

_HOUR = dt.timedelta(hours=1)
_PAST_DAYS = 182  # bookings span about the last six months ...
_FUTURE_DAYS = 91  # ... and the next three
_SLOT_HOURS = (8, 10, 12, 14, 16, 18, 20)  # local start times; slots never overlap
_LAST_HOUR = 23  # bookings end by 23:00 local
_DURATIONS = (1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 6, 8)
_MAX_BOOKINGS_PER_DAY = 3  # average per venue; denser loads reach further into the past
_KM_PER_DEGREE = 111.32
_MEDIA_RADIUS_KM = 0.15

_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('sartiq seed', 0))"
_MARKER = "SELECT EXISTS (SELECT 1 FROM users WHERE email_key = $1)"
_COUNTS = (
    "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM venues) AS venues,"
    " (SELECT count(*) FROM bookings) AS bookings, (SELECT count(*) FROM media) AS media"
)
_GEOGRAPHY_SCHEMA = (
    "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
    " WHERE t.typname = 'geography'"
)


async def seed_demo_data(  # noqa: PLR0913 - the per-table overrides are keyword-only knobs
    dsn: str,
    *,
    scale: int = 1,
    progress: Callable[[str], None] | None = None,
    random_seed: int = 7,
    users: int | None = None,
    venues: int | None = None,
    bookings: int | None = None,
    media: int | None = None,
) -> SeedReport:
    """Load demo users, venues, bookings and media into `dsn` once, all in one transaction.

    `scale` multiplies the scale-1 counts (1,000 users, 300 venues, 20,000 bookings, 5,000
    media); `users`, `venues`, `bookings` and `media` override single counts. If the demo admin
    already exists nothing is written and the report carries the existing row counts.
    """
    counts = SeedReport(
        seeded=True,
        users=USERS_PER_SCALE * scale if users is None else users,
        venues=VENUES_PER_SCALE * scale if venues is None else venues,
        bookings=BOOKINGS_PER_SCALE * scale if bookings is None else bookings,
        media=MEDIA_PER_SCALE * scale if media is None else media,
    )
    _validate(scale, counts)
    say = progress or _silent
    connection = await asyncpg.connect(dsn, server_settings={"application_name": "sartiq seed"})
    try:
        # READ COMMITTED: the marker check after the lock must see a concurrent seed's commit.
        async with connection.transaction(isolation="read_committed"):
            await connection.execute(_LOCK)
            if await connection.fetchval(_MARKER, email_key(DEMO_ACCOUNTS["admin"])):
                existing = await connection.fetchrow(_COUNTS)
                if existing is None:  # pragma: no cover - a scalar SELECT always returns a row
                    raise RuntimeError(_COUNTS)
                say("demo data already present")
                return SeedReport(seeded=False, **dict(existing.items()))
            await connection.execute(
                "SELECT set_config('app.current_user_agent', $1, true)", SEED_USER_AGENT
            )
            await _register_geography(connection)
            await _load(connection, counts, random_seed, say)
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE) users, venues, bookings, media")
        say(f"vacuum analyze: {time.perf_counter() - started:.1f} s")
    finally:
        await connection.close()
    return counts


def _validate(scale: int, counts: SeedReport) -> None:
    if scale < 1:
        message = f"scale must be at least 1, not {scale}"
        raise ValueError(message)
    if counts.users < len(DEMO_ACCOUNTS):
        message = f"users must be at least {len(DEMO_ACCOUNTS)}, for the demo accounts"
        raise ValueError(message)
    if min(counts.venues, counts.bookings, counts.media) < 0:
        message = "row counts must not be negative"
        raise ValueError(message)
    if counts.venues == 0 and (counts.bookings or counts.media):
        message = "bookings and media need at least one venue"
        raise ValueError(message)


def _silent(_: str) -> None:
    return None


async def _register_geography(connection: asyncpg.Connection) -> None:
    """Send geography values as EWKB points, so COPY needs no staging table.

    Measured against COPY into a staging table plus `INSERT ... SELECT ST_MakePoint(...)`:
    the same time (the audit trigger dominated then), with one statement and no temporary table.
    """
    schema = await connection.fetchval(_GEOGRAPHY_SCHEMA)
    await connection.set_type_codec(
        "geography", schema=schema, encoder=_ewkb_point, decoder=bytes, format="binary"
    )


def _ewkb_point(point: tuple[float, float]) -> bytes:
    """A little-endian EWKB POINT with SRID 4326 from `(longitude, latitude)`."""
    longitude, latitude = point
    return struct.pack("<BIIdd", 1, 0x2000_0001, 4326, longitude, latitude)


async def _load(
    connection: asyncpg.Connection,
    counts: SeedReport,
    random_seed: int,
    say: Callable[[str], None],
) -> None:
    password_hash = await asyncio.to_thread(PasswordHasher().hash, DEMO_PASSWORD)
    demo = _Generator(random_seed)
    steps: tuple[tuple[str, Sequence[str], Callable[[], list[Record]]], ...] = (
        ("users", USER_COLUMNS, lambda: demo.users(counts.users, password_hash)),
        ("venues", VENUE_COLUMNS, lambda: demo.venues(counts.venues)),
        ("bookings", BOOKING_COLUMNS, lambda: demo.bookings(counts.bookings)),
        ("media", MEDIA_COLUMNS, lambda: demo.media(counts.media)),
    )
    for table, columns, generate in steps:
        started = time.perf_counter()
        records = generate()
        await connection.copy_records_to_table(table, records=records, columns=columns)
        say(f"{table}: {len(records)} rows ({time.perf_counter() - started:.1f} s)")


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _listing(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return " and ".join(filter(None, (", ".join(items[:-1]), items[-1])))


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


@dataclass(slots=True)
class _People:
    """Users generated so far, by role, for wiring owners and bookers."""

    ids: list[uuid.UUID] = field(default_factory=list)
    created: list[dt.datetime] = field(default_factory=list)
    members: list[int] = field(default_factory=list)
    hosts: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Places:
    """Venues generated so far: what bookings and media need to refer to them."""

    ids: list[uuid.UUID] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    cities: list[City] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    rates: list[Decimal] = field(default_factory=list)
    created: list[dt.datetime] = field(default_factory=list)


@dataclass(slots=True)
class _Held:
    """Bookings generated so far, for the media taken at them."""

    ids: list[uuid.UUID] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    venues: list[int] = field(default_factory=list)
    spans: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    past: list[int] = field(default_factory=list)


class _Generator:
    """Builds the COPY records table by table, remembering what later tables refer to."""

    def __init__(self, random_seed: int) -> None:
        self.rng = random.Random(random_seed)  # noqa: S311 - demo data, reproducible on purpose
        self.random_seed = random_seed
        self.now = dt.datetime.now(dt.UTC)
        self.people = _People()
        self.places = _Places()
        self.held = _Held()

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        return start + (end - start) * self.rng.random()

    def near(self, point: tuple[float, float], radius_km: float) -> tuple[float, float]:
        """A point uniformly within `radius_km` of `(longitude, latitude)`."""
        longitude, latitude = point
        distance = radius_km * math.sqrt(self.rng.random())
        bearing = self.rng.uniform(0, 2 * math.pi)
        d_lat = distance * math.cos(bearing) / _KM_PER_DEGREE
        d_lon = distance * math.sin(bearing) / (_KM_PER_DEGREE * math.cos(math.radians(latitude)))
        return round(longitude + d_lon, 6), round(latitude + d_lat, 6)

    def users(self, count: int, password_hash: str) -> list[Record]:
        """A few admins, about 8% hosts, members for the rest; each role's first is a demo user."""
        admins = max(1, min(count // 250, 12))
        hosts = max(1, round(count * _HOST_SHARE))
        roles = ["admin"] * admins + ["host"] * hosts + ["member"] * (count - admins - hosts)
        demo = {
            0: (DEMO_ACCOUNTS["admin"], "Demo Admin"),
            admins: (DEMO_ACCOUNTS["host"], "Demo Host"),
            admins + hosts: (DEMO_ACCOUNTS["member"], "Demo Member"),
        }
        rng, people = self.rng, self.people
        records: list[Record] = []
        for index, role in enumerate(roles):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = f"{_ascii(first)}.{_ascii(last)}{index}@{rng.choice(_EMAIL_DOMAINS)}"
            display_name = f"{first} {last}"
            notifications = {"email": self.chance(_EMAIL_OPT_IN), "push": self.chance(_PUSH_OPT_IN)}
            created = self.now - dt.timedelta(days=rng.uniform(200, 730))
            if index in demo:
                email, display_name = demo[index]
                created = self.now - dt.timedelta(days=800)
            user_id = uuid7()
            people.ids.append(user_id)
            people.created.append(created)
            if role == "host":
                people.hosts.append(index)
            elif role == "member":
                people.members.append(index)
            preferences = _json({"notifications": notifications})
            records.append(
                (
                    user_id,
                    email,
                    email_key(email),
                    display_name,
                    role,
                    password_hash,
                    preferences,
                    created,
                    created,
                )
            )
        return records

    def venues(self, count: int) -> list[Record]:
        """Venues around the cities, every city and every host getting one before the rest."""
        rng, people, places = self.rng, self.people, self.places
        weights = [city.weight for city in CITIES]
        latest = self.now - dt.timedelta(days=_PAST_DAYS + 7)
        records: list[Record] = []
        for index in range(count):
            city = CITIES[index] if index < len(CITIES) else rng.choices(CITIES, weights)[0]
            owner = people.hosts[index] if index < len(people.hosts) else rng.choice(people.hosts)
            adjective, noun, kind = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_KINDS)
            name = f"{adjective} {noun} {kind}"
            street = rng.choice(city.streets)
            line = city.address_format.format(
                n=rng.randint(1, 180), m=rng.randint(1, 30), k=rng.randint(1, 20), street=street
            )
            amenities = self.amenities()
            features = [key.replace("_", " ") for key in amenities]
            article = "An" if adjective[0] in "AEIOU" else "A"
            description = (
                f"{article} {adjective.lower()} {noun.lower()} {kind.lower()} just off {street}"
                f" in {city.name}, with room for {rng.choice((6, 10, 15, 25, 40, 60, 120))}"
                f" people. Comes with {_listing(features)}. {rng.choice(_CLOSINGS)}"
            )
            point = self.near((city.longitude, city.latitude), city.radius_km)
            rate = self.hourly_rate(city.currency)
            created = self.between(people.created[owner], latest)
            venue_id = uuid7()
            places.ids.append(venue_id)
            places.owners.append(owner)
            places.cities.append(city)
            places.names.append(name)
            places.points.append(point)
            places.rates.append(rate)
            places.created.append(created)
            records.append(
                (
                    venue_id,
                    people.ids[owner],
                    name,
                    description,
                    f"{line}, {city.name}",
                    city.name,
                    city.country,
                    point,
                    _json(amenities),
                    rate,
                    city.currency,
                    created,
                    created,
                )
            )
        return records

    def amenities(self) -> dict[str, object]:
        """Amenity name to `true`, or to an object with details."""
        rng = self.rng
        amenities: dict[str, object] = {"wifi": True}
        amenities.update(dict.fromkeys(rng.sample(_FLAG_AMENITIES, rng.randint(2, 6)), True))
        if self.chance(_PARKING):
            amenities["parking"] = {"spaces": rng.randint(1, 12)}
        if self.chance(_SEATING):
            amenities["seating"] = {"capacity": rng.choice((8, 12, 20, 30, 50, 80))}
        return amenities

    def hourly_rate(self, currency: str) -> Decimal:
        """A rate of roughly 15 to 300 euros, in local money rounded to a local step."""
        euros = Decimal(round(min(400.0, self.rng.lognormvariate(4.0, 0.5))))
        step = Decimal(100) if currency == "JPY" else Decimal(5)
        steps = (euros * _EUR_TO[currency] / step).to_integral_value()
        return (max(Decimal(1), steps) * step).quantize(Decimal("0.01"))

    def bookings(self, count: int) -> list[Record]:
        """`count` bookings shared unevenly between venues, none overlapping within a venue."""
        per_venue = [0] * len(self.places.ids)
        if count:
            popularity = [self.rng.lognormvariate(0, 0.6) for _ in per_venue]
            for venue in self.rng.choices(range(len(per_venue)), popularity, k=count):
                per_venue[venue] += 1
        records: list[Record] = []
        for venue, wanted in enumerate(per_venue):
            if wanted:
                records.extend(self.venue_bookings(venue, wanted))
        return records

    def venue_bookings(self, venue: int, wanted: int) -> list[Record]:
        """One venue's bookings, in distinct two-hour local slots so none overlap."""
        rng, now, places = self.rng, self.now, self.places
        city, rate, owner = places.cities[venue], places.rates[venue], places.owners[venue]
        zone = ZoneInfo(city.timezone)
        past_days = max(_PAST_DAYS, math.ceil(wanted / _MAX_BOOKINGS_PER_DAY) - _FUTURE_DAYS)
        first_day = now.date() - dt.timedelta(days=past_days)
        per_day = len(_SLOT_HOURS)
        starts: list[tuple[dt.datetime, int]] = []
        for slot in sorted(rng.sample(range((past_days + _FUTURE_DAYS) * per_day), wanted)):
            day, hour = divmod(slot, per_day)
            local = dt.datetime.combine(
                first_day + dt.timedelta(days=day), dt.time(_SLOT_HOURS[hour]), zone
            )
            starts.append((local.astimezone(dt.UTC), _SLOT_HOURS[hour]))
        records: list[Record] = []
        for position, (starts_at, local_hour) in enumerate(starts):
            room = _LAST_HOUR - local_hour
            if position + 1 < len(starts):
                room = min(room, (starts[position + 1][0] - starts_at) // _HOUR)
            hours = min(rng.choice(_DURATIONS), room)
            ends_at = starts_at + hours * _HOUR
            roll, lead, cancelled_after = rng.random(), rng.uniform(1, 45), rng.random()
            note = rng.choice(_BOOKING_NOTES) if self.chance(_NOTED) else None
            booker = rng.choice(self.people.members)
            if (
                not self.chance(_BOOKED_BY_MEMBER)
                and (host := rng.choice(self.people.hosts)) != owner
            ):
                booker = host
            if ends_at <= now:
                status = "completed" if roll < _PAST_COMPLETED else "cancelled"
            elif starts_at > now:
                status = "confirmed" if roll < _FUTURE_CONFIRMED else "pending"
            else:
                status = "confirmed"
            created = min(starts_at - dt.timedelta(days=lead), now - dt.timedelta(hours=lead))
            updated = created
            if status == "completed":
                updated = ends_at
            elif status == "cancelled":
                updated = created + (min(starts_at, now) - created) * cancelled_after
            booking_id = uuid7()
            self.held.ids.append(booking_id)
            self.held.users.append(booker)
            self.held.venues.append(venue)
            self.held.spans.append((starts_at, ends_at))
            if ends_at <= now:
                self.held.past.append(len(self.held.ids) - 1)
            records.append(
                (
                    booking_id,
                    self.people.ids[booker],
                    places.ids[venue],
                    starts_at,
                    ends_at,
                    status,
                    rate * hours,
                    city.currency,
                    note,
                    created,
                    updated,
                )
            )
        return records

    def media(self, count: int) -> list[Record]:
        """A cover image per venue first, then venue, booking and loose photos and videos."""
        rng, places, held = self.rng, self.places, self.held
        records: list[Record] = []
        for index in range(count):
            kind = rng.random()
            booking: int | None = None
            venue: int | None = None
            if index < len(places.ids):
                venue = index
            elif held.ids and kind < _MEDIA_OF_BOOKING:
                booking = rng.choice(held.past or range(len(held.ids)))
                venue = held.venues[booking]
            elif kind < _MEDIA_OF_VENUE:
                venue = rng.randrange(len(places.ids))
            records.append(self.medium(index, venue, booking))
        return records

    def medium(self, index: int, venue: int | None, booking: int | None) -> Record:
        """One photo or video: of a booking (by its booker), of a venue (by its host), or loose."""
        rng, places = self.rng, self.places
        if booking is not None:
            owner = self.held.users[booking]
            captured = self.between(*self.held.spans[booking])
        elif venue is not None:
            owner = places.owners[venue]
            captured = self.between(places.created[venue], self.now)
        else:
            owner = rng.randrange(len(self.people.ids))
            captured = self.now - dt.timedelta(days=rng.uniform(1, 400))
        captured = min(captured, self.now)
        created = min(self.now, captured + dt.timedelta(hours=rng.uniform(0.5, 72)))
        is_video = index >= len(places.ids) and self.chance(_VIDEO)
        duration, extension, width, height, file_size, exif = self.file(is_video=is_video)
        geotagged = extension != "png" and self.chance(_GEOTAGGED)
        subject, view = rng.choice(_MEDIA_SUBJECTS)
        if venue is not None:
            city, place = places.cities[venue], places.names[venue]
            location = self.near(places.points[venue], _MEDIA_RADIUS_KM)
            title, alt_text = f"{subject}, {place}", f"{view} at {place}, {city.name}"
        else:
            city = rng.choice(CITIES)
            location = self.near((city.longitude, city.latitude), city.radius_km)
            title, alt_text = f"{subject}, {city.name}", f"{view} in {city.name}"
        tags = [*rng.sample(_MEDIA_TAGS, rng.randint(2, 5)), _slug(city.name)]
        if is_video:
            tags.append("video")
        colored = not is_video or self.chance(_VIDEO_COLORED)
        color = rng.randrange(1 << 24)
        media_id = uuid7()
        digest = hashlib.sha256(f"sartiq-seed/{self.random_seed}/{index}".encode()).hexdigest()
        return (
            media_id,
            self.people.ids[owner],
            None if venue is None else places.ids[venue],
            None if booking is None else self.held.ids[booking],
            "VIDEO" if is_video else "IMAGE",
            f"media/{media_id}.{extension}",
            digest,
            extension,
            file_size,
            width,
            height,
            duration,
            f"#{color:06x}" if colored else None,
            alt_text if self.chance(_ALT_TEXT) else None,
            rng.choice(_MEDIA_CAPTIONS) if self.chance(_CAPTIONED) else None,
            title,
            tags,
            _json(exif),
            location if geotagged else None,
            captured,
            created,
            created,
        )

    def file(
        self, *, is_video: bool
    ) -> tuple[Decimal | None, str, int, int, int, dict[str, object]]:
        """Duration, extension, width, height, size in bytes and EXIF of one file."""
        rng = self.rng
        if is_video:
            width, height = rng.choice(_VIDEO_SIZES)
            seconds = rng.uniform(4, 180)
            size = int(seconds * width * height * 0.45 * rng.uniform(0.7, 1.3))
            exif: dict[str, object] = {"codec": "hevc", "frame_rate": rng.choice((24, 30, 60))}
            return Decimal(f"{seconds:.3f}"), "mp4", width, height, size, exif
        extension, bytes_per_pixel = rng.choices(_IMAGE_FORMATS, _IMAGE_FORMAT_WEIGHTS)[0]
        width, height = rng.choice(_IMAGE_SIZES)
        size = int(width * height * bytes_per_pixel * rng.uniform(0.7, 1.3))
        make, model = rng.choice(_CAMERAS)
        exif = {
            "make": make,
            "model": model,
            "iso": rng.choice((100, 200, 400, 800, 1600)),
            "focal_length_mm": rng.choice((16, 23, 35, 50, 85)),
            "aperture": rng.choice((1.8, 2.8, 4.0, 5.6)),
            "exposure_time": rng.choice(("1/60", "1/125", "1/250", "1/500")),
            "orientation": 1 if width >= height else 6,
        }
        if extension == "png":
            exif = {}  # screenshots and renders carry no camera data
        return None, extension, width, height, size, exif
