"""Bad values in every place a request can carry one: BAD_USER_INPUT naming the field, never a 500.

`PLACES` lists every argument and input field of the schema that takes a string, an ID, a
float, a `Decimal`, a `DateTime`, `JSON` or `GeoJSON` (`test_the_table_covers_the_schema`
keeps it complete). Each place is sent the values of its kind that PostgreSQL or asyncpg
cannot take, or that decode into something they cannot: NUL and lone surrogates, numbers
beyond a double, times that leave the years 1-9999 in UTC, cursors nested thousands deep
or of the wrong shape, IDs of garbage. Each goes as a variable and, where GraphQL can
write it, as a literal, through HTTP, anonymous and signed in as each role. The answer is
JSON with a code on every error, none internal, `extensions.field` naming the place, nothing
logged at ERROR and no row written.
"""

import base64
import dataclasses
import datetime as dt
import json
import logging
import uuid
from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    get_named_type,
)
from sqlalchemy import text

from graph.core.global_id import encode_global_id, encode_timestamped_id
from graph.schema.root import schema
from tests.factories import make_booking, make_login_session, make_media, make_user, make_venue
from tests.graph.live.test_argument_values import COVERED as SUBSCRIPTION_PLACES

BAD = object()
"""Where a place's bad value goes inside its argument."""

ROLES = (None, "admin", "host", "member")
# How many of each kind's values are sent as every role (the rest anonymous only).
ALL_ROLES_FOR = 2
INTERNAL = "INTERNAL_SERVER_ERROR"
# Codes a request may get before its bad value is looked at (a resolver checks access first).
ACCESS_CODES = {"BAD_USER_INPUT", "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"}


@dataclasses.dataclass(frozen=True)
class Enum:
    """An enum value: a string in JSON, a bare name in a literal."""

    name: str


@dataclasses.dataclass(frozen=True)
class Place:
    """One argument or input field, and how to reach it.

    `document` holds `$DEFS` (the variable definitions) and `$ARG` (the argument's value);
    the variable is named after the argument, so the expected `field` is the same either way.
    `{venue}`, `{booking}`, `{media}` in the document or value are replaced by real IDs.
    """

    covers: str
    kind: str
    document: str
    argument: str
    type: str
    value: Any
    field: str


def b64(payload: str | bytes) -> str:
    raw = payload.encode() if isinstance(payload, str) else payload
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def json_string(value: str) -> str:
    """`value` as a JSON (and GraphQL) string literal, with \\u escapes for anything odd."""
    return json.dumps(value)


ZERO_UUID = "00000000-0000-0000-0000-000000000000"
HUGE_INT = "1" + "0" * 400  # 10**400: beyond a double
DEEP_CURSOR = b64("[" * 5000 + "]" * 5000)

# Each kind's bad values: (label, as JSON in the variables, as a GraphQL literal or None).
TEXT_VALUES = [
    ("NUL", json_string("a\x00b"), json_string("a\x00b")),
    ("NUL alone", json_string("\x00"), json_string("\x00")),
    ("lone high surrogate", '"a\\ud800b"', None),
    ("lone low surrogate", '"\\udfff"', None),
    ("reversed surrogate pair", '"\\udc00\\ud800"', None),
]
FLOAT_VALUES = [
    ("1e999", "1e999", "1e999"),
    ("-1e999", "-1e999", "-1e999"),
    ("10**400", HUGE_INT, HUGE_INT),
    ("NaN", "NaN", None),
    ("Infinity", "Infinity", None),
    ("-Infinity", "-Infinity", None),
]
DECIMAL_VALUES = [
    *FLOAT_VALUES,
    ('"NaN"', '"NaN"', '"NaN"'),
    ('"sNaN"', '"sNaN"', '"sNaN"'),
    ('"Infinity"', '"Infinity"', '"Infinity"'),
    ('"1e100000"', '"1e100000"', '"1e100000"'),
    ('"1e-100000"', '"1e-100000"', '"1e-100000"'),
    ('"10**400"', f'"{HUGE_INT}"', f'"{HUGE_INT}"'),
    ("29 digits", '"12345678901234567890123456789"', '"12345678901234567890123456789"'),
    ("NUL", json_string("1\x00"), json_string("1\x00")),
    ("surrogate", '"1\\ud800"', None),
]
DATETIME_VALUES = [
    ("year 9999 at -14:00", '"9999-12-31T23:00:00-14:00"', '"9999-12-31T23:00:00-14:00"'),
    ("year 1 at +14:00", '"0001-01-01T00:00:00+14:00"', '"0001-01-01T00:00:00+14:00"'),
    ("year 99999", '"99999-01-01T00:00:00Z"', '"99999-01-01T00:00:00Z"'),
    ("negative year", '"-0001-01-01T00:00:00Z"', '"-0001-01-01T00:00:00Z"'),
    ("NUL", json_string("2030-01-01T00:00:00Z\x00"), json_string("2030-01-01T00:00:00Z\x00")),
    ("surrogate", '"2030-01-01T00:00:00\\ud800"', None),
    ("a number", "12345", "12345"),
]
JSON_VALUES = [
    ("1e999", '{"a": 1e999}', "{a: 1e999}"),
    ("-1e999 in a list", '{"a": [1, -1e999]}', "{a: [1, -1e999]}"),
    ("10**400", f'{{"a": {HUGE_INT}}}', f"{{a: {HUGE_INT}}}"),
    ("NaN", '{"a": NaN}', None),
    ("Infinity", '{"a": {"b": Infinity}}', None),
    ("NUL value", '{"a": "x\\u0000"}', '{a: "x\\u0000"}'),
    ("NUL key", '{"a\\u0000": 1}', None),
    ("NUL deep inside", '{"a": [[{"b": ["\\u0000"]}]]}', '{a: [[{b: ["\\u0000"]}]]}'),
    ("surrogate value", '{"a": "\\ud800"}', None),
    ("surrogate key", '{"\\udfff": true}', None),
    ("NUL string", '"\\u0000"', '"\\u0000"'),
]
_SQUARE = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]


def _polygon(**members: Any) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [_SQUARE], **members})


GEOJSON_VALUES = [
    *JSON_VALUES,
    (
        "crs name as a list",
        _polygon(crs={"type": "name", "properties": {"name": ["EPSG:4326"]}}),
        None,
    ),
    ("crs name as an object", _polygon(crs={"type": "name", "properties": {"name": {}}}), None),
    ("crs as a string", _polygon(crs="EPSG:4326"), None),
    (
        "1e999 coordinate",
        '{"type": "Polygon", "coordinates": [[[0, 0], [1e999, 0], [1, 1], [0, 0]]]}',
        '{type: "Polygon", coordinates: [[[0, 0], [1e999, 0], [1, 1], [0, 0]]]}',
    ),
    (
        "10**400 coordinate",
        f'{{"type": "Polygon", "coordinates": [[[0, 0], [{HUGE_INT}, 0], [1, 1], [0, 0]]]}}',
        None,
    ),
    (
        "coordinates nested 500 deep",
        '{"type": "Polygon", "coordinates": ' + "[" * 500 + "]" * 500 + "}",
        None,
    ),
    ("coordinates a number", '{"type": "Polygon", "coordinates": 5}', None),
    ("a ring an object", '{"type": "Polygon", "coordinates": [{"a": 1}]}', None),
    ("positions of strings", '{"type": "Polygon", "coordinates": [[["a", "b"]]]}', None),
    ("positions of three", '{"type": "Polygon", "coordinates": [[[0, 0, 0]]]}', None),
    ("not an object", '"Polygon"', '"Polygon"'),
]
# Decoded by a resolver, so checked after its access rules: as admin, BAD_USER_INPUT.
ID_VALUES = [
    ("garbage bytes", json_string(b64(b"\xff\xfe\xfd")), json_string(b64(b"\xff\xfe\xfd"))),
    ("not base64", '"!!not base64!!"', '"!!not base64!!"'),
    ("empty", '""', '""'),
    ("non-UUID", json_string(b64("Venue:not-a-uuid")), json_string(b64("Venue:not-a-uuid"))),
    ("no separator", json_string(b64("garbage")), json_string(b64("garbage"))),
    ("very long", json_string("QUJD" * 5000), None),
]
WRONG_TYPE_ID = json_string(b64(f"Spaceship:{uuid.uuid4()}"))
CURSOR_VALUES = [
    ("5,000 deep", json_string(DEEP_CURSOR), json_string(DEEP_CURSOR)),
    ("an object", json_string(b64('{"a": 1}')), None),
    ("a number", json_string(b64("1")), None),
    ("a string", json_string(b64('"x"')), None),
    ("empty list", json_string(b64("[]")), None),
    ("nested list", json_string(b64('[["x"], "y", "z"]')), None),
    ("odd values", json_string(b64('["x", 1, null, true]')), None),
    ("NaN", json_string(b64('["x", NaN, "y"]')), None),
    ("not base64", '"***"', '"***"'),
    ("garbage bytes", json_string(b64(b"\xff\xfe")), None),
    ("very long", json_string("W10" * 5000), None),
    (
        "time past year 9999 in UTC",
        json_string(b64(f'["9999-12-31T23:00:00-14:00","{ZERO_UUID}"]')),
        None,
    ),
    (
        "ordering and time past 9999",
        json_string(b64(f'["Venue.CREATED_AT_ASC","9999-12-31T23:00:00-14:00","{ZERO_UUID}"]')),
        None,
    ),
    ("1e100000", json_string(b64(f'["Venue.HOURLY_RATE_ASC","1e100000","{ZERO_UUID}"]')), None),
    ("NUL inside", json_string(b64(f'["Venue.NAME_ASC","a\\u0000","{ZERO_UUID}"]')), None),
    ("surrogate inside", json_string(b64(f'["Venue.NAME_ASC","a\\ud800","{ZERO_UUID}"]')), None),
    ("float of 400 digits", json_string(b64(f'["x","{HUGE_INT}","{ZERO_UUID}"]')), None),
]
VALUES = {
    "text": TEXT_VALUES,
    "float": FLOAT_VALUES,
    "decimal": DECIMAL_VALUES,
    "datetime": DATETIME_VALUES,
    "json": JSON_VALUES,
    "geojson": GEOJSON_VALUES,
    "id": TEXT_VALUES,
    "cursor": TEXT_VALUES,
}
DECODED = {"id": ID_VALUES, "cursor": CURSOR_VALUES}


@dataclasses.dataclass(frozen=True)
class Target:
    """An argument of a document: where places inside it are sent."""

    document: str
    argument: str
    type: str

    def whole(self, covers: str, kind: str) -> Place:
        """The argument itself takes the bad value."""
        return Place(covers, kind, self.document, self.argument, self.type, BAD, self.argument)

    def at(self, covers: str, kind: str, value: Any, field: str) -> Place:
        """A place inside the argument's `value`, named `field`."""
        return Place(covers, kind, self.document, self.argument, self.type, value, field)

    def fields(self, input_type: str, base: dict[str, Any], kinds: dict[str, str]) -> list[Place]:
        """One place per input field in `kinds` (name -> kind), the other fields from `base`."""
        return [
            self.at(
                f"{input_type}.{name}",
                kind,
                {**base, name: [BAD] if name == "tags" else BAD},
                f"{self.argument}.{name}",
            )
            for name, kind in kinds.items()
        ]


def _query(field: str, selection: str = "__typename") -> str:
    return f"query Q$DEFS {{ {field} {{ {selection} }} }}"


def _root(field: str, argument: str, type_: str, selection: str = "totalCount") -> Target:
    return Target(_query(field, selection), argument, type_)


def _input(mutation: str) -> Target:
    type_ = f"{mutation[0].upper()}{mutation[1:]}Input"
    document = f"mutation M$DEFS {{ {mutation}(input: $ARG) {{ __typename }} }}"
    return Target(document, "input", f"{type_}!")


def _nested(root: str, selection: str, argument: str, type_: str = "String") -> Target:
    return Target(_query(root, selection), argument, type_)


LAT_LNG = {"latitude": 48.85, "longitude": 2.35}
NEAR = {**LAT_LNG, "radiusMeters": 1000}
BOX = {"south": 48, "west": 2, "north": 49, "east": 3}
SIGN_UP = {"email": "new@example.test", "password": "a long password", "displayName": "New"}
LOG_IN = {"email": "new@example.test", "password": "a long password"}
CREATE_VENUE = {
    "name": "Hall",
    "description": "",
    "address": "1 Rue de Rivoli",
    "city": "Paris",
    "country": "FR",
    "location": LAT_LNG,
    "hourlyRate": "10.00",
    "currency": "EUR",
    "amenities": {"wifi": True},
}
CREATE_BOOKING = {
    "venueId": "{venue}",
    "startsAt": "2031-03-01T10:00:00Z",
    "endsAt": "2031-03-01T12:00:00Z",
    "notes": "Hello",
}
ADD_MEDIA = {
    "resourceType": Enum("IMAGE"),
    "storageKey": "media/new.jpg",
    "contentHash": "a" * 64,
    "extension": "jpg",
    "fileSize": 10,
    "title": "Front",
    "tags": ["front"],
    "venueId": "{venue}",
}
TEXT, ID, CURSOR, FLOAT, DECIMAL, DATETIME, JSON = (
    "text",
    "id",
    "cursor",
    "float",
    "decimal",
    "datetime",
    "json",
)
STRING_FIELDS = ("name", "description", "address", "city", "country", "currency")
MEDIA_TEXT = ("storageKey", "contentHash", "extension", "dominantColor", "altText", "caption")
VENUE_FILTER = _root("venues(filter: $ARG)", "filter", "VenueFilter")
BOOKING_FILTER = _root("bookings(filter: $ARG)", "filter", "BookingFilter")
MEDIA_FILTER = _root("media(filter: $ARG)", "filter", "MediaFilter")
NEAR_ARG = _root("venues(near: $ARG)", "near", "NearInput")
WITHIN = _root("venues(within: $ARG)", "within", "WithinInput")
SEARCH = "edges { cursor }"

PLACES: list[Place] = [
    # --- root queries ---------------------------------------------------------------------
    _root("venue(id: $ARG)", "id", "ID!", "__typename").whole("Query.venue(id)", ID),
    _root("node(id: $ARG)", "id", "ID!", "__typename").whole("Query.node(id)", ID),
    _root("nodes(ids: $ARG)", "ids", "[ID!]!", "__typename").at(
        "Query.nodes(ids)", ID, [BAD], "ids"
    ),
    *(
        _root(f"{name}({argument}: $ARG)", argument, "String").whole(
            f"Query.{name}({argument})", CURSOR
        )
        for name in ("venues", "bookings", "media", "users")
        for argument in ("after", "before")
    ),
    _root("venues(search: $ARG)", "search", "String").whole("Query.venues(search)", TEXT),
    _root("media(search: $ARG)", "search", "String").whole("Query.media(search)", TEXT),
    _root("search(query: $ARG)", "query", "String!", SEARCH).whole("Query.search(query)", TEXT),
    _root('search(query: "hall", after: $ARG)', "after", "String", SEARCH).whole(
        "Query.search(after)", CURSOR
    ),
    _root('search(query: "hall", near: $ARG)', "near", "NearInput", SEARCH).at(
        "Query.search(near)", FLOAT, {**NEAR, "latitude": BAD}, "near.latitude"
    ),
    _root(
        'bookingStats(from: $ARG, to: "2030-02-01T00:00:00Z", groupBy: DAY)',
        "from",
        "DateTime!",
        "key",
    ).whole("Query.bookingStats(from)", DATETIME),
    _root(
        'bookingStats(from: "2030-01-01T00:00:00Z", to: $ARG, groupBy: DAY)',
        "to",
        "DateTime!",
        "key",
    ).whole("Query.bookingStats(to)", DATETIME),
    # --- filters, places and areas ---------------------------------------------------------
    *VENUE_FILTER.fields(
        "VenueFilter", {}, {"city": TEXT, "country": TEXT, "amenities": JSON, "ownerId": ID}
    ),
    VENUE_FILTER.at(
        "DecimalRangeInput.min", DECIMAL, {"hourlyRate": {"min": BAD}}, "filter.hourlyRate.min"
    ),
    VENUE_FILTER.at(
        "DecimalRangeInput.max", DECIMAL, {"hourlyRate": {"max": BAD}}, "filter.hourlyRate.max"
    ),
    *NEAR_ARG.fields("NearInput", NEAR, dict.fromkeys(NEAR, FLOAT)),
    *(
        WITHIN.at(
            f"BoundingBoxInput.{side}",
            FLOAT,
            {"boundingBox": {**BOX, side: BAD}},
            f"within.boundingBox.{side}",
        )
        for side in BOX
    ),
    WITHIN.at("WithinInput.polygon", "geojson", {"polygon": BAD}, "within.polygon"),
    _root("media(within: $ARG)", "within", "WithinInput").at(
        "WithinInput.polygon", "geojson", {"polygon": BAD}, "within.polygon"
    ),
    *BOOKING_FILTER.fields("BookingFilter", {}, {"venueId": ID, "userId": ID}),
    BOOKING_FILTER.at(
        "DateTimeRangeInput.from", DATETIME, {"startsAt": {"from": BAD}}, "filter.startsAt.from"
    ),
    BOOKING_FILTER.at(
        "DateTimeRangeInput.to", DATETIME, {"startsAt": {"to": BAD}}, "filter.startsAt.to"
    ),
    *MEDIA_FILTER.fields(
        "MediaFilter", {}, {"extension": TEXT, "tags": TEXT, "venueId": ID, "bookingId": ID}
    ),
    MEDIA_FILTER.at(
        "MediaFilter.capturedAt", DATETIME, {"capturedAt": {"to": BAD}}, "filter.capturedAt.to"
    ),
    _root("users(filter: $ARG)", "filter", "UserFilter").at(
        "UserFilter.email", TEXT, {"email": BAD}, "filter.email"
    ),
    # --- nested lists ----------------------------------------------------------------------
    _nested('venue(id: "{venue}")', "history(after: $ARG) { totalCount }", "after").whole(
        "Venue.history(after)", CURSOR
    ),
    _nested(
        'node(id: "{booking}")', "... on Booking { history(after: $ARG) { totalCount } }", "after"
    ).whole("Booking.history(after)", CURSOR),
    _nested(
        'node(id: "{media}")', "... on Media { history(after: $ARG) { totalCount } }", "after"
    ).whole("Media.history(after)", CURSOR),
    *(
        # Through `node`: the compiled path answers `venue(id)`, and takes no cursor here yet.
        _nested(
            'node(id: "{venue}")',
            f"... on Venue {{ {name}({argument}: $ARG) {{ totalCount }} }}",
            argument,
        ).whole(f"Venue.{name}({argument})", CURSOR)
        for name in ("bookings", "media")
        for argument in ("after", "before")
    ),
    _nested("viewer", "history(after: $ARG) { totalCount }", "after").whole(
        "User.history(after)", CURSOR
    ),
    _nested("viewer", "sessions(after: $ARG) { totalCount }", "after").whole(
        "User.sessions(after)", CURSOR
    ),
    _nested(
        "viewer", "nearbyVenues(radiusMeters: 1000, after: $ARG) { totalCount }", "after"
    ).whole("User.nearbyVenues(after)", CURSOR),
    _nested(
        "viewer", "nearbyVenues(radiusMeters: $ARG) { totalCount }", "radiusMeters", "Float!"
    ).whole("User.nearbyVenues(radiusMeters)", FLOAT),
    # --- mutations -------------------------------------------------------------------------
    *_input("signUp").fields("SignUpInput", SIGN_UP, dict.fromkeys(SIGN_UP, TEXT)),
    *_input("logIn").fields("LogInInput", LOG_IN, dict.fromkeys(LOG_IN, TEXT)),
    *_input("revokeSession").fields("RevokeSessionInput", {}, {"id": ID}),
    *_input("updateProfile").fields("UpdateProfileInput", {}, {"displayName": TEXT, "email": TEXT}),
    *_input("updatePreferences").fields("UpdatePreferencesInput", {}, {"patch": JSON}),
    *_input("createVenue").fields(
        "CreateVenueInput",
        CREATE_VENUE,
        {**dict.fromkeys(STRING_FIELDS, TEXT), "hourlyRate": DECIMAL, "amenities": JSON},
    ),
    *(
        _input("createVenue").at(
            f"LatLngInput.{name}",
            FLOAT,
            {**CREATE_VENUE, "location": {**LAT_LNG, name: BAD}},
            f"input.location.{name}",
        )
        for name in LAT_LNG
    ),
    *_input("updateVenue").fields(
        "UpdateVenueInput",
        {"id": "{venue}"},
        {**dict.fromkeys(STRING_FIELDS, TEXT), "id": ID, "hourlyRate": DECIMAL, "amenities": JSON},
    ),
    _input("updateVenue").at(
        "LatLngInput.latitude",
        FLOAT,
        {"id": "{venue}", "location": {**LAT_LNG, "latitude": BAD}},
        "input.location.latitude",
    ),
    *(
        place
        for mutation, type_ in (
            ("deleteVenue", "DeleteVenueInput"),
            ("restoreVenue", "RestoreVenueInput"),
            ("confirmBooking", "ConfirmBookingInput"),
            ("cancelBooking", "CancelBookingInput"),
            ("completeBooking", "CompleteBookingInput"),
            ("deleteMedia", "DeleteMediaInput"),
            ("restoreMedia", "RestoreMediaInput"),
        )
        for place in _input(mutation).fields(type_, {}, {"id": ID})
    ),
    *_input("createBooking").fields(
        "CreateBookingInput",
        CREATE_BOOKING,
        {"venueId": ID, "startsAt": DATETIME, "endsAt": DATETIME, "notes": TEXT},
    ),
    *_input("addMedia").fields(
        "AddMediaInput",
        ADD_MEDIA,
        {
            **dict.fromkeys((*MEDIA_TEXT, "title", "tags"), TEXT),
            "durationSeconds": DECIMAL,
            "exif": JSON,
            "venueId": ID,
            "bookingId": ID,
            "capturedAt": DATETIME,
        },
    ),
    _input("addMedia").at(
        "LatLngInput.longitude",
        FLOAT,
        {**ADD_MEDIA, "location": {**LAT_LNG, "longitude": BAD}},
        "input.location.longitude",
    ),
    *_input("updateMedia").fields(
        "UpdateMediaInput",
        {"id": "{media}"},
        {
            **dict.fromkeys(("title", "altText", "caption", "dominantColor", "tags"), TEXT),
            "id": ID,
            "exif": JSON,
            "capturedAt": DATETIME,
        },
    ),
    _input("updateMedia").at(
        "LatLngInput.latitude",
        FLOAT,
        {"id": "{media}", "location": {**LAT_LNG, "latitude": BAD}},
        "input.location.latitude",
    ),
]

# Named types whose values these tests send bad values of; Int, Boolean and enums are
# checked by graphql-core itself.
VALUE_TYPES = {"String", "ID", "Float", "Decimal", "DateTime", "JSON", "GeoJSON"}


def schema_places() -> set[str]:
    """Every argument and input field of the schema taking one of `VALUE_TYPES`."""
    found = set()
    for named in schema._schema.type_map.values():  # noqa: SLF001 - the GraphQL schema itself
        if named.name.startswith("__"):
            continue
        if isinstance(named, GraphQLObjectType):
            for field_name, field in named.fields.items():
                for arg_name, arg in field.args.items():
                    if get_named_type(arg.type).name in VALUE_TYPES:
                        found.add(f"{named.name}.{field_name}({arg_name})")
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if get_named_type(field.type).name in VALUE_TYPES:
                    found.add(f"{named.name}.{field_name}")
    return found


def test_the_table_covers_the_schema():
    # Subscriptions run over the websocket only: tests/graph/live/test_argument_values.py.
    covered = {place.covers for place in PLACES} | SUBSCRIPTION_PLACES
    assert schema_places() - covered == set()


# --- sending ---------------------------------------------------------------------------------


def _filled(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, ids) for item in value]
    return value


def as_json(value: Any, bad: str) -> str:
    """`value` as JSON text, the raw text `bad` where `BAD` is."""
    if value is BAD:
        return bad
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)}: {as_json(v, bad)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(as_json(item, bad) for item in value) + "]"
    if isinstance(value, Enum):
        return json.dumps(value.name)
    return json.dumps(value)


def as_literal(value: Any, bad: str) -> str:
    """`value` as a GraphQL literal, the raw text `bad` where `BAD` is."""
    if value is BAD:
        return bad
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {as_literal(v, bad)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(as_literal(item, bad) for item in value) + "]"
    if isinstance(value, Enum):
        return value.name
    return json.dumps(value)  # strings, numbers, true, false, null: JSON writes them as GraphQL


@pytest.fixture
async def world(session, client):
    """A host's venue, a member's booking of it, a photo of it, and a token per role."""
    return await make_world(session, client)


async def make_world(session, client) -> dict[str, Any]:
    """`world`'s rows, its tokens and global IDs, and the client to send with."""
    host = await make_user(session, role="host")
    member = await make_user(session, role="member")
    # A home, so that `nearbyVenues` gets as far as its cursor.
    admin = await make_user(session, role="admin", preferences={"home": LAT_LNG})
    venue = await make_venue(session, owner=host)
    booking = await make_booking(session, venue=venue, user=member)
    media = await make_media(session, venue=venue, owner=host)
    tokens: dict[str | None, str | None] = {None: None}
    for role, user in (("admin", admin), ("host", host), ("member", member)):
        tokens[role] = token = f"{role}-token"
        await make_login_session(session, user=user, token=token)
    ids = {
        "venue": encode_global_id("Venue", venue.id),
        "booking": encode_global_id("Booking", booking.id),
        "media": encode_global_id("Media", media.id),
    }
    return {"tokens": tokens, "ids": ids, "client": client}


ROWS = text(
    "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions)"
    " + (SELECT count(*) FROM venues) + (SELECT count(*) FROM bookings)"
    " + (SELECT count(*) FROM media) + (SELECT count(*) FROM audit_log)"
)


async def rows(session) -> int:
    """Rows of every table a request could write."""
    return (await session.execute(ROWS)).scalar_one()


async def send(world, place: Place, *, bad: str, literal: bool, role: str | None):
    """Send `place` with `bad` (raw JSON or literal text); the response's status and body."""
    document = _fill_document(place.document, world["ids"])
    value = _filled(place.value, world["ids"])
    if literal:
        document = document.replace("$DEFS", "").replace("$ARG", as_literal(value, bad))
        variables = "{}"
    else:
        definitions = f"(${place.argument}: {place.type})"
        document = document.replace("$DEFS", definitions).replace("$ARG", f"${place.argument}")
        variables = f"{{{json.dumps(place.argument)}: {as_json(value, bad)}}}"
    body = f'{{"query": {json.dumps(document)}, "variables": {variables}}}'
    headers = {"Content-Type": "application/json"}
    if world["tokens"][role]:
        headers["Authorization"] = f"Bearer {world['tokens'][role]}"
    return await world["client"].post("/graphql", content=body.encode(), headers=headers)


def _fill_document(document: str, ids: dict[str, str]) -> str:
    for name, global_id in ids.items():
        document = document.replace(f"{{{name}}}", global_id)
    return document


def assert_answered(response, caplog, label: str) -> list[dict[str, Any]]:
    """JSON, a 200 (or 400 for a request error), a code on every error and none internal."""
    assert response.status_code in {200, 400}, (label, response.status_code, response.text[:300])
    assert "json" in response.headers["content-type"], label
    errors = response.json().get("errors") or []
    codes = [error.get("extensions", {}).get("code") for error in errors]
    assert None not in codes, (label, errors)
    assert INTERNAL not in codes, (label, errors)
    logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not logged, (label, [record.getMessage() for record in logged])
    return errors


def assert_refused(errors: list[dict[str, Any]], field: str, label: str) -> None:
    """Refused with BAD_USER_INPUT, and one of the errors names `field`."""
    assert errors, label
    assert {error["extensions"]["code"] for error in errors} == {"BAD_USER_INPUT"}, (label, errors)
    fields = {error["extensions"].get("field") for error in errors}
    assert any(f == field or (f or "").startswith(f"{field}.") for f in fields), (
        label,
        field,
        errors,
    )


PLACE_IDS = [f"{place.covers}[{place.field}]" for place in PLACES]


@pytest.mark.parametrize("place", PLACES, ids=PLACE_IDS)
async def test_unstorable_values_are_refused_everywhere_for_everyone(session, caplog, world, place):
    """Checked before any resolver: the same refusal whoever asks, as variable or literal."""
    before = await rows(session)
    for index, (label, as_variable, as_literal_text) in enumerate(VALUES[place.kind]):
        # Refused before any resolver, so the role cannot matter: every role gets the first
        # values, anonymous requests all of them (which keeps the run short).
        for role in ROLES if index < ALL_ROLES_FOR else (None,):
            for literal, bad in ((False, as_variable), (True, as_literal_text)):
                if bad is None:
                    continue
                caplog.clear()
                name = f"{label} as {'literal' if literal else 'variable'}, {role or 'anonymous'}"
                response = await send(world, place, bad=bad, literal=literal, role=role)
                errors = assert_answered(response, caplog, name)
                assert_refused(errors, place.field, name)
    assert await rows(session) == before


DECODED_PLACES = [place for place in PLACES if place.kind in DECODED]


@pytest.mark.parametrize(
    "place", DECODED_PLACES, ids=[f"{p.covers}[{p.field}]" for p in DECODED_PLACES]
)
async def test_undecodable_ids_and_cursors_are_bad_user_input(session, caplog, world, place):
    """An admin's is refused for the value; others may be turned away before it is read."""
    before = await rows(session)
    for label, as_variable, as_literal_text in DECODED[place.kind]:
        for role in ROLES:
            for literal, bad in ((False, as_variable), (True, as_literal_text)):
                if bad is None:
                    continue
                caplog.clear()
                name = f"{label} as {'literal' if literal else 'variable'}, {role or 'anonymous'}"
                response = await send(world, place, bad=bad, literal=literal, role=role)
                errors = assert_answered(response, caplog, name)
                if role == "admin":
                    assert_refused(errors, place.field, name)
                else:
                    assert {e["extensions"]["code"] for e in errors} <= ACCESS_CODES, (name, errors)
    assert await rows(session) == before


TYPED_ID_PLACES = [
    place
    for place in DECODED_PLACES
    if place.kind == "id" and place.covers not in {"Query.node(id)", "Query.nodes(ids)"}
]


@pytest.mark.parametrize(
    "place", TYPED_ID_PLACES, ids=[f"{p.covers}[{p.field}]" for p in TYPED_ID_PLACES]
)
async def test_an_id_of_another_type_is_bad_user_input(session, caplog, world, place):
    before = await rows(session)
    for literal in (False, True):
        response = await send(world, place, bad=WRONG_TYPE_ID, literal=literal, role="admin")
        errors = assert_answered(response, caplog, "wrong type")
        assert_refused(errors, place.field, "wrong type")
    assert await rows(session) == before


async def test_node_of_an_unknown_type_is_null_not_an_error(caplog, world):
    place = PLACES[1]
    response = await send(world, place, bad=WRONG_TYPE_ID, literal=False, role="admin")
    assert assert_answered(response, caplog, "node") == []
    assert response.json() == {"data": {"node": None}}


@pytest.mark.parametrize(
    ("created_at", "label"),
    [
        ("9999-12-31T23:00:00-14:00", "past year 9999 in UTC"),
        ("0001-01-01T00:00:00+14:00", "before year 1 in UTC"),
        ("99999-01-01T00:00:00+00:00", "year 99999"),
        ("-0001-01-01T00:00:00+00:00", "negative year"),
        ("2030-01-01T00:00:00", "no offset"),
        ("not a time", "garbage"),
    ],
)
async def test_an_audit_event_id_with_a_bad_time_is_bad_user_input(
    caplog, world, created_at, label
):
    bad = b64(f"AuditEvent:{uuid.uuid4()}:{created_at}")
    for place, field in ((PLACES[1], "id"), (PLACES[2], "ids")):
        for role in ROLES:
            response = await send(world, place, bad=json_string(bad), literal=False, role=role)
            errors = assert_answered(response, caplog, label)
            assert_refused(errors, field, label)


async def test_a_well_formed_audit_event_id_still_resolves(caplog, world):
    place = PLACES[1]
    good = encode_timestamped_id("AuditEvent", uuid.uuid4(), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    response = await send(world, place, bad=json_string(good), literal=False, role="admin")
    assert assert_answered(response, caplog, "good") == []
    assert response.json() == {"data": {"node": None}}


SEARCH_PLACE = PLACES[PLACE_IDS.index("Query.venues(search)[search]")]


async def test_a_lone_surrogate_in_a_literal_is_a_parse_error(caplog, world):
    """GraphQL cannot write one: the parser refuses the escape, before anything else."""
    for literal in ('"a\\ud800"', '"\\udfff"'):
        response = await send(world, SEARCH_PLACE, bad=literal, literal=True, role=None)
        errors = assert_answered(response, caplog, literal)
        assert [error["extensions"]["code"] for error in errors] == ["GRAPHQL_PARSE_FAILED"]


async def test_good_values_in_the_same_places_still_work(caplog, world):
    """The checks refuse only what cannot be stored: ordinary values of each kind pass."""
    venues = _query("venues(filter: $ARG)", "totalCount")
    place = Place(
        "",
        "json",
        venues,
        "filter",
        "VenueFilter",
        {"amenities": BAD, "hourlyRate": {"min": "0.5", "max": "1e3"}},
        "",
    )
    for good in (
        '{"wifi": true, "n": 1.5e300, "list": ["café", "🙂"]}',
        '{"big": 123456789012345678901234567890}',
    ):
        for literal in (False, True):
            bad = (
                good
                if not literal
                else good.replace('"wifi"', "wifi")
                .replace('"n"', "n")
                .replace('"list"', "list")
                .replace('"big"', "big")
            )
            response = await send(world, place, bad=bad, literal=literal, role=None)
            assert assert_answered(response, caplog, good) == []
            assert response.json() == {"data": {"venues": {"totalCount": 0}}}
    stats = _query(
        'bookingStats(from: $ARG, to: "9999-12-31T00:00:00Z", groupBy: STATUS)', "key count"
    )
    place = Place("", "datetime", stats, "from", "DateTime!", BAD, "from")
    for good in ('"0001-01-01T00:00:00Z"', '"2030-01-01T00:00:00-14:00"'):
        response = await send(world, place, bad=good, literal=False, role="admin")
        errors = assert_answered(response, caplog, good)
        # Bounded to five years by bookingStats itself, which names the field too.
        assert all(error["extensions"]["code"] == "BAD_USER_INPUT" for error in errors)


async def test_values_past_a_columns_precision_compare_instead_of_overflowing(caplog, world):
    """An amount `numeric(12, 2)` cannot hold is still a number: it matches nothing."""
    venues = _query("venues(filter: $ARG)", "totalCount")
    place = Place("", DECIMAL, venues, "filter", "VenueFilter", {"hourlyRate": BAD}, "")
    for bound in ('{"min": "71719548628005.6606786"}', '{"max": "-1e27", "min": "-2e27"}'):
        response = await send(world, place, bad=bound, literal=False, role=None)
        errors = assert_answered(response, caplog, bound)
        if "-" in bound:  # negative bounds are refused by the filter itself, by field
            assert {error["extensions"]["field"] for error in errors} == {"filter.hourlyRate.min"}
        else:
            assert response.json() == {"data": {"venues": {"totalCount": 0}}}
    cursor = b64(f'["Venue.HOURLY_RATE_ASC","99999999999999999.999","{ZERO_UUID}"]')
    ordered = _query("venues(orderBy: HOURLY_RATE_ASC, after: $ARG)", "totalCount")
    place = Place("", CURSOR, ordered, "after", "String", BAD, "after")
    response = await send(world, place, bad=json_string(cursor), literal=False, role=None)
    assert assert_answered(response, caplog, cursor) == []


@pytest.mark.parametrize("group_by", ["DAY", "WEEK", "MONTH", "VENUE", "STATUS"])
async def test_booking_stats_at_the_ends_of_time(caplog, world, group_by):
    """Buckets of the first and last years that exist are counted, not overflowed."""
    for start, end in (
        ("9995-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", "0005-12-31T00:00:00Z"),
        ("9999-12-31T00:00:00-09:59", "9999-12-31T13:59:00Z"),
    ):
        stats = _query(f'bookingStats(from: "{start}", to: $ARG, groupBy: {group_by})', "key")
        place = Place("", DATETIME, stats, "to", "DateTime!", BAD, "to")
        response = await send(world, place, bad=json_string(end), literal=False, role="admin")
        assert assert_answered(response, caplog, f"{start} {end}") == []


async def test_default_values_are_checked_too(world, caplog):
    """A variable's default is a literal like any other, named after the variable."""
    venues = "venues(filter: {city: $city}) { totalCount }"
    near = "venues(near: {latitude: $n, longitude: 0, radiusMeters: 1}) { totalCount }"
    bookings = "bookings(filter: {startsAt: {from: $at}}) { totalCount }"
    for document, field in (
        (f'query Q($city: String = "a\\u0000") {{ {venues} }}', "city"),
        (f"query Q($n: Float = 1e999) {{ {near} }}", "n"),
        (f'query Q($at: DateTime = "9999-12-31T23:00:00-14:00") {{ {bookings} }}', "at"),
    ):
        response = await world["client"].post("/graphql", json={"query": document})
        errors = assert_answered(response, caplog, document)
        assert_refused(errors, field, document)
