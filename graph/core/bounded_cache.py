"""A process-wide least-recently-used map with a bound: the caches kept per worker.

Compiled statements, bound pieces and validation results are each kept per distinct
document or argument set; a bound on each keeps many distinct documents from growing a
worker's memory.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

# What `BoundedCache.get` returns for a key it does not keep (None may be a kept value).
MISSING = object()


class BoundedCache:
    """A process-wide least-recently-used map of at most `maxsize` entries, safe across threads."""

    def __init__(self, maxsize: int) -> None:
        """Keep at most `maxsize` entries."""
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._entries)

    def get(self, key: Hashable) -> Any:  # noqa: ANN401 - what was put, or `MISSING`
        """The value put under `key`, or `MISSING` if none is kept."""
        with self._lock:
            if key not in self._entries:
                return MISSING
            self._entries.move_to_end(key)
            return self._entries[key]

    def put(self, key: Hashable, value: object) -> None:
        """Keep `value` under `key`, dropping the least recently used entry past the bound."""
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
