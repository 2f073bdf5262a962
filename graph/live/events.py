"""What the triggers of migration 0012 announce on `sartiq_live`, parsed.

Payloads carry ids, kinds and a booking's time span, never row contents: subscribers read
the rows again with their own viewer (graph/live/subscriptions.py).
"""

import datetime as dt
import json
import uuid
from dataclasses import dataclass

CHANNEL = "sartiq_live"


@dataclass(frozen=True, slots=True)
class BookingEvent:
    """A booking was created, changed status, was rescheduled, deleted or restored."""

    kind: str
    booking_id: uuid.UUID
    venue_id: uuid.UUID
    user_id: uuid.UUID
    # The span the change touched (old and new span together for a reschedule).
    starts_at: dt.datetime
    ends_at: dt.datetime

    def overlaps(self, window_start: dt.datetime, window_end: dt.datetime) -> bool:
        """Whether the change touched `[window_start, window_end)`."""
        return self.starts_at < window_end and self.ends_at > window_start


@dataclass(frozen=True, slots=True)
class SessionRevoked:
    """A login session was revoked (or deleted) and no longer authenticates."""

    session_id: uuid.UUID
    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Resync:
    """Events may have been missed: state-shaped subscriptions re-send their state.

    Sent when the listener reconnects, a subscriber's queue overflows, or one statement
    changes more bookings than the triggers announce one by one.
    """


RESYNC = Resync()

Event = BookingEvent | SessionRevoked | Resync


def parse_event(payload: str) -> Event | None:
    """The event a notification's payload describes; None for one this version ignores."""
    try:
        data = json.loads(payload)
        topic = data["t"]
        if topic == "booking":
            return BookingEvent(
                kind=str(data["k"]),
                booking_id=uuid.UUID(data["id"]),
                venue_id=uuid.UUID(data["v"]),
                user_id=uuid.UUID(data["u"]),
                starts_at=dt.datetime.fromisoformat(data["s"]),
                ends_at=dt.datetime.fromisoformat(data["e"]),
            )
        if topic == "session":
            return SessionRevoked(session_id=uuid.UUID(data["id"]), user_id=uuid.UUID(data["u"]))
        if topic == "resync":
            return RESYNC
    except (ValueError, KeyError, TypeError):
        return None
    return None
