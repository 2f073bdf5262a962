"""Preferences stay small: each patch and the whole are capped, the merge is exact, the trail
holds changes, and lists that show users do not read the column unless asked."""

import asyncio
import json
import logging
import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from graph.core.global_id import encode_global_id
from graph.http.app import create_app
from models import AuditLog, User
from models.account import (
    MAX_PREFERENCES_BYTES,
    MAX_PREFERENCES_DEPTH,
    MAX_PREFERENCES_PATCH_BYTES,
)
from models.settings import Settings
from tests.factories import make_booking, make_login_session, make_user, make_venue

TOKEN = "preferences-token"
UPDATE = """
mutation Prefer($patch: JSON!) {
  updatePreferences(input: {patch: $patch}) { user { preferences } }
}
"""
PATCH_FIELD = {"code": "BAD_USER_INPUT", "field": "input.patch"}


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST an operation as the signed-in user; the JSON body of a 200 answer."""
    # Serialised here with ASCII escapes: httpx's own encoder refuses lone surrogates.
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        content=json.dumps({"query": query, "variables": variables or {}}),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def error_extensions(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [error["extensions"] for error in body["errors"]]


def compact_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def nested(depth: int, *, through: str = "object") -> dict[str, Any]:
    """An object whose containers nest `depth` deep (the patch itself is level 1)."""
    inner: Any = {"leaf": True}
    if through == "object":
        for _ in range(depth - 1):
            inner = {"n": inner}
        return dict(inner)
    for _ in range(depth - 2):
        inner = [inner]
    return {"list": inner}


async def stored(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    statement = select(User.preferences).where(User.id == user_id)
    return dict((await session.execute(statement)).scalar_one())


async def stored_size(session: AsyncSession, user_id: uuid.UUID) -> int:
    statement = select(func.octet_length(cast(User.preferences, Text))).where(User.id == user_id)
    return int((await session.execute(statement)).scalar_one())


async def audit_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    statement = select(AuditLog.id).where(AuditLog.record_id == user_id)
    return len((await session.execute(statement)).all())


def assert_no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []


@pytest.fixture
async def member(session: AsyncSession) -> uuid.UUID:
    """The id of a signed-in member whose preferences are `{"theme": "light"}`."""
    user = await make_user(session, preferences={"theme": "light"})
    await make_login_session(session, user=user, token=TOKEN)
    return user.id


# --- depth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(nested(MAX_PREFERENCES_DEPTH + 1), id="17-objects"),
        pytest.param(nested(MAX_PREFERENCES_DEPTH + 1, through="array"), id="17-arrays"),
        pytest.param(nested(900), id="900-objects"),  # once past PostgreSQL's stack: a 500
        pytest.param(nested(900, through="array"), id="900-arrays"),
    ],
)
async def test_a_patch_nested_too_deep_is_refused_before_the_database(
    session, client, caplog, member, patch
):
    before = await audit_count(session, member)
    with caplog.at_level(logging.INFO):
        body = await post(client, UPDATE, {"patch": patch})

    assert body["data"] is None
    assert error_extensions(body) == [PATCH_FIELD]
    assert str(MAX_PREFERENCES_DEPTH) in body["errors"][0]["message"]
    assert await stored(session, member) == {"theme": "light"}
    assert await audit_count(session, member) == before
    assert_no_error_logged(caplog)


@pytest.mark.parametrize("through", ["object", "array"])
async def test_a_patch_nested_exactly_16_deep_is_merged(session, client, member, through):
    patch = nested(MAX_PREFERENCES_DEPTH, through=through)

    body = await post(client, UPDATE, {"patch": patch})

    assert "errors" not in body, body
    assert body["data"]["updatePreferences"]["user"]["preferences"] == {"theme": "light"} | patch
    assert await stored(session, member) == {"theme": "light"} | patch


# --- values PostgreSQL cannot store -----------------------------------------------------------


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param({"note": "a\x00b"}, id="nul-in-string"),
        pytest.param({"a\x00": 1}, id="nul-in-key"),
        pytest.param({"note": "\ud800"}, id="lone-surrogate"),
        pytest.param({"deep": {"\udfff": 1}}, id="lone-surrogate-in-nested-key"),
        pytest.param({"list": [1, ["x\x00"]]}, id="nul-in-array"),
    ],
)
async def test_strings_postgresql_cannot_store_are_refused(session, client, caplog, member, patch):
    with caplog.at_level(logging.INFO):
        body = await post(client, UPDATE, {"patch": patch})

    # Refused with every other argument's unstorable strings (graph/schema/input_hygiene.py), before
    # the resolver: the error names the variable that carried them.
    assert error_extensions(body) == [{"code": "BAD_USER_INPUT", "field": "patch"}]
    assert await stored(session, member) == {"theme": "light"}
    assert_no_error_logged(caplog)


@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("{x: 1e999}", id="infinite-float"),
        pytest.param("{x: -1e999}", id="negative-infinite-float"),
        pytest.param("{x: 1" + "0" * 400 + "}", id="400-digit-integer"),
        pytest.param("{x: [1, {y: 1" + "0" * 5000 + "}]}", id="5000-digit-integer"),
    ],
)
async def test_numbers_no_json_reader_can_hold_are_refused(
    session, client, caplog, member, literal
):
    query = f"mutation {{ updatePreferences(input: {{patch: {literal}}}) {{ user {{ id }} }} }}"
    with caplog.at_level(logging.INFO):
        body = await post(client, query)

    assert error_extensions(body) == [PATCH_FIELD]
    assert await stored(session, member) == {"theme": "light"}
    assert_no_error_logged(caplog)


async def test_large_but_finite_numbers_are_kept(session, client, member):
    body = await post(
        client, UPDATE, {"patch": {"big": 10**300, "float": 1.5e308, "neg": -(2**70)}}
    )

    assert "errors" not in body, body
    assert (await stored(session, member))["big"] == 10**300


# --- size of the whole ------------------------------------------------------------------------


def filler(prefix: str, size: int) -> dict[str, str]:
    """An object of about `size` bytes of compact JSON, keys starting with `prefix`."""
    entry = 100
    return {f"{prefix}{n:05d}": "v" * (entry - 12) for n in range(size // entry)}


async def test_patches_that_would_grow_the_whole_past_64_kib_are_refused(session, client, member):
    accepted = 0
    while True:
        patch = filler(f"p{accepted:02d}k", MAX_PREFERENCES_PATCH_BYTES - 1024)
        assert compact_size(patch) <= MAX_PREFERENCES_PATCH_BYTES
        body = await post(client, UPDATE, {"patch": patch})
        if "errors" in body:
            break
        accepted += 1
        assert accepted < 10, "the cap never applied"
    before = await stored(session, member)
    trail = await audit_count(session, member)

    assert accepted == 4  # four patches of 15 KiB fit in 64 KiB; the fifth does not
    assert error_extensions(body) == [PATCH_FIELD]
    assert str(MAX_PREFERENCES_BYTES) in body["errors"][0]["message"]
    assert body["data"] is None
    assert await stored_size(session, member) <= MAX_PREFERENCES_BYTES
    # Nothing of the refused patch stays: not in the row, not in the trail.
    assert await stored(session, member) == before
    assert await audit_count(session, member) == trail
    # Making room is always possible.
    removal = dict.fromkeys(filler("p00k", MAX_PREFERENCES_PATCH_BYTES - 1024))
    body = await post(client, UPDATE, {"patch": removal | {"theme": "dark"}})
    assert "errors" not in body, body
    assert compact_size(await stored(session, member)) < compact_size(before)


async def test_a_document_over_the_cap_from_before_accepts_only_patches_that_shrink_it(
    session, client
):
    old = filler("old", MAX_PREFERENCES_BYTES + 10_000)
    user = await make_user(session, preferences=old)
    user_id = user.id
    await make_login_session(session, user=user, token=TOKEN)

    grown = await post(client, UPDATE, {"patch": {"theme": "dark"}})
    still_over = await post(client, UPDATE, {"patch": {"old00000": None}})
    halved = await post(client, UPDATE, {"patch": dict.fromkeys(list(old)[: len(old) // 2])})

    assert error_extensions(grown) == [PATCH_FIELD]
    assert error_extensions(still_over) == [PATCH_FIELD]
    assert "errors" not in halved, halved
    assert len(await stored(session, user_id)) == len(old) - len(old) // 2


# --- the merge itself -------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, section 2, as written there."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def random_json(rng: random.Random, depth: int, *, nulls: bool) -> Any:
    kinds = ["int", "str", "bool", "float", "list", "object"] + (["null"] * 2 if nulls else [])
    kind = rng.choice(kinds if depth > 0 else kinds[:4])
    if kind == "object":
        return random_object(rng, depth - 1, nulls=nulls)
    if kind == "list":
        return [random_json(rng, depth - 1, nulls=False) for _ in range(rng.randint(0, 3))]
    return {
        "int": lambda: rng.randint(-5, 5),
        "str": lambda: rng.choice(["", "a", "dark", "ü", "日本"]),
        "bool": lambda: rng.random() < 0.5,
        "float": lambda: rng.choice([0.5, -2.25, 1e-3]),
        "null": lambda: None,
    }[kind]()


def random_object(rng: random.Random, depth: int, *, nulls: bool) -> dict[str, Any]:
    keys = rng.sample(["a", "b", "c", "d", "e"], rng.randint(0, 4))
    return {key: random_json(rng, depth, nulls=nulls) for key in keys}


async def test_the_merge_agrees_with_rfc_7396_on_generated_documents(session, client):
    # Generated, seeded and bounded: small key sets so patches hit existing keys and nest.
    rng = random.Random(7396)  # noqa: S311 - seeded test data, not a secret
    for case in range(40):
        document = random_object(rng, 3, nulls=False)
        patch = random_object(rng, 3, nulls=True)
        user = await make_user(session, preferences=document)
        token = f"merge-{case}"
        await make_login_session(session, user=user, token=token)

        response = await client.post(
            "/graphql",
            headers={"Authorization": f"Bearer {token}"},
            json={"query": UPDATE, "variables": {"patch": patch}},
        )

        expected = merge_patch(document, patch)
        body = response.json()
        assert "errors" not in body, (document, patch, body)
        assert body["data"]["updatePreferences"]["user"]["preferences"] == expected, (
            document,
            patch,
        )
        assert await stored(session, user.id) == expected


# --- the audit trail --------------------------------------------------------------------------


async def user_audit(session: AsyncSession, user: User) -> list[AuditLog]:
    statement = select(AuditLog).where(AuditLog.record_id == user.id).order_by(AuditLog.seq)
    return list((await session.execute(statement)).scalars())


async def test_the_trail_holds_what_changed_not_the_whole_document_twice(session, client):
    big = filler("keep", 40_000) | {"theme": "light", "gone": 1, "nested": {"a": 1, "b": 2}}
    user = await make_user(session, preferences=big)
    await make_login_session(session, user=user, token=TOKEN)
    patch = {"theme": "dark", "gone": None, "nested": {"b": None, "c": 3}, "absent": None}

    body = await post(client, UPDATE, {"patch": patch})
    renamed = await post(
        client,
        'mutation { updateProfile(input: {displayName: "Renamed"}) { user { id } } }',
    )

    assert "errors" not in body, body
    assert "errors" not in renamed, renamed
    inserted, patched, rename = await user_audit(session, user)
    assert patched.changed_fields == ["preferences"]
    assert patched.new_data is not None
    assert patched.old_data is not None
    # Forward: what the patch changed ("absent" was not there, so it changed nothing).
    assert patched.new_data["preferences"] == {
        "theme": "dark",
        "gone": None,
        "nested": {"b": None, "c": 3},
    }
    # Backward: the patch that undoes it.
    assert patched.old_data["preferences"] == {
        "theme": "light",
        "gone": 1,
        "nested": {"b": 2, "c": None},
    }
    assert compact_size(patched.new_data) + compact_size(patched.old_data) < 2_000
    # An update that leaves the preferences alone does not copy them at all.
    assert rename.changed_fields == ["display_name"]
    assert rename.old_data is not None
    assert rename.new_data is not None
    assert "preferences" not in rename.old_data
    assert "preferences" not in rename.new_data
    # The insert's document and the forward patches rebuild the current preferences.
    assert inserted.new_data is not None
    rebuilt = merge_patch(inserted.new_data["preferences"], patched.new_data["preferences"])
    assert rebuilt == await stored(session, user.id)


# --- lists do not read preferences unless asked -----------------------------------------------


LISTS = [
    pytest.param(
        "{{ venues(first: 5) {{ edges {{ node {{ name owner {{ displayName {extra} }} }} }} }} }}",
        id="venues-owner",
    ),
    pytest.param(
        "{{ users(first: 5) {{ edges {{ node {{ displayName {extra} }} }} }} }}",
        id="users",
    ),
    pytest.param(
        "{{ venues(first: 5) {{ edges {{ node {{ bookings(first: 5) {{ edges {{ node {{"
        " user {{ displayName {extra} }} }} }} }} }} }} }} }}",
        id="venues-bookings-user",
    ),
]


@pytest.mark.parametrize("template", LISTS)
async def test_lists_that_show_users_read_preferences_only_when_asked(
    session, client, count_statements, template
):
    admin = await make_user(session, role="admin")
    await make_login_session(session, user=admin, token=TOKEN)
    for n in range(3):
        host = await make_user(session, role="host", preferences={"host": n, "pad": "x" * 5000})
        venue = await make_venue(session, owner=host)
        guest = await make_user(session, preferences={"guest": n, "pad": "y" * 5000})
        await make_booking(session, user=guest, venue=venue)

    with count_statements as plain:
        body = await post(client, template.format(extra=""))
    assert "errors" not in body, body
    assert plain.count > 0
    assert [s for s in plain.statements if "preferences" in s] == []

    with count_statements as asked:
        body = await post(client, template.format(extra="preferences"))
    assert "errors" not in body, body
    # One batched statement for every user shown, whatever their number.
    assert len([s for s in asked.statements if "preferences" in s]) == 1
    assert '"pad"' in json.dumps(body)


async def test_the_viewer_reads_its_own_preferences_and_nearby_venues(session, client):
    home = {"latitude": 48.853, "longitude": 2.3499}
    user = await make_user(session, preferences={"home": home})
    await make_login_session(session, user=user, token=TOKEN)
    venue = await make_venue(session, latitude=48.8531, longitude=2.35)

    body = await post(
        client,
        "{ viewer { preferences nearbyVenues(radiusMeters: 1000) { edges { node { id } } } } }",
    )

    assert "errors" not in body, body
    assert body["data"]["viewer"]["preferences"] == {"home": home}
    edges = body["data"]["viewer"]["nearbyVenues"]["edges"]
    assert [edge["node"]["id"] for edge in edges] == [encode_global_id("Venue", venue.id)]


# --- concurrent patches -----------------------------------------------------------------------


async def test_concurrent_patches_of_different_keys_all_apply(engine, test_database):
    # Each request on a pooled connection of its own, so the patches really race for the row.
    racers = 12
    async with AsyncSession(engine, expire_on_commit=False) as setup:
        user = await make_user(setup, preferences={"theme": "light"})
        await make_login_session(setup, user=user, token=f"race-{user.id}")
        await setup.commit()
    app = create_app(Settings(database_url=test_database.url, db_pool_size=racers))
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test"
            ) as racing,
        ):
            responses = await asyncio.gather(
                *(
                    racing.post(
                        "/graphql",
                        headers={"Authorization": f"Bearer race-{user.id}"},
                        json={"query": UPDATE, "variables": {"patch": {f"key{n}": n}}},
                    )
                    for n in range(racers)
                )
            )
        assert [r.status_code for r in responses] == [200] * racers
        assert [r.json().get("errors") for r in responses] == [None] * racers
        async with engine.connect() as connection:
            final = (
                await connection.execute(select(User.preferences).where(User.id == user.id))
            ).scalar_one()
        assert final == {"theme": "light"} | {f"key{n}": n for n in range(racers)}
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM sessions WHERE user_id = :id"), {"id": user.id}
            )
            await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
            await connection.execute(
                text("DELETE FROM audit_log WHERE record_id = :id"), {"id": user.id}
            )


async def test_the_recorded_patches_turn_each_document_into_the_other(session):
    # What the trail stores for a preferences change (migration 0008's `jsonb_merge_diff`):
    # applied to the old document the forward patch gives the new one, and back.
    rng = random.Random(7397)  # noqa: S311 - seeded test data, not a secret
    pairs = [
        (random_object(rng, 3, nulls=False), random_object(rng, 3, nulls=False)) for _ in range(200)
    ]
    statement = text(
        "SELECT jsonb_merge_patch(a, jsonb_merge_diff(a, b)) = b"
        " AND jsonb_merge_patch(b, jsonb_merge_diff(b, a)) = a"
        " AND (a <> b OR jsonb_merge_diff(a, b) = '{}')"
        " FROM (SELECT CAST(:a AS jsonb) AS a, CAST(:b AS jsonb) AS b) AS pair"
    )
    for old, new in pairs:
        result = await session.execute(statement, {"a": json.dumps(old), "b": json.dumps(new)})
        assert result.scalar_one(), (old, new)
