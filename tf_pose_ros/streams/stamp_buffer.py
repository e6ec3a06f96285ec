"""The last few messages of a stream, looked up by stamp: pairs depth frames with colour frames."""

from __future__ import annotations

import collections
import threading
from typing import Any, Deque, Optional, Tuple


class StampBuffer:
    """Holds the ``capacity`` most recently added items with their stamps (integer nanoseconds).

    Safe across threads: the producer (a subscription callback) only appends; the consumer asks for
    the item closest to a stamp, so neither waits for the other. The oldest *arrival* goes first, so
    a clock that jumps back (a bag played again, a simulation restarted) is followed at once.
    """

    def __init__(self, capacity: int = 10):
        if capacity < 1:
            raise ValueError('capacity must be >= 1, got %r' % capacity)
        self.capacity = capacity
        self._lock = threading.Lock()
        self._entries: Deque[Tuple[int, Any]] = collections.deque(maxlen=capacity)

    def add(self, stamp_ns: int, item: Any) -> None:
        """Store ``item``; the earliest added item goes when the buffer is full."""
        with self._lock:
            self._entries.append((stamp_ns, item))

    def closest(self, stamp_ns: int) -> Optional[Tuple[Any, int]]:
        """(item, its stamp minus ``stamp_ns``) of the item nearest in stamp, or None while empty.

        Of two items equally near, the later added wins.
        """
        with self._lock:
            entries = list(self._entries)
        if not entries:
            return None
        stamp, item = min(reversed(entries), key=lambda entry: abs(entry[0] - stamp_ns))
        return item, stamp - stamp_ns

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget every item."""
        with self._lock:
            self._entries.clear()
