"""`bookingStats` on the compiled path: the loader path's bytes, in one statement.

The aggregate is the loader path's own statement (`models.booking_stats_query`), checked and
scoped by the resolver's own `plan_stats`, read as a subquery and rendered to JSON in the
statement's order. Anonymous viewers and bad arguments leave the request to the loader path,
which reports the error.
"""

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from graph.core.global_id import encode_global_id
from models import soft_delete
from tests.factories import make_booking, make_user, make_venue
from tests.graph.schema.test_operations import operation_source
from tests.graph.viewers import viewer_of

GROUPINGS = ["DAY", "WEEK", "MONTH", "VENUE", "STATUS"]
VIEWERS = ["member", "host", "admin"]

STATS = """
query Stats($from: DateTime!, $to: DateTime!, $groupBy: StatsGrouping!) {
  bookingStats(from: $from, to: $to, groupBy: $groupBy) {
    key count completedCount completedRevenue
  }
}
"""

JUNE = dt.datetime(2031, 6, 1, tzinfo=dt.UTC)
SEPTEMBER = dt.datetime(2031, 9, 1, tzinfo=dt.UTC)
RANGE = {"from": JUNE.isoformat(), "to": SEPTEMBER.isoformat()}


def at(days: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """`days` after the first of June 2031, at `hour`:`minute` UTC."""
    return JUNE + dt.timedelta(days=days, hours=hour, minutes=minute)


@pytest.fixture
async def stats_world(session) -> dict[str, Any]:
    """Bookings over three months at a host's venues and others', some deleted or cancelled."""
    host = await make_user(session, role="host")
    member = await make_user(session)
    other = await make_user(session)
    admin = await make_user(session, role="admin")
    other_host = await make_user(session, role="host")
    hosted = await make_venue(session, owner=host)
    second_hosted = await make_venue(session, owner=host)
    elsewhere = await make_venue(session, owner=other_host)
    rows = [
        (member, hosted, at(1), "completed", "10.05"),
        (other, hosted, at(1, 14), "confirmed", "20.00"),
        (member, elsewhere, at(8), "completed", "0.10"),
        (other, elsewhere, at(9), "completed", "100.01"),
        (host, elsewhere, at(15), "cancelled", "30.00"),
        (other, second_hosted, at(16), "pending", "7.50"),
        (member, second_hosted, at(29, 23, 30), "completed", "1.99"),  # June 30, 23:30 UTC
        (host, hosted, at(33), "completed", "12.34"),  # July
        (other, elsewhere, at(70), "pending", "5.00"),  # August
        (member, hosted, at(92), "completed", "1.00"),  # September: out of range
    ]
    for user, venue, starts_at, status, amount in rows:
        await make_booking(
            session, user=user, venue=venue, starts_at=starts_at, status=status, amount=amount
        )
    deleted = await make_booking(
        session, user=member, venue=hosted, starts_at=at(2), status="completed", amount="999.99"
    )
    await soft_delete(session, deleted)
    return {
        "viewers": {
            "member": viewer_of(member),
            "host": viewer_of(host),
            "admin": viewer_of(admin),
            "anonymous": None,
        },
        "venues": {"hosted": hosted, "second": second_hosted, "elsewhere": elsewhere},
    }


def buckets(body: bytes) -> list[dict[str, Any]]:
    """The buckets of a response."""
    found: list[dict[str, Any]] = json.loads(body)["data"]["bookingStats"]
    return found


@pytest.mark.parametrize("who", VIEWERS)
@pytest.mark.parametrize("grouping", GROUPINGS)
async def test_every_grouping_compiles_to_the_loader_paths_bytes(
    both_paths, stats_world, grouping, who
):
    viewer = stats_world["viewers"][who]

    compared = await both_paths(STATS, {**RANGE, "groupBy": grouping}, viewer=viewer)

    assert compared.fast == compared.general
    assert compared.compiled
    assert buckets(compared.general)  # every viewer has bookings in the range


async def test_venue_keys_are_global_ids_busiest_first_and_ties_by_key(both_paths, stats_world):
    admin = stats_world["viewers"]["admin"]
    venues = stats_world["venues"]

    compared = await both_paths(STATS, {**RANGE, "groupBy": "VENUE"}, viewer=admin)

    assert compared.fast == compared.general
    assert compared.compiled
    found = buckets(compared.general)
    # elsewhere: 4; hosted: 3 (one deleted, one in September); second: 2.
    ids = {name: encode_global_id("Venue", venue.id) for name, venue in venues.items()}
    assert [bucket["key"] for bucket in found] == [ids["elsewhere"], ids["hosted"], ids["second"]]
    assert [bucket["count"] for bucket in found] == [4, 3, 2]


async def test_revenue_keeps_its_decimals_and_is_zero_without_completed_bookings(
    both_paths, stats_world
):
    admin = stats_world["viewers"]["admin"]

    compared = await both_paths(STATS, {**RANGE, "groupBy": "STATUS"}, viewer=admin)

    assert compared.fast == compared.general
    assert compared.compiled
    assert buckets(compared.general) == [
        {"key": "CANCELLED", "count": 1, "completedCount": 0, "completedRevenue": "0"},
        # 10.05 + 0.10 + 100.01 + 1.99 + 12.34; the deleted 999.99 does not count.
        {"key": "COMPLETED", "count": 5, "completedCount": 5, "completedRevenue": "124.49"},
        {"key": "CONFIRMED", "count": 1, "completedCount": 0, "completedRevenue": "0"},
        {"key": "PENDING", "count": 2, "completedCount": 0, "completedRevenue": "0"},
    ]
    assert sum(Decimal(b["completedRevenue"]) for b in buckets(compared.general)) == Decimal(
        "124.49"
    )


async def test_days_are_utc_and_deleted_bookings_do_not_count(both_paths, stats_world):
    member = stats_world["viewers"]["member"]

    compared = await both_paths(STATS, {**RANGE, "groupBy": "DAY"}, viewer=member)

    assert compared.fast == compared.general
    assert compared.compiled
    assert [(b["key"], b["count"], b["completedRevenue"]) for b in buckets(compared.fast)] == [
        ("2031-06-02", 1, "10.05"),
        ("2031-06-09", 1, "0.10"),
        ("2031-06-30", 1, "1.99"),
    ]


@pytest.mark.parametrize("grouping", GROUPINGS)
async def test_an_empty_range_is_an_empty_list(both_paths, stats_world, grouping):
    host = stats_world["viewers"]["host"]
    empty = {"from": "2040-01-01T00:00:00Z", "to": "2040-02-01T00:00:00+01:00"}

    compared = await both_paths(STATS, {**empty, "groupBy": grouping}, viewer=host)

    assert compared.fast == compared.general
    assert compared.compiled
    assert buckets(compared.general) == []


@pytest.mark.usefixtures("stats_world")
@pytest.mark.parametrize("grouping", GROUPINGS)
async def test_anonymous_viewers_are_refused_by_the_loader_path(both_paths, grouping):
    compared = await both_paths(STATS, {**RANGE, "groupBy": grouping}, viewer=None)

    assert compared.fast is None
    assert not compared.compiled
    general = json.loads(compared.general)
    assert general["data"] is None
    assert general["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


BAD_RANGES = {
    "to before from": {"from": "2031-06-02T00:00:00Z", "to": "2031-06-01T00:00:00Z"},
    "empty": {"from": "2031-06-01T00:00:00Z", "to": "2031-06-01T00:00:00Z"},
    "over five years": {"from": "2031-01-01T00:00:00Z", "to": "2036-01-03T00:00:00Z"},
    "no offset": {"from": "2031-06-01T00:00:00", "to": "2031-07-01T00:00:00Z"},
}


@pytest.mark.parametrize("bad", list(BAD_RANGES))
async def test_bad_arguments_are_reported_by_the_loader_path(both_paths, stats_world, bad):
    member = stats_world["viewers"]["member"]

    compared = await both_paths(STATS, {**BAD_RANGES[bad], "groupBy": "DAY"}, viewer=member)

    assert compared.fast is None
    assert not compared.compiled
    general = json.loads(compared.general)
    assert general["data"] is None
    assert general["errors"][0]["extensions"]["code"] in {"BAD_USER_INPUT", "BAD_REQUEST"}


SHAPES = """
query Shapes($from: DateTime!, $to: DateTime!) {
  venues(first: 1) { totalCount }
  byDay: bookingStats(from: $from, to: $to, groupBy: DAY) {
    __typename day: key ...Figures completedRevenue
  }
  byVenue: bookingStats(from: $from, to: $to, groupBy: VENUE) {
    ... on BookingStatsBucket { key total: count }
    __typename
  }
  __typename
  byStatus: bookingStats(from: "2031-07-01T00:00:00Z", to: $to, groupBy: STATUS) { count key }
}
fragment Figures on BookingStatsBucket { count completedCount revenue: completedRevenue }
"""


@pytest.mark.parametrize("who", VIEWERS)
async def test_aliases_fragments_and_typename_in_one_statement(
    both_paths, stats_world, count_statements, execute, who
):
    viewer = stats_world["viewers"][who]

    compared = await both_paths(SHAPES, RANGE, viewer=viewer)
    with count_statements as counted:
        result = await execute(SHAPES, RANGE, viewer=viewer)

    assert compared.fast == compared.general
    assert compared.compiled
    assert result.errors is None, result.errors
    assert counted.count == 1, "\n\n".join(counted.statements)
    first = buckets(compared.general.replace(b'"byDay"', b'"bookingStats"'))[0]
    assert list(first) == [
        "__typename",
        "day",
        "count",
        "completedCount",
        "revenue",
        "completedRevenue",
    ]
    assert first["__typename"] == "BookingStatsBucket"


async def test_host_dashboard_is_one_statement_and_the_loader_paths_bytes(
    both_paths, stats_world, count_statements, execute
):
    host = stats_world["viewers"]["host"]
    document = operation_source("HostDashboard")
    variables = {"ownerId": encode_global_id("User", host.user_id), **RANGE}

    with count_statements as counted:
        await execute(document, variables, viewer=host, paths="loaders")
    loaders = counted.count
    with count_statements as counted:
        result = await execute(document, variables, viewer=host)
    compared = await both_paths(document, variables, viewer=host)

    assert result.errors is None, result.errors
    assert counted.count == 1, "\n\n".join(counted.statements)
    # The loader path: venues, their count, owners, bookings, their counts, guests, the stats.
    assert loaders == 7
    assert compared.fast == compared.general
    assert compared.compiled
    stats = json.loads(compared.general)["data"]["bookingStats"]
    assert [bucket["key"] for bucket in stats] == ["2031-06-01", "2031-07-01"]
