"""The last few messages of a stream, looked up by stamp: pairs depth frames with colour frames."""

from __future__ import annotations

import bisect
import threading
from typing import Any, List, Optional, Tuple


class StampBuffer:
    """Holds the ``capacity`` newest items by stamp (integer nanoseconds); safe across threads.

    The producer (a subscription callback) only appends; the consumer asks for the item closest
    to a stamp, so neither waits for the other.
    """

    def __init__(self, capacity: int = 10):
        if capacity < 1:
            raise ValueError('capacity must be >= 1, got %r' % capacity)
        self.capacity = capacity
        self._lock = threading.Lock()
        self._stamps: List[int] = []
        self._items: List[Any] = []

    def add(self, stamp_ns: int, item: Any) -> None:
        """Store ``item``; the oldest stamp goes when the buffer is full (late arrivals are sorted in)."""
        with self._lock:
            index = bisect.bisect_right(self._stamps, stamp_ns)
            self._stamps.insert(index, stamp_ns)
            self._items.insert(index, item)
            if len(self._stamps) > self.capacity:
                del self._stamps[0], self._items[0]

    def closest(self, stamp_ns: int) -> Optional[Tuple[Any, int]]:
        """(item, its stamp minus ``stamp_ns``) of the item nearest in stamp, or None while empty."""
        with self._lock:
            if not self._stamps:
                return None
            index = bisect.bisect_left(self._stamps, stamp_ns)
            near = [i for i in (index - 1, index) if 0 <= i < len(self._stamps)]
            best = min(near, key=lambda i: abs(self._stamps[i] - stamp_ns))
            return self._items[best], self._stamps[best] - stamp_ns

    def __len__(self) -> int:
        with self._lock:
            return len(self._stamps)

    def clear(self) -> None:
        """Forget every item."""
        with self._lock:
            self._stamps.clear()
            self._items.clear()
