"""The root `media` list: who sees which media, typed filters, `includeDeleted`."""

import datetime as dt
import uuid

import pytest

from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

MEDIA = """
query Media($filter: MediaFilter, $orderBy: MediaOrder, $includeDeleted: Boolean) {
  media(first: 100, filter: $filter, orderBy: $orderBy, includeDeleted: $includeDeleted) {
    totalCount
    edges { node { title deletedAt } }
  }
}
"""

SHOT = dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC)


@pytest.fixture
async def world(session):
    """Public venue photos, a private booking photo, a loose upload, a video."""
    host = await make_user(session, role="host")
    guest = await make_user(session)
    venue = await make_venue(session, owner=host)
    other_venue = await make_venue(session)
    booking = await make_booking(session, user=guest, venue=venue)
    await make_media(
        session, owner=host, venue=venue, title="front", tags=["outside", "day"], captured_at=SHOT
    )
    await make_media(
        session,
        owner=host,
        venue=venue,
        title="hall",
        extension="png",
        tags=["inside", "day"],
        captured_at=SHOT + dt.timedelta(days=1),
    )
    await make_media(session, owner=guest, venue=venue, booking=booking, title="party")
    await make_media(session, owner=guest, title="loose")
    await make_media(
        session, venue=other_venue, title="tour", resource_type="VIDEO", duration_seconds=30
    )
    return {"host": host, "guest": guest, "venue": venue, "booking": booking}


async def titles(execute, viewer=None, media_filter=None, **variables):
    result = await execute(MEDIA, {"filter": media_filter, **variables}, viewer=viewer)
    assert result.errors is None, result.errors
    connection = result.data["media"]
    found = [edge["node"]["title"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(found)
    return found


async def test_each_viewer_lists_what_they_may_see(session, execute, world):
    admin = await make_user(session, role="admin")
    stranger = await make_user(session)
    assert await titles(execute) == ["front", "hall", "tour"]
    assert await titles(execute, viewer_of(stranger)) == ["front", "hall", "tour"]
    assert await titles(execute, viewer_of(world["guest"])) == [
        "front",
        "hall",
        "party",
        "loose",
        "tour",
    ]
    assert await titles(execute, viewer_of(world["host"])) == ["front", "hall", "party", "tour"]
    assert await titles(execute, viewer_of(admin)) == ["front", "hall", "party", "loose", "tour"]


@pytest.mark.parametrize(
    ("media_filter", "expected"),
    [
        ({"resourceType": "VIDEO"}, ["tour"]),
        ({"resourceType": "IMAGE"}, ["front", "hall", "party", "loose"]),
        ({"extension": "png"}, ["hall"]),
        ({"extension": ".PNG"}, ["hall"]),
        ({"tags": ["day"]}, ["front", "hall"]),
        ({"tags": ["day", "inside"]}, ["hall"]),
        ({"tags": ["day", "night"]}, []),
        ({"tags": []}, ["front", "hall", "party", "loose", "tour"]),
        ({"capturedAt": {"from": SHOT.isoformat()}}, ["front", "hall"]),
        (
            {
                "capturedAt": {
                    "from": SHOT.isoformat(),
                    "to": (SHOT + dt.timedelta(days=1)).isoformat(),
                }
            },
            ["front"],
        ),
    ],
)
async def test_filters_match_what_they_say(session, execute, world, media_filter, expected):
    del world
    admin = await make_user(session, role="admin")
    assert await titles(execute, viewer_of(admin), media_filter) == expected


async def test_venue_and_booking_filters(session, execute, world):
    admin = viewer_of(await make_user(session, role="admin"))
    venue_id = encode_global_id("Venue", world["venue"].id)
    booking_id = encode_global_id("Booking", world["booking"].id)
    assert await titles(execute, admin, {"venueId": venue_id}) == ["front", "hall", "party"]
    assert await titles(execute, admin, {"bookingId": booking_id}) == ["party"]
    # Anonymous viewers never see a booking's media, filter or not.
    assert await titles(execute, None, {"bookingId": booking_id}) == []


async def test_orders(session, execute, world):
    del world
    admin = viewer_of(await make_user(session, role="admin"))
    assert await titles(execute, admin, orderBy="TITLE_ASC") == [
        "front",
        "hall",
        "loose",
        "party",
        "tour",
    ]
    # Unshot media stay last, newest first: descending is ascending reversed, ties included.
    assert await titles(execute, admin, orderBy="CAPTURED_AT_DESC") == [
        "hall",
        "front",
        "tour",
        "loose",
        "party",
    ]


@pytest.mark.parametrize(
    ("media_filter", "field"),
    [
        ({"venueId": "%%%"}, "filter.venueId"),
        ({"bookingId": encode_global_id("Venue", uuid.uuid4())}, "filter.bookingId"),
        ({"extension": "j p g"}, "filter.extension"),
        ({"tags": [f"t{i}" for i in range(21)]}, "filter.tags"),
        ({"capturedAt": {"from": SHOT.isoformat(), "to": SHOT.isoformat()}}, "filter.capturedAt"),
        ({"capturedAt": {"from": "2030-06-01T12:00:00"}}, "filter.capturedAt.from"),
    ],
)
async def test_invalid_filters_are_bad_user_input_naming_the_field(execute, media_filter, field):
    result = await execute(MEDIA, {"filter": media_filter})
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


async def test_admins_may_include_deleted_media(session, execute, world):
    admin = viewer_of(await make_user(session, role="admin"))
    gone = await make_media(session, venue=world["venue"], title="gone")
    await soft_delete(session, gone)
    assert gone.deleted_at is not None
    assert "gone" not in await titles(execute, admin)
    result = await execute(MEDIA, {"includeDeleted": True}, viewer=admin)
    assert result.errors is None
    assert result.data["media"]["edges"][-1]["node"] == {
        "title": "gone",
        "deletedAt": gone.deleted_at.isoformat(),
    }


async def test_include_deleted_is_forbidden_to_others(execute, world):
    result = await execute(MEDIA, {"includeDeleted": True}, viewer=viewer_of(world["host"]))
    (error,) = result.errors
    assert error.extensions == {"code": "FORBIDDEN"}
