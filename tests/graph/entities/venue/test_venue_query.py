import datetime as dt

import pytest
from sqlalchemy import update

from graph.core.global_id import encode_global_id
from models import Booking, soft_delete
from tests.factories import make_booking, make_media, make_user, make_venue
from tests.graph.viewers import viewer_of

VENUE_WITH_BOOKINGS = """
query Venue($id: ID!, $first: Int!) {
  venue(id: $id) {
    id name city latitude longitude hourlyRate
    owner { displayName }
    bookings(first: $first) {
      edges { cursor node { id startsAt status amount user { id displayName email } } }
      pageInfo { hasNextPage endCursor }
    }
    media(first: 2) { edges { node { title width } } }
  }
}
"""


def venue_id(venue) -> str:
    return encode_global_id("Venue", venue.id)


async def test_venue_with_bookings_and_their_users(session, execute):
    host = await make_user(session, role="host", display_name="Hana Host")
    venue = await make_venue(
        session, owner=host, name="Sunlit Loft", latitude=38.7223, longitude=-9.1393
    )
    guest = await make_user(session, display_name="Gus Guest", email="gus@example.test")
    start = dt.datetime(2031, 5, 1, 9, tzinfo=dt.UTC)
    later = await make_booking(
        session, venue=venue, user=guest, starts_at=start + dt.timedelta(days=1)
    )
    earlier = await make_booking(
        session, venue=venue, user=guest, starts_at=start, status="confirmed"
    )

    result = await execute(
        VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 10}, viewer=viewer_of(host)
    )

    assert result.errors is None
    data = result.data["venue"]
    assert data["name"] == "Sunlit Loft"
    assert (data["latitude"], data["longitude"]) == pytest.approx((38.7223, -9.1393))
    assert data["hourlyRate"] == "50.00"
    assert data["owner"] == {"displayName": "Hana Host"}
    nodes = [edge["node"] for edge in data["bookings"]["edges"]]
    assert [node["id"] for node in nodes] == [
        encode_global_id("Booking", earlier.id),
        encode_global_id("Booking", later.id),
    ]
    assert nodes[0]["status"] == "CONFIRMED"
    assert nodes[0]["amount"] == "100.00"
    assert nodes[0]["user"] == {
        "id": encode_global_id("User", guest.id),
        "displayName": "Gus Guest",
        "email": "gus@example.test",
    }
    assert data["bookings"]["pageInfo"]["hasNextPage"] is False
    assert data["bookings"]["pageInfo"]["endCursor"] == data["bookings"]["edges"][-1]["cursor"]


async def test_first_limits_the_page_and_reports_a_next_page(session, execute):
    venue = await make_venue(session)
    for _ in range(3):
        await make_booking(session, venue=venue)

    admin = await make_user(session, role="admin")
    result = await execute(
        VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 2}, viewer=viewer_of(admin)
    )

    assert result.errors is None
    bookings = result.data["venue"]["bookings"]
    assert len(bookings["edges"]) == 2
    assert bookings["pageInfo"]["hasNextPage"] is True


async def test_soft_deleted_rows_are_invisible(session, execute):
    venue = await make_venue(session)
    kept = await make_booking(session, venue=venue)
    gone = await make_booking(session, venue=venue)
    await soft_delete(session, gone)
    admin = viewer_of(await make_user(session, role="admin"))

    result = await execute(VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 10}, viewer=admin)
    ids = [edge["node"]["id"] for edge in result.data["venue"]["bookings"]["edges"]]
    assert ids == [encode_global_id("Booking", kept.id)]

    await soft_delete(session, venue)
    result = await execute(VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 10}, viewer=admin)
    assert result.errors is None
    assert result.data == {"venue": None}


@pytest.mark.parametrize("parents", [1, 10, 40])
async def test_statement_count_depends_on_the_query_not_the_rows(
    session, execute, count_statements, parents
):
    venue = await make_venue(session)
    for _ in range(parents):
        await make_booking(session, venue=venue, user=await make_user(session))
        await make_media(session, venue=venue)

    admin = viewer_of(await make_user(session, role="admin"))

    with count_statements as counted:
        result = await execute(
            VENUE_WITH_BOOKINGS,
            {"id": venue_id(venue), "first": 100},
            viewer=admin,
            paths="loaders",
        )
    loader_statements = list(counted.statements)
    with count_statements as compiled:
        await execute(VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 100}, viewer=admin)

    assert compiled.count == 1
    assert result.errors is None
    assert len(result.data["venue"]["bookings"]["edges"]) == parents
    # venue; its owner, bookings and media; the bookings' users (owner and guests share a loader
    # but load at different depths).
    assert len(loader_statements) == 5, loader_statements


async def test_several_root_fields_and_loaders_at_once_share_one_session(session, execute):
    venues = [await make_venue(session) for _ in range(3)]
    for venue in venues:
        await make_booking(session, venue=venue)
        await make_media(session, venue=venue)
    query = "query Many(" + ", ".join(f"$v{i}: ID!" for i in range(3)) + ") {"
    for i in range(3):
        query += (
            f" v{i}: venue(id: $v{i}) {{ name owner {{ displayName }}"
            " bookings(first: 5) { edges { node { user { displayName } venue { name } } } }"
            " media(first: 5) { edges { node { title } } } }"
        )
    query += " }"

    admin = viewer_of(await make_user(session, role="admin"))
    result = await execute(
        query, {f"v{i}": venue_id(v) for i, v in enumerate(venues)}, viewer=admin
    )

    assert result.errors is None
    for i, venue in enumerate(venues):
        data = result.data[f"v{i}"]
        assert data["name"] == venue.name
        assert data["bookings"]["edges"][0]["node"]["venue"]["name"] == venue.name
        assert len(data["media"]["edges"]) == 1


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"id": "not-an-id", "first": 1}, "id"),
        ({"id": encode_global_id("Booking", __import__("uuid").uuid4()), "first": 1}, "id"),
    ],
)
async def test_bad_ids_are_bad_user_input(execute, variables, field):
    result = await execute(VENUE_WITH_BOOKINGS, variables)
    assert result.data == {"venue": None}
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": field}


async def test_page_size_over_100_is_refused(session, execute):
    venue = await make_venue(session)
    result = await execute(VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 101})
    (error,) = result.errors
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "first"}
    assert "between 0 and 100" in error.message


async def test_unexpected_errors_are_masked(session, execute, monkeypatch):
    venue = await make_venue(session)
    await session.execute(update(Booking).values(notes="x"))

    def explode(*_args, **_kwargs):
        message = "secret internals"
        raise RuntimeError(message)

    monkeypatch.setattr("graph.entities.venue.type.Venue.from_model", explode)
    # The loader path (the planted failure is in its mapping of rows).
    result = await execute(
        VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 1}, paths="loaders"
    )
    (error,) = result.errors
    assert "secret internals" not in error.message
    assert error.message == "Unexpected error."
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert len(error.extensions["requestId"]) == 32


async def test_badly_typed_variables_are_explained_not_masked(execute):
    result = await execute(VENUE_WITH_BOOKINGS, {"id": "x", "first": "ten"})
    (error,) = result.errors
    assert "Int cannot represent non-integer value" in error.message
    assert error.extensions == {"code": "BAD_USER_INPUT", "field": "first"}
    assert result.data is None


async def test_who_sees_which_bookings_of_a_venue(session, execute):
    host = await make_user(session, role="host")
    venue = await make_venue(session, owner=host)
    guest = await make_user(session)
    other = await make_user(session)
    mine = await make_booking(session, venue=venue, user=guest)
    theirs = await make_booking(session, venue=venue, user=other)
    admin = await make_user(session, role="admin")
    everyone = [encode_global_id("Booking", b.id) for b in (mine, theirs)]

    async def seen_by(viewer):
        result = await execute(
            VENUE_WITH_BOOKINGS, {"id": venue_id(venue), "first": 10}, viewer=viewer
        )
        assert result.errors is None
        return [edge["node"]["id"] for edge in result.data["venue"]["bookings"]["edges"]]

    assert await seen_by(None) == []
    assert await seen_by(viewer_of(guest)) == [encode_global_id("Booking", mine.id)]
    assert await seen_by(viewer_of(host)) == everyone
    assert await seen_by(viewer_of(admin)) == everyone
    another_host = await make_user(session, role="host")
    assert await seen_by(viewer_of(another_host)) == []


async def test_every_error_has_a_code(execute):
    result = await execute("{ venue(id: 5) { nope } }")
    assert {error.extensions["code"] for error in result.errors} == {"GRAPHQL_VALIDATION_FAILED"}
    result = await execute("{ venue(id: ")
    assert result.errors[0].extensions == {"code": "GRAPHQL_PARSE_FAILED"}
    result = await execute(VENUE_WITH_BOOKINGS, {"id": "x", "first": 2**40})
    assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "field": "first"}
