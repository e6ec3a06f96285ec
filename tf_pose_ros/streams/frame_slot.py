"""A one-frame mailbox between the executor and the inference thread."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional, Tuple

#: A waiting frame older than this share of the source's frame period is worth swapping for the
#: next frame when that is due soon: waiting a little then costs less rate than the stale frame
#: costs latency (with a 30 Hz source and an 80 ms network: ~2 ms idle for ~10 ms fresher results).
FRESH_FRACTION = 2.0 / 3.0
#: How late past its expected time the next frame may come before the stale one is used anyway.
LATE_MARGIN = 0.25


class LatestFrameSlot:
    """Holds only the newest frame: a frame put while one is waiting replaces it (counted as dropped).

    The producer never blocks, so image callbacks stay instant however slow inference is, and memory
    is bounded to one waiting frame. The slot also estimates the source's frame period. Slots given
    one ``condition`` (a FrameBatcher's) wake whoever waits on any of them.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 condition: Optional[threading.Condition] = None):
        self._clock = clock
        # Re-entrant (Condition's default lock): a batcher holding it calls the slots' methods.
        self._cond = condition if condition is not None else threading.Condition()
        self._entry: Optional[Tuple[Any, float]] = None
        self._closed = False
        self._last_arrival: Optional[float] = None
        self.period: Optional[float] = None
        self.dropped = 0
        #: Seconds ``take`` waited on an empty slot (not the wait for a fresher frame).
        self.idle_s = 0.0

    def put(self, frame: Any) -> bool:
        """Store ``frame``; returns True when it replaced a frame nobody had taken."""
        now = self._clock()
        with self._cond:
            self._update_period(now)
            replaced = self._entry is not None
            if replaced:
                self.dropped += 1
            self._entry = (frame, now)
            self._cond.notify_all()
            return replaced

    def _update_period(self, now: float) -> None:
        if self._last_arrival is not None:
            interval = now - self._last_arrival
            if self.period is None:
                self.period = interval
            elif interval < 5.0 * self.period:  # a pause in the stream is not a new rate
                self.period += 0.2 * (interval - self.period)
        self._last_arrival = now

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    @property
    def last_arrival(self) -> Optional[float]:
        """Clock time of the latest put (None before the first)."""
        return self._last_arrival

    @property
    def pending(self) -> bool:
        """True while a frame waits to be taken."""
        return self._entry is not None

    def take(self, timeout: Optional[float] = None, fresh: bool = False) -> Optional[Tuple[Any, float]]:
        """Wait for and remove the newest frame: (frame, arrival time), or None on timeout/close.

        With ``fresh``, a frame older than FRESH_FRACTION of the frame period is exchanged for the
        next one when that arrives in time (the stale frame then counts as dropped); otherwise the
        stale frame is returned, so the last frame of a stream is never lost.
        """
        with self._cond:
            if self._entry is None and not self._closed:
                began = self._clock()
                self._cond.wait(timeout)
                self.idle_s += self._clock() - began
            if self._entry is None:
                return None
            if fresh and self.period:
                waiting = self._entry
                age = self._clock() - waiting[1]
                if age > FRESH_FRACTION * self.period:
                    deadline = waiting[1] + (1.0 + LATE_MARGIN) * self.period
                    while self._entry is waiting and not self._closed:
                        left = deadline - self._clock()
                        if left <= 0:
                            break
                        self._cond.wait(left)
            entry, self._entry = self._entry, None
            return entry

    def arrival(self) -> Optional[float]:
        """Arrival time of the waiting frame (None while none waits)."""
        entry = self._entry
        return entry[1] if entry is not None else None

    def close(self) -> None:
        """Wake any waiting taker; later takes return what is left, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
