"""A collapse in frame delivery, told from what arrives: rate, publisher sequence numbers and stamps.

A camera driver at Fast DDS's defaults can deliver fully for minutes and then far fewer frames, with
no error anywhere (docs/cameras.md, "Delivery that collapses"). Two signs tell it from a camera that
simply runs slower (a webcam lowering its rate in the dark):

- **lost**: the publisher's sequence numbers advance faster than frames arrive (best effort, or a
  reliable reader whose history overflowed): frames are sent and never reach the node;
- **late**: fewer frames arrive than the stream's healthy rate and they arrive much later after
  their stamps than they did (reliable repairs hold the stream back; a camera that slows down keeps
  its latency).

``DeliveryMonitor`` keeps a sliding window per input and the healthy figures it has seen;
``assess`` says whether delivery has collapsed now. Pure Python, no ROS.
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass
from typing import Deque, Dict, Optional, Tuple

#: Seconds of arrivals each assessment looks at.
WINDOW_S = 5.0
#: Delivery below this share of what was sent (lost) or of the healthy rate (late) is a collapse.
COLLAPSE_SHARE = 0.75
#: ... back above this share it has recovered (a margin, so a stream at the edge does not flap).
RECOVER_SHARE = 0.9
#: Late means the median stamp-to-arrival time grew by at least this much and this factor.
LATE_EXTRA_S = 0.05
LATE_FACTOR = 2.0
#: Frames a window needs before the monitor judges it (a rate from fewer says little).
MIN_FRAMES = 10


@dataclass(frozen=True)
class Delivery:
    """The figures of one window: arrivals per second, the publisher's frames per second (None where
    sequence numbers are missing), and the median stamp-to-arrival time."""

    received_hz: float
    sent_hz: Optional[float]
    transport_s: float


@dataclass(frozen=True)
class Collapse:
    """A collapse: how (``lost`` or ``late``), the window's figures, and the healthy ones before it."""

    kind: str
    now: Delivery
    healthy: Delivery


class DeliveryMonitor:
    """Arrivals of one input over a sliding window, against the healthiest window seen so far."""

    def __init__(self, window_s: float = WINDOW_S):
        self.window_s = window_s
        # (arrival, stamp-to-arrival s, publisher key, sequence number or None)
        self._arrivals: Deque[Tuple[float, float, bytes, Optional[int]]] = collections.deque()
        self.healthy: Optional[Delivery] = None
        self.collapse: Optional[Collapse] = None

    def arrived(self, now: float, transport_s: float, publisher: bytes = b'', sequence: Optional[int] = None) -> None:
        """Note a frame that arrived at monotonic ``now``, ``transport_s`` after its stamp."""
        self._arrivals.append((now, transport_s, publisher, sequence))

    def restart_window(self) -> None:
        """Judge only frames from now on, keeping the healthy figures and a collapse in force (after a
        reload, whose pause loses frames that say nothing about the transport)."""
        self._arrivals.clear()

    def reset(self) -> None:
        """Forget the stream (a new subscription): the next healthy window is learned anew."""
        self._arrivals.clear()
        self.healthy = None
        self.collapse = None

    def window(self, now: float) -> Optional[Delivery]:
        """The figures of the last ``window_s`` seconds, or None with too few frames to judge."""
        while self._arrivals and now - self._arrivals[0][0] > self.window_s:
            self._arrivals.popleft()
        if len(self._arrivals) < MIN_FRAMES:
            return None
        received_hz = len(self._arrivals) / self.window_s
        transport = statistics.median(a[1] for a in self._arrivals)
        return Delivery(received_hz, _sent_hz(self._arrivals, self.window_s), transport)

    def assess(self, now: float) -> Optional[Collapse]:
        """The collapse in force at ``now`` (None while delivery is healthy or cannot be judged yet)."""
        current = self.window(now)
        if current is None:
            # Too few frames: a collapse stays in force until frames come back; a stream that
            # stopped altogether is the silent-publisher warning's case.
            return self.collapse
        kind = _collapse_kind(current, self.healthy, COLLAPSE_SHARE if self.collapse is None else RECOVER_SHARE)
        if kind:
            self.collapse = Collapse(kind, current, self.healthy or current)
        else:
            self.collapse = None
            if self.healthy is None or current.received_hz >= self.healthy.received_hz * RECOVER_SHARE:
                self.healthy = _healthier(self.healthy, current)
        return self.collapse


def _sent_hz(arrivals, window_s: float) -> Optional[float]:
    """Frames per second the publishers sent over the window, from their sequence numbers."""
    first: Dict[bytes, int] = {}
    last: Dict[bytes, int] = {}
    sent = 0
    for _, _, key, sequence in arrivals:
        if sequence is None:
            return None
        if key in last and sequence < last[key]:  # a publisher that restarted: its earlier run ends here
            sent += last[key] - first.pop(key) + 1
        first.setdefault(key, sequence)
        last[key] = sequence
    # A window's first frame of each publisher counts as one sent, as it counts as one received.
    return (sent + sum(last[key] - first[key] + 1 for key in first)) / window_s


def _collapse_kind(current: Delivery, healthy: Optional[Delivery], share: float) -> str:
    """'lost', 'late' or '' for a window against the healthy figures; ``share`` is the threshold in force."""
    if current.sent_hz and current.received_hz < share * current.sent_hz:
        return 'lost'
    if healthy is None:
        return ''
    slower = current.received_hz < share * healthy.received_hz
    later = current.transport_s > max(LATE_FACTOR * healthy.transport_s, healthy.transport_s + LATE_EXTRA_S)
    return 'late' if slower and later else ''


def _healthier(healthy: Optional[Delivery], current: Delivery) -> Delivery:
    """The healthy figures after a healthy window: the highest rate, with the latency it came with."""
    if healthy is None or current.received_hz >= healthy.received_hz:
        return current
    return healthy
