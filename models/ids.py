"""Time-ordered UUIDs (UUIDv7, RFC 9562): primary-key inserts stay at the index's right edge."""

import os
import threading
import time
import uuid

_RAND_B_MASK = 0x3FFF_FFFF_FFFF_FFFF
_lock = threading.Lock()
_last = 0


def _fresh_uuid7_int() -> int:
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a
    value |= 0b10 << 62  # variant
    value |= rand & _RAND_B_MASK  # rand_b
    return value


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7: 48 bits of Unix milliseconds, then random bits.

    Monotonic within the process (RFC 9562, section 6.2): an id made in the same millisecond
    as the previous one is that one plus one, so ids sort in the order they were made.
    """
    global _last  # noqa: PLW0603 - the last id is process state by design
    with _lock:
        value = _fresh_uuid7_int()
        if value <= _last and (_last & _RAND_B_MASK) != _RAND_B_MASK:
            value = _last + 1
        _last = value
    return uuid.UUID(int=value)
