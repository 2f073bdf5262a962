"""One LISTEN connection per worker, fanning PostgreSQL's notifications out in memory.

Each worker process listens for itself (no shared memory, no broker): the first subscriber
starts the connection, every notification on `sartiq_live` is parsed once and offered to each
subscription whose filter takes it, into a bounded backlog. When the connection is lost the
listener reconnects with exponential backoff (with jitter, so the workers of a restarted
server do not reconnect in step) and, once listening again, sends every subscription a
`Resync`: what happened while it was deaf is unknown, so state-shaped subscriptions re-send
their state. A subscription whose backlog is full is sent a `Resync` in place of it.

With replicas (`track_position`), a notification means "committed on the primary", and the
subscribers read the rows on a replica that may not have replayed it yet. So the listener
asks the primary where its WAL stands once notifications have arrived, and only then hands
them out: `position` is then past every commit announced so far, and each event's read waits
for a replica that has replayed that far (or reads on the primary).
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any, Self

import asyncpg

from graph.live.events import CHANNEL, RESYNC, Event, Resync, parse_event
from models.replication import WAL_POSITION_SQL, parse_lsn

logger = logging.getLogger("graph.live")

# Backoff between reconnection attempts: doubled from the first to the last, with jitter.
FIRST_RETRY_SECONDS = 0.1
LAST_RETRY_SECONDS = 5.0
# A silently dropped connection (a firewall forgetting it) is found by a ping this often.
PING_EVERY_SECONDS = 15.0
PING_TIMEOUT_SECONDS = 5.0

EventFilter = Callable[[Event], bool]


class Subscription:
    """One subscriber's bounded backlog of the events its filter takes.

    A list made when an event comes and a future made when its subscriber waits, rather than
    an `asyncio.Queue`: a queue holds four deques (about 3 KB), and a worker keeps one per
    idle subscriber for hours. Entering it registers it with its listener; leaving, removes it.
    """

    __slots__ = ("_events", "_maxsize", "_registry", "_waiter", "accepts")

    def __init__(self, accepts: EventFilter, maxsize: int, registry: set["Subscription"]) -> None:
        """Keep at most `maxsize` events that `accepts` takes (a `Resync` always is)."""
        self.accepts = accepts
        self._maxsize = maxsize
        self._registry = registry
        self._events: list[Event] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def __enter__(self) -> Self:
        """Receive the listener's events from now on."""
        self._registry.add(self)
        return self

    def __exit__(self, *_: object) -> None:
        """Receive no more events."""
        self._registry.discard(self)

    def offer(self, event: Event) -> None:
        """Keep `event` if wanted; on overflow the backlog becomes one `Resync`."""
        if not isinstance(event, Resync) and not self.accepts(event):
            return
        events = self._events
        if events is None:
            self._events = [event]
        elif len(events) >= self._maxsize:
            self._events = [RESYNC]
        else:
            events.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> Event:
        """The next event, waiting for it (one reader at a time: one future is kept)."""
        while not self._events:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        events = self._events
        event = events.pop(0)
        if not events:
            self._events = None
        return event

    def drain(self) -> list[Event]:
        """The events already waiting, without waiting (to coalesce a burst into one read)."""
        events = self._events or []
        self._events = None
        return events


class Listener:
    """The worker's listening connection and its subscribers."""

    def __init__(
        self,
        dsn: str,
        *,
        application_name: str,
        queue_size: int = 64,
        track_position: bool = False,
    ) -> None:
        """Listen at `dsn` (a libpq URL) as `application_name`, once someone subscribes.

        `track_position`: keep `position` (reads go to replicas, which must have it).
        """
        self.dsn = dsn
        self.application_name = application_name
        self.queue_size = queue_size
        self.track_position = track_position
        # The primary's WAL position when the events handed out so far had all arrived.
        self.position: int | None = None
        self._pending: list[Event] = []
        self._positioning: asyncio.Task[None] | None = None
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.connections_made = 0

    def subscribe(self, accepts: EventFilter) -> Subscription:
        """A subscription for as long as a `with` block on it runs; starts the listener."""
        self.start()
        return Subscription(accepts, self.queue_size, self._subscriptions)

    def start(self) -> None:
        """Start listening in the background (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="graph.live.listener")

    async def ready(self, timeout: float) -> bool:  # noqa: ASYNC109 - a bound, not a deadline
        """Wait until the connection listens; False when it does not within `timeout` s."""
        self.start()
        try:
            await asyncio.wait_for(self._listening.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open on this worker."""
        return len(self._subscriptions)

    async def close(self) -> None:
        """Stop listening (the app's shutdown)."""
        if self._positioning is not None:
            self._positioning.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def publish(self, event: Event) -> None:
        """Offer `event` to every subscription."""
        for subscription in tuple(self._subscriptions):
            subscription.offer(event)

    def _on_notification(self, connection: Any, _pid: int, _channel: str, payload: object) -> None:  # noqa: ANN401 - asyncpg's callback signature
        event = parse_event(str(payload))
        if event is None:
            logger.warning("ignored a notification on %s: %.200s", CHANNEL, payload)
            return
        if not self.track_position:
            self.publish(event)
            return
        self._pending.append(event)
        if self._positioning is None or self._positioning.done():
            self._positioning = asyncio.create_task(self._publish_positioned(connection))

    async def _publish_positioned(self, connection: asyncpg.Connection) -> None:
        """Hand out the pending events once `position` is past their commits."""
        while self._pending:
            # Taken before asking: these notifications had all arrived, so their commits
            # precede the position read next. Later ones wait for the next round.
            batch, self._pending = self._pending, []
            await self._read_position(connection)
            for event in batch:
                self.publish(event)

    async def _read_position(self, connection: asyncpg.Connection) -> None:
        try:
            position = parse_lsn(
                await connection.fetchval(WAL_POSITION_SQL, timeout=PING_TIMEOUT_SECONDS)
            )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # The connection is going: the reconnection's resync re-reads every state.
            logger.warning("could not read the primary's WAL position (%s)", error)
            return
        self.position = max(position, self.position or 0)

    async def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                await self._listen_once()
                delay = FIRST_RETRY_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any failure: wait, then reconnect
                logger.warning("listening connection failed (%s); retrying in %.1f s", error, delay)
            self._listening.clear()
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, LAST_RETRY_SECONDS)

    async def _listen_once(self) -> None:
        """Connect, LISTEN, and return when the connection is lost."""
        connection = await asyncpg.connect(
            self.dsn, server_settings={"application_name": self.application_name}
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._on_notification)
            if self.track_position:
                await self._read_position(connection)  # past whatever was missed while deaf
            self._listening.set()
            if self.connections_made:
                logger.info("listening again on %s; subscribers resync", CHANNEL)
                self.publish(RESYNC)
            self.connections_made += 1
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_EVERY_SECONDS)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=PING_TIMEOUT_SECONDS)
            logger.warning("listening connection lost; reconnecting")
        finally:
            self._listening.clear()
            if not connection.is_closed():
                connection.terminate()
