"""A subscription's backlog in the worker: order, coalescing, overflow, waking its reader."""

import asyncio
import datetime as dt
import uuid

import pytest

from graph.live.events import RESYNC, BookingEvent, Event, SessionRevoked
from graph.live.listener import Subscription

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def booking(venue: uuid.UUID, hour: int = 0) -> BookingEvent:
    starts = START + dt.timedelta(hours=hour)
    return BookingEvent(
        kind="created",
        booking_id=uuid.uuid4(),
        venue_id=venue,
        user_id=uuid.uuid4(),
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
    )


def of_venue(venue: uuid.UUID) -> Subscription:
    def accepts(event: Event) -> bool:
        return isinstance(event, BookingEvent) and event.venue_id == venue

    return Subscription(accepts, 3, set())


async def test_events_come_in_order_and_only_those_the_filter_takes():
    venue = uuid.uuid4()
    subscription = of_venue(venue)
    first, second = booking(venue, 1), booking(venue, 2)
    subscription.offer(first)
    subscription.offer(booking(uuid.uuid4()))
    subscription.offer(SessionRevoked(session_id=uuid.uuid4(), user_id=uuid.uuid4()))
    subscription.offer(second)
    assert await subscription.next() == first
    assert subscription.drain() == [second]
    assert subscription.drain() == []


async def test_a_resync_is_always_taken():
    subscription = of_venue(uuid.uuid4())
    subscription.offer(RESYNC)
    assert await subscription.next() == RESYNC


async def test_an_overflowing_backlog_becomes_one_resync():
    venue = uuid.uuid4()
    subscription = of_venue(venue)
    for hour in range(4):  # one more than the backlog holds
        subscription.offer(booking(venue, hour))
    assert subscription.drain() == [RESYNC]
    later = booking(venue, 9)
    subscription.offer(later)
    assert await subscription.next() == later


async def test_a_waiting_reader_wakes_when_an_event_comes():
    venue = uuid.uuid4()
    subscription = of_venue(venue)
    reader = asyncio.create_task(subscription.next())
    await asyncio.sleep(0)
    assert not reader.done()
    subscription.offer(booking(uuid.uuid4()))  # not taken: the reader keeps waiting
    await asyncio.sleep(0)
    assert not reader.done()
    event = booking(venue)
    subscription.offer(event)
    assert await asyncio.wait_for(reader, 1) == event


async def test_a_cancelled_reader_leaves_the_subscription_usable():
    venue = uuid.uuid4()
    subscription = of_venue(venue)
    reader = asyncio.create_task(subscription.next())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    event = booking(venue)
    subscription.offer(event)
    assert await asyncio.wait_for(subscription.next(), 1) == event


def test_it_receives_events_only_inside_its_block():
    registry: set[Subscription] = set()
    subscription = Subscription(lambda _: True, 3, registry)
    assert not registry
    with subscription as entered:
        assert entered is subscription
        assert registry == {subscription}
    assert not registry
