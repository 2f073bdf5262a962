import hashlib
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text

from graph.core.global_id import encode_global_id
from models import AuditLog, Media, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

ADD = """
mutation Add($input: AddMediaInput!) {
  addMedia(input: $input) {
    media {
      id title resourceType storageKey extension fileSize width height durationSeconds
      dominantColor altText caption tags capturedAt
    }
  }
}
"""
UPDATE = """
mutation Update($input: UpdateMediaInput!) {
  updateMedia(input: $input) { media { id title altText caption tags dominantColor capturedAt } }
}
"""
DELETE = "mutation Delete($id: ID!) { deleteMedia(input: {id: $id}) { media { id title } } }"
RESTORE = "mutation Restore($id: ID!) { restoreMedia(input: {id: $id}) { media { id title } } }"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on Media { title } } }"
HASH = hashlib.sha256(b"file").hexdigest()


def media_input(**overrides):
    return {
        "resourceType": "IMAGE",
        "storageKey": f"uploads/{uuid.uuid4()}.jpg",
        "contentHash": HASH,
        "extension": "jpg",
        "fileSize": 2048,
        "width": 800,
        "height": 600,
        "title": "Front room",
    } | overrides


def gid(row) -> str:
    return encode_global_id(type(row).__name__, row.id)


def error_of(result) -> dict[str, Any]:
    (error,) = result.errors
    return error.extensions


async def media_count(session) -> int:
    statement = select(func.count()).select_from(Media).execution_options(include_deleted=True)
    return await session.scalar(statement)


async def audit_row(session, record_id: uuid.UUID, action: str) -> AuditLog:
    statement = select(AuditLog).where(AuditLog.record_id == record_id, AuditLog.action == action)
    (row,) = (await session.execute(statement)).scalars()
    return row


async def stored(session, media_id: uuid.UUID) -> Media:
    statement = (
        select(Media)
        .where(Media.id == media_id)
        .execution_options(include_deleted=True, populate_existing=True)
    )
    return (await session.execute(statement)).scalar_one()


# -- addMedia -----------------------------------------------------------------------------------


async def test_a_host_adds_a_video_of_their_venue(session, execute, count_statements):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    data = media_input(
        resourceType="VIDEO",
        extension="mp4",
        durationSeconds="12.345",
        dominantColor="#1a2b3c",
        altText="A walk through the room",
        caption="Morning light",
        tags=["loft", "light", "loft"],
        exif={"camera": "X100"},
        venueId=gid(venue),
        capturedAt="2031-05-01T09:30:00+02:00",
        location={"latitude": 48.85, "longitude": 2.35},
    )

    with count_statements as counted:
        result = await execute(ADD, {"input": data}, viewer=viewer_of(host))

    assert result.errors is None
    media = result.data["addMedia"]["media"]
    assert media | {"id": None} == {
        "id": None,
        "title": "Front room",
        "resourceType": "VIDEO",
        "storageKey": data["storageKey"],
        "extension": "mp4",
        "fileSize": 2048,
        "width": 800,
        "height": 600,
        "durationSeconds": "12.345",
        "dominantColor": "#1a2b3c",
        "altText": "A walk through the room",
        "caption": "Morning light",
        "tags": ["loft", "light"],
        "capturedAt": "2031-05-01T09:30:00+02:00",
    }
    # The venue (for the host check), the actor, the insert.
    assert counted.count == 3, counted.statements
    row = await session.scalar(select(Media).where(Media.storage_key == data["storageKey"]))
    assert row is not None
    assert (row.owner_id, row.venue_id, row.booking_id) == (host.id, venue.id, None)
    assert row.exif == {"camera": "X100"}
    location = await session.execute(
        text("SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM media WHERE id = :id"),
        {"id": row.id},
    )
    assert tuple(location.one()) == pytest.approx((48.85, 2.35))
    inserted = await audit_row(session, row.id, "INSERT")
    assert (inserted.user_id, inserted.user_email) == (host.id, host.email)


async def test_a_member_adds_media_unattached_with_defaults(session, execute):
    member = await make_user(session)

    result = await execute(
        ADD, {"input": media_input(width=None, height=None, exif=None)}, viewer=viewer_of(member)
    )

    assert result.errors is None
    media = result.data["addMedia"]["media"]
    assert (media["tags"], media["width"], media["durationSeconds"]) == ([], None, None)
    row = await session.scalar(select(Media).where(Media.owner_id == member.id))
    assert row is not None
    assert (row.venue_id, row.booking_id, row.exif) == (None, None, {})


@pytest.mark.parametrize("who", ["guest", "host", "admin"])
async def test_media_of_a_booking_by_its_guest_host_or_an_admin(session, execute, who):
    host = await make_user(session, role="host")
    guest = await make_user(session)
    venue = await make_venue(session, owner=host)
    booking = await make_booking(session, venue=venue, user=guest)
    viewer = {"guest": guest, "host": host, "admin": await make_user(session, role="admin")}[who]

    result = await execute(
        ADD, {"input": media_input(bookingId=gid(booking))}, viewer=viewer_of(viewer)
    )

    assert result.errors is None
    row = await session.scalar(select(Media).where(Media.owner_id == viewer.id))
    assert row is not None
    # The booking's venue is implied, so its host sees and manages the media.
    assert (row.booking_id, row.venue_id) == (booking.id, venue.id)


async def test_media_of_a_booking_may_name_its_venue_but_no_other(session, execute):
    guest = await make_user(session)
    venue = await make_venue(session)
    booking = await make_booking(session, venue=venue, user=guest)
    other = await make_venue(session)
    viewer = viewer_of(guest)

    same = media_input(bookingId=gid(booking), venueId=gid(venue))
    assert (await execute(ADD, {"input": same}, viewer=viewer)).errors is None

    wrong = media_input(bookingId=gid(booking), venueId=gid(other))
    result = await execute(ADD, {"input": wrong}, viewer=viewer)
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "input.venueId"}


@pytest.mark.parametrize("role", ["member", "host"])
async def test_only_the_host_or_an_admin_attaches_media_to_a_venue(session, execute, role):
    venue = await make_venue(session)
    other = await make_user(session, role=role)
    before = await media_count(session)

    result = await execute(ADD, {"input": media_input(venueId=gid(venue))}, viewer=viewer_of(other))

    assert error_of(result) == {"code": "FORBIDDEN"}
    assert await media_count(session) == before
    admin = await make_user(session, role="admin")
    allowed = await execute(
        ADD, {"input": media_input(venueId=gid(venue))}, viewer=viewer_of(admin)
    )
    assert allowed.errors is None


async def test_a_booking_the_viewer_cannot_see_is_not_found(session, execute):
    booking = await make_booking(session)
    stranger = await make_user(session, role="host")

    for booking_id in (booking.id, uuid.uuid4()):
        data = media_input(bookingId=encode_global_id("Booking", booking_id))
        result = await execute(ADD, {"input": data}, viewer=viewer_of(stranger))
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.bookingId"}


async def test_unknown_and_deleted_venues_are_not_found(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    await soft_delete(session, venue)
    for venue_id in (venue.id, uuid.uuid4()):
        data = media_input(venueId=encode_global_id("Venue", venue_id))
        result = await execute(ADD, {"input": data}, viewer=viewer_of(host))
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.venueId"}


async def test_adding_media_needs_a_signed_in_viewer(execute):
    result = await execute(ADD, {"input": media_input()})
    assert error_of(result) == {"code": "UNAUTHENTICATED"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"storageKey": "  "}, "input.storageKey"),
        ({"storageKey": "k" * 513}, "input.storageKey"),
        ({"storageKey": "a\u0000b"}, "input.storageKey"),
        ({"caption": "nul \u0000"}, "input.caption"),
        ({"exif": {"note": "\u0000"}}, "input.exif"),
        ({"contentHash": "ABC"}, "input.contentHash"),
        ({"contentHash": HASH.upper()}, "input.contentHash"),
        ({"extension": "JPG"}, "input.extension"),
        ({"extension": ".jpg"}, "input.extension"),
        ({"extension": "abcdefghijk"}, "input.extension"),
        ({"fileSize": 0}, "input.fileSize"),
        ({"width": 0}, "input.width"),
        ({"height": -5}, "input.height"),
        ({"durationSeconds": "3"}, "input.durationSeconds"),  # an image has no duration
        ({"resourceType": "VIDEO", "durationSeconds": "0"}, "input.durationSeconds"),
        ({"resourceType": "VIDEO", "durationSeconds": "1.0005"}, "input.durationSeconds"),
        ({"resourceType": "VIDEO", "durationSeconds": "NaN"}, "input.durationSeconds"),
        ({"dominantColor": "#FFFFFF"}, "input.dominantColor"),
        ({"dominantColor": "red"}, "input.dominantColor"),
        ({"title": " "}, "input.title"),
        ({"title": "t" * 201}, "input.title"),
        ({"altText": "a" * 5001}, "input.altText"),
        ({"tags": ["ok", " "]}, "input.tags"),
        ({"tags": [f"t{i}" for i in range(51)]}, "input.tags"),
        ({"exif": [1]}, "input.exif"),
        ({"capturedAt": "2031-05-01T09:30:00"}, "input.capturedAt"),
        ({"location": {"latitude": 91, "longitude": 0}}, "input.location.latitude"),
        ({"location": {"latitude": 0, "longitude": -180.5}}, "input.location.longitude"),
        ({"venueId": "bogus"}, "input.venueId"),
        ({"bookingId": encode_global_id("Venue", uuid.uuid4())}, "input.bookingId"),
    ],
)
async def test_bad_media_input_names_the_field_and_writes_nothing(
    session, execute, overrides, field
):
    member = await make_user(session)
    before = await media_count(session)

    result = await execute(ADD, {"input": media_input(**overrides)}, viewer=viewer_of(member))

    assert result.data is None
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}
    assert await media_count(session) == before


async def test_a_storage_key_in_use_is_bad_user_input(session, execute):
    existing = await make_media(session, storage_key="uploads/taken.jpg")
    await soft_delete(session, existing)  # even a deleted row keeps its key
    member = await make_user(session)
    viewer = viewer_of(member)
    before = await media_count(session)

    result = await execute(
        ADD, {"input": media_input(storageKey="uploads/taken.jpg")}, viewer=viewer
    )

    assert result.data is None
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "input.storageKey"}
    assert "uq_media" not in result.errors[0].message
    assert await media_count(session) == before


# -- updateMedia --------------------------------------------------------------------------------


async def test_the_owner_updates_and_clears_fields(session, execute):
    owner = await make_user(session)
    media = await make_media(session, owner=owner, caption="Old caption", alt_text="Old alt")

    result = await execute(
        UPDATE,
        {
            "input": {
                "id": gid(media),
                "title": "Renamed",
                "caption": None,
                "tags": ["new"],
                "dominantColor": "#00ff00",
                "location": {"latitude": 1, "longitude": 2},
            }
        },
        viewer=viewer_of(owner),
    )

    assert result.errors is None
    data = result.data["updateMedia"]["media"]
    assert data | {"id": None} == {
        "id": None,
        "title": "Renamed",
        "altText": "Old alt",
        "caption": None,
        "tags": ["new"],
        "dominantColor": "#00ff00",
        "capturedAt": None,
    }
    updated = await audit_row(session, media.id, "UPDATE")
    assert updated.user_id == owner.id
    assert set(updated.changed_fields or ()) == {
        "title",
        "caption",
        "tags",
        "dominant_color",
        "location",
    }


@pytest.mark.parametrize("who", ["host", "admin"])
async def test_the_venue_host_or_an_admin_may_update_media_of_others(session, execute, who):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    media = await make_media(session, venue=venue)
    viewer = host if who == "host" else await make_user(session, role="admin")

    result = await execute(
        UPDATE, {"input": {"id": gid(media), "title": "By " + who}}, viewer=viewer_of(viewer)
    )

    assert result.errors is None
    assert result.data["updateMedia"]["media"]["title"] == "By " + who
    assert (await audit_row(session, media.id, "UPDATE")).user_id == viewer.id


async def test_others_get_forbidden_for_public_media_and_not_found_for_private(session, execute):
    public = await make_media(session, venue=await make_venue(session), title="Public")
    private = await make_media(session, title="Private")
    stranger = viewer_of(await make_user(session, role="host"))

    result = await execute(UPDATE, {"input": {"id": gid(public), "title": "x"}}, viewer=stranger)
    assert error_of(result) == {"code": "FORBIDDEN"}
    result = await execute(UPDATE, {"input": {"id": gid(private), "title": "x"}}, viewer=stranger)
    assert error_of(result) == {"code": "NOT_FOUND", "field": "input.id"}
    assert (await stored(session, public.id)).title == "Public"
    assert (await stored(session, private.id)).title == "Private"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "input.title"),
        ({"tags": None}, "input.tags"),
        ({"exif": None}, "input.exif"),
        ({"title": ""}, "input.title"),
        ({"exif": "text"}, "input.exif"),
        ({"dominantColor": "#12345"}, "input.dominantColor"),
        ({"capturedAt": "2031-01-01T00:00:00"}, "input.capturedAt"),
        ({"id": "x"}, "input.id"),
    ],
)
async def test_bad_update_input_names_the_field(session, execute, changes, field):
    owner = await make_user(session)
    media = await make_media(session, owner=owner, title="Kept")

    result = await execute(UPDATE, {"input": {"id": gid(media)} | changes}, viewer=viewer_of(owner))

    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}
    assert (await stored(session, media.id)).title == "Kept"


async def test_updating_deleted_or_unknown_media_is_not_found(session, execute):
    owner = await make_user(session)
    media = await make_media(session, owner=owner)
    await soft_delete(session, media)
    for media_id in (media.id, uuid.uuid4()):
        result = await execute(
            UPDATE,
            {"input": {"id": encode_global_id("Media", media_id), "title": "x"}},
            viewer=viewer_of(owner),
        )
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.id"}


# -- deleteMedia and restoreMedia ---------------------------------------------------------------


async def test_the_owner_deletes_and_restores_media(session, execute):
    owner = await make_user(session)
    media = await make_media(session, owner=owner, title="Round trip")
    viewer = viewer_of(owner)

    deleted = await execute(DELETE, {"id": gid(media)}, viewer=viewer)

    assert deleted.errors is None
    assert deleted.data["deleteMedia"]["media"] == {"id": gid(media), "title": "Round trip"}
    assert (await execute(NODE, {"id": gid(media)}, viewer=viewer)).data == {"node": None}
    soft_deleted = await audit_row(session, media.id, "SOFT_DELETE")
    assert (soft_deleted.user_id, soft_deleted.changed_fields) == (owner.id, ["deleted_at"])

    restored = await execute(RESTORE, {"id": gid(media)}, viewer=viewer)

    assert restored.errors is None
    shown = await execute(NODE, {"id": gid(media)}, viewer=viewer)
    assert shown.data == {"node": {"id": gid(media), "title": "Round trip"}}
    assert (await audit_row(session, media.id, "RESTORE")).user_id == owner.id


@pytest.mark.parametrize("who", ["host", "admin"])
async def test_the_venue_host_or_an_admin_may_delete_and_restore(session, execute, who):
    host = await make_user(session, role="host")
    media = await make_media(session, venue=await make_venue(session, owner=host))
    actor = host if who == "host" else await make_user(session, role="admin")

    assert (await execute(DELETE, {"id": gid(media)}, viewer=viewer_of(actor))).errors is None
    assert (await execute(RESTORE, {"id": gid(media)}, viewer=viewer_of(actor))).errors is None
    assert (await audit_row(session, media.id, "SOFT_DELETE")).user_id == actor.id
    assert (await audit_row(session, media.id, "RESTORE")).user_id == actor.id


async def test_others_may_not_delete_or_restore_media(session, execute):
    public = await make_media(session, venue=await make_venue(session))
    stranger = viewer_of(await make_user(session))

    assert error_of(await execute(DELETE, {"id": gid(public)}, viewer=stranger)) == {
        "code": "FORBIDDEN"
    }
    await soft_delete(session, public)
    for mutation in (RESTORE, DELETE):
        hidden = await execute(mutation, {"id": gid(public)}, viewer=stranger)
        assert error_of(hidden) == {"code": "NOT_FOUND", "field": "input.id"}
    assert (await stored(session, public.id)).deleted_at is not None
    unknown = encode_global_id("Media", uuid.uuid4())
    for mutation in (DELETE, RESTORE):
        assert error_of(await execute(mutation, {"id": unknown}, viewer=stranger)) == {
            "code": "NOT_FOUND",
            "field": "input.id",
        }
        assert error_of(await execute(mutation, {"id": unknown})) == {"code": "UNAUTHENTICATED"}


async def test_deleting_twice_and_restoring_live_media_change_nothing(session, execute):
    owner = await make_user(session)
    media = await make_media(session, owner=owner)
    viewer = viewer_of(owner)

    for mutation in (RESTORE, DELETE, DELETE):
        assert (await execute(mutation, {"id": gid(media)}, viewer=viewer)).errors is None

    actions = await session.execute(select(AuditLog.action).where(AuditLog.record_id == media.id))
    assert sorted(actions.scalars()) == ["INSERT", "SOFT_DELETE"]
