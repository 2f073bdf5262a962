import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from graph.core.global_id import encode_global_id
from models import AuditLog, Booking, soft_delete
from tests.factories import make_booking, make_user, make_venue
from tests.graph.viewers import viewer_of

CREATE = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id startsAt endsAt status amount currency notes user { id } venue { id } }
  }
}
"""
CREATE_SMALL = """
mutation Book($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id status amount currency } }
}
"""
TRANSITIONS = {
    verb: f"""
mutation Change($id: ID!) {{
  {verb}Booking(input: {{id: $id}}) {{ booking {{ id status }} }}
}}
"""
    for verb in ("confirm", "cancel", "complete")
}
TARGET = {"confirm": "CONFIRMED", "cancel": "CANCELLED", "complete": "COMPLETED"}


def soon(hours: float = 48) -> dt.datetime:
    """A whole hour comfortably in the future."""
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return now + dt.timedelta(hours=hours)


def booking_input(venue, starts_at: dt.datetime, ends_at: dt.datetime, **extra):
    return {
        "venueId": encode_global_id("Venue", venue.id),
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
    } | extra


def bid(booking) -> str:
    return encode_global_id("Booking", booking.id)


def error_of(result) -> dict[str, Any]:
    (error,) = result.errors
    return error.extensions


async def booking_count(session, venue_id: uuid.UUID) -> int:
    statement = (
        select(func.count())
        .select_from(Booking)
        .where(Booking.venue_id == venue_id)
        .execution_options(include_deleted=True)
    )
    return await session.scalar(statement)


async def audit_rows(session, record_id: uuid.UUID, action: str) -> list[AuditLog]:
    statement = select(AuditLog).where(AuditLog.record_id == record_id, AuditLog.action == action)
    return list((await session.execute(statement)).scalars())


@pytest.fixture
async def host(session):
    return await make_user(session, role="host")


@pytest.fixture
async def venue(session, host):
    return await make_venue(session, owner=host, hourly_rate=Decimal("33.33"), currency="CHF")


@pytest.fixture
async def guest(session):
    return await make_user(session)


# -- createBooking ------------------------------------------------------------------------------


async def test_a_member_books_a_venue_at_its_rate(session, execute, venue, guest):
    starts_at = soon()
    ends_at = starts_at + dt.timedelta(minutes=90)

    result = await execute(
        CREATE,
        {"input": booking_input(venue, starts_at, ends_at, notes="  Quiet please  ")},
        viewer=viewer_of(guest),
    )

    assert result.errors is None
    booking = result.data["createBooking"]["booking"]
    assert booking | {"id": None} == {
        "id": None,
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "status": "PENDING",
        # 33.33 x 1.5 = 49.995, rounded half up to the cent.
        "amount": "50.00",
        "currency": "CHF",
        "notes": "Quiet please",
        "user": {"id": encode_global_id("User", guest.id)},
        "venue": {"id": encode_global_id("Venue", venue.id)},
    }
    row = await session.scalar(select(Booking).where(Booking.venue_id == venue.id))
    assert row is not None
    assert booking["id"] == bid(row)
    assert (row.amount, row.user_id) == (Decimal("50.00"), guest.id)
    (inserted,) = await audit_rows(session, row.id, "INSERT")
    assert (inserted.user_id, inserted.user_email) == (guest.id, guest.email)


async def test_booking_runs_a_fixed_number_of_statements(execute, venue, guest, count_statements):
    starts_at = soon()

    with count_statements as counted:
        result = await execute(
            CREATE_SMALL,
            {"input": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=2))},
            viewer=viewer_of(guest),
        )

    assert result.errors is None
    assert result.data["createBooking"]["booking"]["amount"] == "66.66"
    # The venue through its loader (exists, live), the actor, the venue's rate, the insert.
    assert counted.count == 4, counted.statements


async def test_any_offset_is_accepted_and_stored_as_the_same_instant(
    session, execute, venue, guest
):
    starts_at = soon().astimezone(dt.timezone(dt.timedelta(hours=-5)))

    result = await execute(
        CREATE_SMALL,
        {"input": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1))},
        viewer=viewer_of(guest),
    )

    assert result.errors is None
    assert result.data["createBooking"]["booking"]["amount"] == "33.33"
    stored = await session.scalar(select(Booking.starts_at).where(Booking.venue_id == venue.id))
    assert stored == starts_at  # the same instant, whatever the offset


async def test_booking_needs_a_signed_in_viewer(execute, venue):
    starts_at = soon()
    result = await execute(
        CREATE, {"input": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1))}
    )
    assert error_of(result) == {"code": "UNAUTHENTICATED"}


BAD_SLOTS = {
    # name: (start relative to now, duration, field named)
    "start in the past": (dt.timedelta(minutes=-1), dt.timedelta(hours=2), "input.startsAt"),
    "empty": (dt.timedelta(days=2), dt.timedelta(0), "input.endsAt"),
    "ends before it starts": (dt.timedelta(days=2), dt.timedelta(hours=-1), "input.endsAt"),
    "under 30 minutes": (dt.timedelta(days=2), dt.timedelta(minutes=29), "input.endsAt"),
    "over 14 days": (dt.timedelta(days=2), dt.timedelta(days=14, minutes=1), "input.endsAt"),
}


@pytest.mark.parametrize("slot", BAD_SLOTS.values(), ids=BAD_SLOTS.keys())
async def test_bad_slots_name_the_field_and_write_nothing(session, execute, venue, guest, slot):
    start_offset, duration, field = slot
    starts_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + start_offset

    result = await execute(
        CREATE,
        {"input": booking_input(venue, starts_at, starts_at + duration)},
        viewer=viewer_of(guest),
    )

    assert result.data is None
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}
    assert await booking_count(session, venue.id) == 0


async def test_the_shortest_and_longest_bookings_are_allowed(execute, venue, guest):
    starts_at = soon()
    shortest = booking_input(venue, starts_at, starts_at + dt.timedelta(minutes=30))
    later = starts_at + dt.timedelta(days=1)
    longest = booking_input(venue, later, later + dt.timedelta(days=14))
    for data, amount in ((shortest, "16.67"), (longest, "11198.88")):
        result = await execute(CREATE_SMALL, {"input": data}, viewer=viewer_of(guest))
        assert result.errors is None
        assert result.data["createBooking"]["booking"]["amount"] == amount


@pytest.mark.parametrize("which", ["startsAt", "endsAt"])
async def test_times_without_an_offset_are_refused(execute, venue, guest, which):
    starts_at = soon()
    data = booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1))
    data[which] = data[which].removesuffix("+00:00")

    result = await execute(CREATE, {"input": data}, viewer=viewer_of(guest))

    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": f"input.{which}"}


@pytest.mark.parametrize(
    ("venue_id", "field"),
    [
        ("nonsense", "input.venueId"),
        (encode_global_id("User", uuid.uuid4()), "input.venueId"),
    ],
)
async def test_bad_venue_ids_are_bad_user_input(execute, guest, venue_id, field):
    starts_at = soon()
    data = {
        "venueId": venue_id,
        "startsAt": starts_at.isoformat(),
        "endsAt": (starts_at + dt.timedelta(hours=1)).isoformat(),
    }
    result = await execute(CREATE, {"input": data}, viewer=viewer_of(guest))
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": field}


async def test_notes_longer_than_2000_characters_are_refused(execute, venue, guest):
    starts_at = soon()
    data = booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1), notes="n" * 2001)
    result = await execute(CREATE, {"input": data}, viewer=viewer_of(guest))
    assert error_of(result) == {"code": "BAD_USER_INPUT", "field": "input.notes"}


async def test_unknown_and_deleted_venues_are_not_found(session, execute, venue, guest):
    starts_at = soon()
    await soft_delete(session, venue)
    for venue_id in (venue.id, uuid.uuid4()):
        data = booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1))
        data["venueId"] = encode_global_id("Venue", venue_id)
        result = await execute(CREATE, {"input": data}, viewer=viewer_of(guest))
        assert error_of(result) == {"code": "NOT_FOUND", "field": "input.venueId"}
    assert await booking_count(session, venue.id) == 0


@pytest.mark.parametrize("status", ["pending", "confirmed"])
async def test_overlapping_a_holding_booking_is_a_booking_conflict(
    session, execute, venue, guest, status
):
    starts_at = soon()
    held = await make_booking(session, venue=venue, starts_at=starts_at, hours=2, status=status)
    # A failed write rolls back, which expires the session's loaded rows: keep their ids.
    venue_id, held_id = venue.id, held.id

    result = await execute(
        CREATE,
        {
            "input": booking_input(
                venue,
                starts_at + dt.timedelta(hours=1, minutes=59),
                starts_at + dt.timedelta(hours=3),
            )
        },
        viewer=viewer_of(guest),
    )

    assert result.data is None
    assert error_of(result) == {"code": "BOOKING_CONFLICT"}
    assert "already booked" in result.errors[0].message
    assert "ex_bookings" not in result.errors[0].message
    assert await booking_count(session, venue_id) == 1
    # The failed write rolled back only itself: the held booking is still there.
    assert (await session.get(Booking, held_id)) is not None


async def test_cancelled_completed_deleted_and_adjacent_bookings_leave_the_slot_free(
    session, execute, venue, guest
):
    starts_at = soon()
    await make_booking(session, venue=venue, starts_at=starts_at, status="cancelled")
    await make_booking(session, venue=venue, starts_at=starts_at, status="completed")
    deleted = await make_booking(session, venue=venue, starts_at=starts_at)
    await soft_delete(session, deleted)
    await make_booking(session, venue=venue, starts_at=starts_at + dt.timedelta(hours=2))

    result = await execute(
        CREATE,
        {"input": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=2))},
        viewer=viewer_of(guest),
    )

    assert result.errors is None
    assert result.data["createBooking"]["booking"]["status"] == "PENDING"


async def test_a_second_booking_in_the_same_request_sees_the_first(execute, venue, guest):
    starts_at = soon()
    document = """
    mutation Two($a: CreateBookingInput!, $b: CreateBookingInput!) {
      a: createBooking(input: $a) { booking { venue { bookings { edges { node { id } } } } } }
      b: createBooking(input: $b) { booking { venue { bookings { edges { node { id } } } } } }
    }
    """
    later = starts_at + dt.timedelta(days=1)
    result = await execute(
        document,
        {
            "a": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=1)),
            "b": booking_input(venue, later, later + dt.timedelta(hours=1)),
        },
        viewer=viewer_of(guest),
    )

    assert result.errors is None
    edges = result.data["b"]["booking"]["venue"]["bookings"]["edges"]
    assert len(edges) == 2


# -- the state machine --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [["confirm", "complete"], ["cancel"], ["confirm", "cancel"]],
    ids=" then ".join,
)
async def test_legal_transitions_by_the_host_and_audited(session, execute, host, venue, path):
    booking = await make_booking(session, venue=venue)

    seen = []
    for verb in path:
        result = await execute(TRANSITIONS[verb], {"id": bid(booking)}, viewer=viewer_of(host))
        assert result.errors is None
        payload = result.data[f"{verb}Booking"]["booking"]
        assert payload["id"] == bid(booking)
        seen.append(payload["status"])

    assert seen == [TARGET[verb] for verb in path]
    await session.refresh(booking)
    assert booking.status == seen[-1].lower()
    updates = await audit_rows(session, booking.id, "UPDATE")
    assert len(updates) == len(path)
    assert {(row.user_id, tuple(row.changed_fields or ())) for row in updates} == {
        (host.id, ("status",))
    }


async def test_a_transition_runs_a_fixed_number_of_statements(
    session, execute, host, venue, count_statements
):
    booking = await make_booking(session, venue=venue)

    with count_statements as counted:
        result = await execute(TRANSITIONS["confirm"], {"id": bid(booking)}, viewer=viewer_of(host))

    assert result.errors is None
    # The booking (visible?), its venue's owner, the actor, the conditional UPDATE ... RETURNING.
    assert counted.count == 4, counted.statements


ILLEGAL = [
    ("confirm", "confirmed"),
    ("confirm", "completed"),
    ("confirm", "cancelled"),
    ("cancel", "completed"),
    ("cancel", "cancelled"),
    ("complete", "pending"),
    ("complete", "completed"),
    ("complete", "cancelled"),
]


@pytest.mark.parametrize(("verb", "status"), ILLEGAL)
async def test_every_illegal_transition_names_the_current_status(
    session, execute, venue, verb, status
):
    booking = await make_booking(session, venue=venue, status=status)
    admin = viewer_of(await make_user(session, role="admin"))

    result = await execute(TRANSITIONS[verb], {"id": bid(booking)}, viewer=admin)

    assert result.data is None
    assert error_of(result) == {"code": "INVALID_TRANSITION", "currentStatus": status.upper()}
    assert f"The booking is {status.upper()}" in result.errors[0].message
    await session.refresh(booking)
    assert booking.status == status
    assert await audit_rows(session, booking.id, "UPDATE") == []


def test_the_illegal_list_is_every_pair_the_machine_lacks():
    legal = {("confirm", "pending"), ("cancel", "pending"), ("cancel", "confirmed"),
             ("complete", "confirmed")}  # fmt: skip
    every = {(verb, status) for verb in TARGET for status in
             ("pending", "confirmed", "completed", "cancelled")}  # fmt: skip
    assert set(ILLEGAL) == every - legal


async def test_the_guest_may_cancel_but_not_confirm_or_complete(session, execute, venue, guest):
    booking = await make_booking(session, venue=venue, user=guest, status="pending")
    confirmed = await make_booking(session, venue=venue, user=guest, status="confirmed")

    for verb, target in (("confirm", booking), ("complete", confirmed)):
        result = await execute(TRANSITIONS[verb], {"id": bid(target)}, viewer=viewer_of(guest))
        assert error_of(result) == {"code": "FORBIDDEN"}

    result = await execute(TRANSITIONS["cancel"], {"id": bid(booking)}, viewer=viewer_of(guest))
    assert result.errors is None
    assert result.data["cancelBooking"]["booking"]["status"] == "CANCELLED"
    (update,) = await audit_rows(session, booking.id, "UPDATE")
    assert update.user_id == guest.id
    await session.refresh(confirmed)
    assert confirmed.status == "confirmed"


@pytest.mark.parametrize("verb", ["confirm", "cancel", "complete"])
async def test_an_admin_may_take_any_legal_transition(session, execute, venue, verb):
    status = "confirmed" if verb == "complete" else "pending"
    booking = await make_booking(session, venue=venue, status=status)
    admin = await make_user(session, role="admin")

    result = await execute(TRANSITIONS[verb], {"id": bid(booking)}, viewer=viewer_of(admin))

    assert result.errors is None
    assert result.data[f"{verb}Booking"]["booking"]["status"] == TARGET[verb]
    (update,) = await audit_rows(session, booking.id, "UPDATE")
    assert update.user_id == admin.id


@pytest.mark.parametrize("verb", ["confirm", "cancel", "complete"])
@pytest.mark.parametrize("role", ["host", "member"])
async def test_those_who_cannot_see_a_booking_get_not_found(session, execute, venue, verb, role):
    booking = await make_booking(session, venue=venue, status="confirmed")
    stranger = await make_user(session, role=role)

    result = await execute(TRANSITIONS[verb], {"id": bid(booking)}, viewer=viewer_of(stranger))

    assert error_of(result) == {"code": "NOT_FOUND", "field": "input.id"}
    await session.refresh(booking)
    assert booking.status == "confirmed"


@pytest.mark.parametrize("verb", ["confirm", "cancel", "complete"])
async def test_transitions_check_the_viewer_and_the_id(session, execute, venue, verb):
    booking = await make_booking(session, venue=venue)
    admin = viewer_of(await make_user(session, role="admin"))

    anonymous = await execute(TRANSITIONS[verb], {"id": bid(booking)})
    assert error_of(anonymous) == {"code": "UNAUTHENTICATED"}
    for bad_id in ("%%%", encode_global_id("Venue", venue.id)):
        malformed = await execute(TRANSITIONS[verb], {"id": bad_id}, viewer=admin)
        assert error_of(malformed) == {"code": "BAD_USER_INPUT", "field": "input.id"}
    deleted = await make_booking(session, venue=venue)
    await soft_delete(session, deleted)
    for missing in (encode_global_id("Booking", uuid.uuid4()), bid(deleted)):
        unknown = await execute(TRANSITIONS[verb], {"id": missing}, viewer=admin)
        assert error_of(unknown) == {"code": "NOT_FOUND", "field": "input.id"}


async def test_cancelling_frees_the_slot_for_a_new_booking(session, execute, host, venue, guest):
    starts_at = soon()
    booking = await make_booking(session, venue=venue, starts_at=starts_at, hours=2)
    data = {"input": booking_input(venue, starts_at, starts_at + dt.timedelta(hours=2))}
    # A failed write rolls back, which expires the session's loaded rows: prepare first.
    booking_id, host_viewer, guest_viewer = bid(booking), viewer_of(host), viewer_of(guest)

    refused = await execute(CREATE_SMALL, data, viewer=guest_viewer)
    assert error_of(refused) == {"code": "BOOKING_CONFLICT"}

    cancelled = await execute(TRANSITIONS["cancel"], {"id": booking_id}, viewer=host_viewer)
    assert cancelled.errors is None
    booked = await execute(CREATE_SMALL, data, viewer=guest_viewer)
    assert booked.errors is None
