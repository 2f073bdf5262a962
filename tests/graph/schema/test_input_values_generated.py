"""Generated bad values (hypothesis) in the places of `test_input_values.PLACES`, over HTTP.

Strings with NUL and lone surrogates, JSON of any shape with non-finite and huge numbers and
bad keys, times with any offset, floats and decimals of any size, cursors of any bytes or
nesting: never a 5xx, never INTERNAL_SERVER_ERROR, nothing logged at ERROR, and a value the
database cannot store is BAD_USER_INPUT naming its field. Each property runs
`INPUT_VALUES_EXAMPLES` examples (25 by default; `INPUT_VALUES_EXAMPLES=1000 make test
PYTEST_ARGS='-k generated'` for a long run).
"""

import base64
import datetime as dt
import json
import math
import os
from decimal import Decimal
from typing import Any

import pytest

# Imported through importorskip (typed Any), so mypy passes whether hypothesis is there or not.
hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
HealthCheck, given, settings = hypothesis.HealthCheck, hypothesis.given, hypothesis.settings

from tests.graph.schema.test_input_values import (  # noqa: E402 - after the skip
    PLACES,
    ROLES,
    Place,
    assert_answered,
    make_world,
    send,
)

EXAMPLES = int(os.environ.get("INPUT_VALUES_EXAMPLES", "25"))
GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The app and its rolled-back transaction are shared by the examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY_MINUTES = 24 * 60
LAST_DAY = dt.date(9999, 12, 31).toordinal()

unstorable_characters = st.sampled_from(["\x00"]) | st.characters(
    min_codepoint=0xD800, max_codepoint=0xDFFF
)
bad_strings = st.builds(
    lambda before, bad, after: before + bad + after,
    st.text(max_size=12),
    unstorable_characters,
    st.text(max_size=12),
)
any_strings = st.text(max_size=20) | bad_strings
numbers = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | any_strings,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_strings, children, max_size=4)
    ),
    max_leaves=12,
)


def unstorable(value: object) -> bool:
    """Whether PostgreSQL text or JSONB cannot hold `value` (worked out here, independently)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF for char in item):
                return True
        elif isinstance(item, float):
            if math.isnan(item) or math.isinf(item):
                return True
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) >= 2**1024:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def place(covers: str) -> Place:
    """The first place of the table covering `covers`."""
    return next(each for each in PLACES if each.covers == covers)


def codes(errors: list[dict[str, Any]]) -> set[str]:
    """The codes of `errors`."""
    return {error["extensions"]["code"] for error in errors}


def fields(errors: list[dict[str, Any]]) -> set[str]:
    """The fields `errors` name."""
    return {error["extensions"].get("field") for error in errors}


@pytest.fixture
async def generated(session, client) -> dict[str, Any]:
    """The rows, tokens and IDs of `test_input_values.world`."""
    return await make_world(session, client)


@GENERATED
@given(value=st.dictionaries(any_strings, json_values, max_size=5), role=st.sampled_from(ROLES))
async def test_generated_json_is_stored_or_refused_by_field(generated, caplog, value, role):
    caplog.clear()
    response = await send(
        generated, place("VenueFilter.amenities"), bad=json.dumps(value), literal=False, role=role
    )
    errors = assert_answered(response, caplog, repr(value))
    if unstorable(value):
        assert codes(errors) == {"BAD_USER_INPUT"}
        assert fields(errors) == {"filter.amenities"}
    else:
        assert errors == []


@GENERATED
@given(value=json_values, role=st.sampled_from(ROLES))
async def test_generated_patches_never_fail_inside(generated, caplog, value, role):
    caplog.clear()
    patch = place("UpdatePreferencesInput.patch")
    response = await send(generated, patch, bad=json.dumps(value), literal=False, role=role)
    errors = assert_answered(response, caplog, repr(value))
    if unstorable(value):
        assert codes(errors) == {"BAD_USER_INPUT"}
        assert fields(errors) == {"input.patch"}


TEXT_PLACES = [each for each in PLACES if each.kind in {"text", "id", "cursor"}]


@GENERATED
@given(
    where=st.sampled_from(TEXT_PLACES),
    text=bad_strings,
    how=st.tuples(st.sampled_from(ROLES), st.booleans()),
)
async def test_generated_unstorable_text_is_refused_everywhere(generated, caplog, where, text, how):
    caplog.clear()
    role, literal = how
    if literal and any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        literal = False  # GraphQL cannot write a lone surrogate: see the parse-error test
    response = await send(generated, where, bad=json.dumps(text), literal=literal, role=role)
    errors = assert_answered(response, caplog, repr(text))
    assert codes(errors) == {"BAD_USER_INPUT"}
    assert where.field in fields(errors)


@GENERATED
@given(
    moment=st.datetimes(),
    offset=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
async def test_generated_times_are_in_range_in_utc_or_refused(generated, caplog, moment, offset):
    caplog.clear()
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    written = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    utc_minutes = (moment.toordinal() - 1) * DAY_MINUTES + moment.hour * 60 + moment.minute - offset
    in_range = 0 <= utc_minutes < LAST_DAY * DAY_MINUTES
    range_from = place("DateTimeRangeInput.from")
    response = await send(
        generated, range_from, bad=json.dumps(written), literal=False, role="admin"
    )
    errors = assert_answered(response, caplog, written)
    if in_range:
        assert errors == []
    else:
        assert codes(errors) == {"BAD_USER_INPUT"}
        assert fields(errors) == {"filter.startsAt.from"}


@GENERATED
@given(number=numbers, literal=st.booleans())
async def test_generated_latitudes_are_used_or_refused(generated, caplog, number, literal):
    caplog.clear()
    written = json.dumps(number)
    if literal and not (isinstance(number, int) or math.isfinite(number)):
        literal = False  # GraphQL has no NaN or Infinity
    response = await send(
        generated, place("NearInput.latitude"), bad=written, literal=literal, role=None
    )
    errors = assert_answered(response, caplog, written)
    finite = abs(number) < 2**1024 if isinstance(number, int) else math.isfinite(number)
    if finite and -90 <= number <= 90:
        assert errors == []
    else:
        assert codes(errors) == {"BAD_USER_INPUT"}
        # graphql-core refuses an integer a double cannot hold exactly, naming the variable.
        assert fields(errors) in ({"near.latitude"}, {"near"})


@GENERATED
@given(number=st.decimals(allow_nan=True, allow_infinity=True), role=st.sampled_from(ROLES))
async def test_generated_decimals_are_compared_or_refused(generated, caplog, number, role):
    caplog.clear()
    minimum = place("DecimalRangeInput.min")
    response = await send(generated, minimum, bad=json.dumps(str(number)), literal=False, role=role)
    errors = assert_answered(response, caplog, str(number))
    if not number.is_finite() or number < 0:
        assert codes(errors) == {"BAD_USER_INPUT"}
    if errors:
        assert fields(errors) == {"filter.hourlyRate.min"}
    elif number.is_finite():
        assert Decimal(0) <= number


CURSOR_PLACES = [each for each in PLACES if each.kind == "cursor"]


@GENERATED
@given(
    where=st.sampled_from(CURSOR_PLACES),
    payload=st.binary(max_size=200)
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.integers(min_value=2, max_value=6000).map(lambda depth: b"[" * depth + b"]" * depth),
)
async def test_generated_cursors_are_refused_by_field(generated, caplog, where, payload):
    caplog.clear()
    cursor = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    response = await send(generated, where, bad=json.dumps(cursor), literal=False, role="admin")
    errors = assert_answered(response, caplog, repr(payload))
    assert codes(errors) == {"BAD_USER_INPUT"}
    assert fields(errors) == {where.field}


def test_the_places_used_here_exist():
    for covers in (
        "VenueFilter.amenities",
        "UpdatePreferencesInput.patch",
        "DateTimeRangeInput.from",
        "NearInput.latitude",
        "DecimalRangeInput.min",
    ):
        assert place(covers).value is not None
