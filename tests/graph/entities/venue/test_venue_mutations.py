import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text

from graph.core.global_id import encode_global_id
from models import AuditLog, Venue, soft_delete
from tests.factories import make_user, make_venue
from tests.graph.viewers import viewer_of

CREATE = """
mutation Create($input: CreateVenueInput!) {
  createVenue(input: $input) {
    venue {
      id name description address city country latitude longitude hourlyRate currency
      amenities owner { id }
    }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateVenueInput!) {
  updateVenue(input: $input) {
    venue { id name city latitude longitude hourlyRate currency amenities description }
  }
}
"""
DELETE = "mutation Delete($id: ID!) { deleteVenue(input: {id: $id}) { venue { id name } } }"
RESTORE = "mutation Restore($id: ID!) { restoreVenue(input: {id: $id}) { venue { id name } } }"
VENUE = "query Venue($id: ID!) { venue(id: $id) { id name } }"


def venue_input(**overrides):
    return {
        "name": "Atelier Nord",
        "description": "A bright studio.",
        "address": "5 Rue des Arts",
        "city": "Lyon",
        "country": "FR",
        "location": {"latitude": 45.764, "longitude": 4.8357},
        "hourlyRate": "42.50",
        "currency": "EUR",
        "amenities": {"wifi": True, "seats": 12},
    } | overrides


def gid(row) -> str:
    return encode_global_id("Venue", row.id)


async def audit_row(session, record_id: uuid.UUID, action: str) -> AuditLog:
    statement = select(AuditLog).where(AuditLog.record_id == record_id, AuditLog.action == action)
    (row,) = (await session.execute(statement)).scalars()
    return row


async def venue_count(session) -> int:
    statement = select(func.count()).select_from(Venue).execution_options(include_deleted=True)
    return await session.scalar(statement)


def error_of(result) -> dict[str, Any]:
    (error,) = result.errors
    return error.extensions


# -- createVenue --------------------------------------------------------------------------------


async def test_a_host_lists_a_venue_and_owns_it(session, execute, count_statements):
    host = await make_user(session, role="host")

    with count_statements as counted:
        result = await execute(CREATE, {"input": venue_input()}, viewer=viewer_of(host))

    assert result.errors is None
    venue = result.data["createVenue"]["venue"]
    assert venue | {"id": None} == {
        "id": None,
        "name": "Atelier Nord",
        "description": "A bright studio.",
        "address": "5 Rue des Arts",
        "city": "Lyon",
        "country": "FR",
        "latitude": pytest.approx(45.764),
        "longitude": pytest.approx(4.8357),
        "hourlyRate": "42.50",
        "currency": "EUR",
        "amenities": {"wifi": True, "seats": 12},
        "owner": {"id": encode_global_id("User", host.id)},
    }
    # The actor, the insert (RETURNING its server-made values), then `owner` through its loader.
    assert counted.count == 3, counted.statements
    row = await session.scalar(select(Venue).where(Venue.owner_id == host.id))
    assert row is not None
    assert venue["id"] == gid(row)
    assert row.hourly_rate == Decimal("42.50")
    inserted = await audit_row(session, row.id, "INSERT")
    assert (inserted.user_id, inserted.user_email) == (host.id, host.email)
    assert inserted.new_data is not None
    assert inserted.new_data["name"] == "Atelier Nord"


async def test_an_admin_may_list_a_venue_and_optional_fields_default(session, execute):
    admin = await make_user(session, role="admin")
    left_out = venue_input(name="  Padded  ")
    del left_out["description"], left_out["amenities"]

    for data, name, description in (
        (left_out, "Padded", ""),
        (venue_input(amenities=None), "Atelier Nord", "A bright studio."),
    ):
        result = await execute(CREATE, {"input": data}, viewer=viewer_of(admin))

        assert result.errors is None
        venue = result.data["createVenue"]["venue"]
        assert (venue["name"], venue["description"], venue["amenities"]) == (name, description, {})
        assert venue["owner"] == {"id": encode_global_id("User", admin.id)}


async def test_members_may_not_list_venues(session, execute):
    member = await make_user(session, role="member")
    before = await venue_count(session)

    result = await execute(CREATE, {"input": venue_input()}, viewer=viewer_of(member))

    assert result.data is None
    assert error_of(result) == {"code": "FORBIDDEN"}
    assert await venue_count(session) == before


async def test_listing_a_venue_needs_a_signed_in_viewer(execute):
    result = await execute(CREATE, {"input": venue_input()})
    assert error_of(result) == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "input.name"),
        ({"name": "x" * 201}, "input.name"),
        ({"address": ""}, "input.address"),
        ({"city": " "}, "input.city"),
        ({"description": "x" * 10_001}, "input.description"),
        ({"location": {"latitude": 90.5, "longitude": 0}}, "input.location.latitude"),
        ({"location": {"latitude": -91, "longitude": 0}}, "input.location.latitude"),
        ({"location": {"latitude": 0, "longitude": 180.01}}, "input.location.longitude"),
        ({"location": {"latitude": 0, "longitude": -181}}, "input.location.longitude"),
        ({"hourlyRate": "-0.01"}, "input.hourlyRate"),
        ({"hourlyRate": "10.005"}, "input.hourlyRate"),
        ({"hourlyRate": "NaN"}, "input.hourlyRate"),
        ({"hourlyRate": "Infinity"}, "input.hourlyRate"),
        ({"hourlyRate": "10000000000"}, "input.hourlyRate"),
        ({"currency": "eur"}, "input.currency"),
        ({"currency": "EURO"}, "input.currency"),
        ({"country": "FRA"}, "input.country"),
        ({"country": "fr"}, "input.country"),
        ({"amenities": ["wifi"]}, "input.amenities"),
        ({"amenities": "wifi"}, "input.amenities"),
        # PostgreSQL text and JSONB cannot hold NUL: refused up front, not a database error.
        ({"name": "Nul\u0000"}, "input.name"),
        ({"amenities": {"wi\u0000fi": True}}, "input.amenities"),
        ({"amenities": {"list": ["a", "\u0000"]}}, "input.amenities"),
    ],
)
async def test_bad_venue_input_names_the_field_and_writes_nothing(
    session, execute, overrides, field
):
    host = await make_user(session, role="host")
    before = await venue_count(session)

    result = await execute(CREATE, {"input": venue_input(**overrides)}, viewer=viewer_of(host))

    assert result.data is None
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}
    assert field in result.errors[0].message
    assert await venue_count(session) == before


async def test_whole_and_trailing_zero_rates_are_accepted(session, execute):
    host = await make_user(session, role="host")
    for given, shown in (("0", "0.00"), ("12.500", "12.50"), (30, "30.00")):
        result = await execute(
            CREATE, {"input": venue_input(hourlyRate=given)}, viewer=viewer_of(host)
        )
        assert result.errors is None
        assert result.data["createVenue"]["venue"]["hourlyRate"] == shown


# -- updateVenue --------------------------------------------------------------------------------


async def test_the_owner_updates_some_fields_and_the_rest_stay(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Old", city="Paris")

    result = await execute(
        UPDATE,
        {
            "input": {
                "id": gid(venue),
                "name": "New name",
                "hourlyRate": "61.00",
                "location": {"latitude": -33.8688, "longitude": 151.2093},
                "amenities": {"projector": True},
            }
        },
        viewer=viewer_of(host),
    )

    assert result.errors is None
    data = result.data["updateVenue"]["venue"]
    assert data["name"] == "New name"
    assert data["hourlyRate"] == "61.00"
    assert (data["latitude"], data["longitude"]) == pytest.approx((-33.8688, 151.2093))
    assert data["amenities"] == {"projector": True}
    assert data["city"] == "Paris"
    updated = await audit_row(session, venue.id, "UPDATE")
    assert updated.user_id == host.id
    assert set(updated.changed_fields or []) == {"name", "hourly_rate", "location", "amenities"}


async def test_an_admin_may_update_any_venue(session, execute):
    venue = await make_venue(session)
    admin = await make_user(session, role="admin")

    result = await execute(
        UPDATE, {"input": {"id": gid(venue), "city": "Nice"}}, viewer=viewer_of(admin)
    )

    assert result.errors is None
    assert result.data["updateVenue"]["venue"]["city"] == "Nice"
    assert (await audit_row(session, venue.id, "UPDATE")).user_id == admin.id


@pytest.mark.parametrize("role", ["host", "member"])
async def test_others_may_not_update_a_venue(session, execute, role):
    venue = await make_venue(session, name="Kept")
    other = await make_user(session, role=role)

    result = await execute(
        UPDATE, {"input": {"id": gid(venue), "name": "Taken"}}, viewer=viewer_of(other)
    )

    assert error_of(result) == {"code": "FORBIDDEN"}
    await session.refresh(venue)
    assert venue.name == "Kept"


async def test_updating_an_unknown_or_deleted_venue_is_not_found(session, execute):
    host = await make_user(session, role="host")
    gone = await make_venue(session, owner=host)
    await soft_delete(session, gone)

    for venue_id in (gone.id, uuid.uuid4()):
        result = await execute(
            UPDATE,
            {"input": {"id": encode_global_id("Venue", venue_id), "name": "x"}},
            viewer=viewer_of(host),
        )
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.id"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": None}, "input.name"),
        ({"hourlyRate": None}, "input.hourlyRate"),
        ({"name": ""}, "input.name"),
        ({"currency": "usd"}, "input.currency"),
        ({"location": {"latitude": 0, "longitude": 200}}, "input.location.longitude"),
        ({"amenities": [1, 2]}, "input.amenities"),
        ({"id": "not-an-id"}, "input.id"),
        ({"id": encode_global_id("Booking", uuid.uuid4())}, "input.id"),
    ],
)
async def test_bad_update_input_names_the_field(session, execute, changes, field):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)

    result = await execute(UPDATE, {"input": {"id": gid(venue)} | changes}, viewer=viewer_of(host))

    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}
    rows = await session.execute(select(AuditLog).where(AuditLog.action == "UPDATE"))
    assert [row for row in rows.scalars() if row.record_id == venue.id] == []


async def test_an_empty_update_changes_nothing(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Same")

    result = await execute(UPDATE, {"input": {"id": gid(venue)}}, viewer=viewer_of(host))

    assert result.errors is None
    assert result.data["updateVenue"]["venue"]["name"] == "Same"
    statement = select(AuditLog).where(AuditLog.record_id == venue.id, AuditLog.action == "UPDATE")
    assert (await session.execute(statement)).first() is None


# -- deleteVenue and restoreVenue ---------------------------------------------------------------


async def test_the_owner_deletes_and_restores_a_venue(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host, name="Cycle")
    viewer = viewer_of(host)

    deleted = await execute(DELETE, {"id": gid(venue)}, viewer=viewer)

    assert deleted.errors is None
    assert deleted.data["deleteVenue"]["venue"] == {"id": gid(venue), "name": "Cycle"}
    assert (await execute(VENUE, {"id": gid(venue)})).data == {"venue": None}
    soft_deleted = await audit_row(session, venue.id, "SOFT_DELETE")
    assert (soft_deleted.user_id, soft_deleted.changed_fields) == (host.id, ["deleted_at"])

    restored = await execute(RESTORE, {"id": gid(venue)}, viewer=viewer)

    assert restored.errors is None
    assert restored.data["restoreVenue"]["venue"] == {"id": gid(venue), "name": "Cycle"}
    assert (await execute(VENUE, {"id": gid(venue)})).data["venue"]["name"] == "Cycle"
    assert (await audit_row(session, venue.id, "RESTORE")).user_id == host.id


async def test_deleting_twice_and_restoring_a_live_venue_change_nothing(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    viewer = viewer_of(host)

    assert (await execute(RESTORE, {"id": gid(venue)}, viewer=viewer)).errors is None
    assert (await execute(DELETE, {"id": gid(venue)}, viewer=viewer)).errors is None
    assert (await execute(DELETE, {"id": gid(venue)}, viewer=viewer)).errors is None

    actions = await session.execute(select(AuditLog.action).where(AuditLog.record_id == venue.id))
    assert sorted(actions.scalars()) == ["INSERT", "SOFT_DELETE"]


async def test_an_admin_may_delete_and_restore_any_venue(session, execute):
    venue = await make_venue(session)
    admin = viewer_of(await make_user(session, role="admin"))

    assert (await execute(DELETE, {"id": gid(venue)}, viewer=admin)).errors is None
    assert (await execute(RESTORE, {"id": gid(venue)}, viewer=admin)).errors is None
    assert (await audit_row(session, venue.id, "RESTORE")).user_id == admin.user_id


@pytest.mark.parametrize("role", ["host", "member"])
async def test_others_may_not_delete_a_venue_nor_learn_of_a_deleted_one(session, execute, role):
    venue = await make_venue(session)
    other = viewer_of(await make_user(session, role=role))

    refused = await execute(DELETE, {"id": gid(venue)}, viewer=other)
    assert error_of(refused) == {"code": "FORBIDDEN"}
    assert (await execute(VENUE, {"id": gid(venue)})).data["venue"] is not None

    await soft_delete(session, venue)
    for mutation in (RESTORE, DELETE):
        hidden = await execute(mutation, {"id": gid(venue)}, viewer=other)
        assert error_of(hidden) == {"code": "NOT_FOUND", "field": "input.id"}
    assert venue.deleted_at is not None


async def test_deleting_or_restoring_an_unknown_venue_is_not_found(session, execute):
    host = viewer_of(await make_user(session, role="host"))
    unknown = encode_global_id("Venue", uuid.uuid4())
    for mutation in (DELETE, RESTORE):
        result = await execute(mutation, {"id": unknown}, viewer=host)
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.id"}
    result = await execute(DELETE, {"id": unknown})
    assert error_of(result) == {"code": "UNAUTHENTICATED"}


async def test_tiny_and_extreme_coordinates_round_trip(session, execute):
    host = await make_user(session, role="host")
    for latitude, longitude in ((1e-7, -2.5e-8), (90, -180), (-90, 180)):
        location = {"latitude": latitude, "longitude": longitude}
        result = await execute(
            CREATE, {"input": venue_input(location=location)}, viewer=viewer_of(host)
        )
        assert result.errors is None
        venue = result.data["createVenue"]["venue"]
        assert (venue["latitude"], venue["longitude"]) == pytest.approx((latitude, longitude))
        stored = await session.execute(
            text(
                "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM venues"
                " WHERE name = 'Atelier Nord' ORDER BY created_at DESC, id DESC LIMIT 1"
            )
        )
        assert tuple(stored.one()) == pytest.approx((latitude, longitude))
