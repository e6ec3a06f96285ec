"""Running counters and latency figures of the pose node, for diagnostics and logs."""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Deque, Dict, Mapping, Optional, Sequence, Tuple

#: Frame counters of the pose node (diagnostics keys).
RECEIVED = 'received'            # frames that reached the node
LOST = 'lost'                    # frames a publisher sent that never reached the node (sequence gaps)
PROCESSED = 'processed'          # results published
DROPPED = 'dropped'              # replaced by a newer frame before the network took them
INVALID = 'invalid'              # messages that are no usable image
FAILED = 'failed'                # frames whose inference raised
SKIPPED_NO_MODEL = 'skipped_no_model'  # frames that arrived while no model was loaded
SKIPPED_PAUSED = 'skipped_paused'      # frames that arrived while inference was paused (~/enable)
WITH_DEPTH = 'with_depth'        # results with 3D keypoints (depth_topic set)
WITHOUT_DEPTH = 'without_depth'  # results without: no depth image or camera_info matched (depth_topic set)
INCOMPATIBLE_QOS = 'incompatible_qos'  # publishers found on an input topic whose QoS the subscription cannot match
COUNTERS = (RECEIVED, LOST, PROCESSED, DROPPED, INVALID, FAILED, SKIPPED_NO_MODEL, SKIPPED_PAUSED, WITH_DEPTH,
            WITHOUT_DEPTH, INCOMPATIBLE_QOS)
#: Seconds the inference thread waited with no frame to take, all cameras together (a diagnostics key): it
#: stands still while frames wait for the node, and grows while the node waits for frames.
IDLE = 'idle_s'
#: Where a frame's stamp-to-publish latency goes: stamp to the subscription callback (capture,
#: transport, executor), waiting for the inference thread, image decoding, the pose pipeline,
#: building the Persons message.
LATENCY_PARTS = ('transport', 'wait', 'decode', 'pipeline', 'message')
#: Counters that mean something went wrong (a WARN on /diagnostics when they grow).
PROBLEM_COUNTERS = (INVALID, FAILED, SKIPPED_NO_MODEL)


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile (0..1) of sorted, non-empty ``ordered`` by the nearest-rank method."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class PipelineStats:
    """Thread-safe frame counters plus a sliding window of recent publishes.

    ``window`` seconds of (publish time, stamp-to-publish latency, pipeline time) feed the rate and
    latency figures.
    """

    def __init__(self, window: float = 5.0):
        self.window = window
        self._lock = threading.Lock()
        self._recent: Deque[Tuple[float, float, float, Dict[str, float]]] = collections.deque()
        self.counts: Dict[str, int] = collections.Counter()

    def count(self, key: str, amount: int = 1) -> None:
        """Add to a named counter (one of COUNTERS)."""
        with self._lock:
            self.counts[key] += amount

    def record(self, latency_s: float, pipeline_s: float, now: Optional[float] = None,
               split: Optional[Mapping[str, float]] = None) -> None:
        """Note one published result; ``split`` divides its latency into named parts (seconds)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent.append((now, latency_s, pipeline_s, dict(split or {})))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > self.window:
            self._recent.popleft()

    def reset_window(self) -> None:
        """Forget the recent publishes (counters stay)."""
        with self._lock:
            self._recent.clear()

    def snapshot(self, now: Optional[float] = None) -> Dict[str, float]:
        """Counters and window figures: rate_hz, latency_ms_mean/median/p99/max, pipeline_ms_mean."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._trim(now)
            recent = list(self._recent)
            figures: Dict[str, float] = dict(self.counts)
        if len(recent) >= 2:
            span = recent[-1][0] - recent[0][0]
            figures['rate_hz'] = (len(recent) - 1) / span if span > 0 else 0.0
        else:
            figures['rate_hz'] = 0.0
        if recent:
            latencies = sorted(r[1] for r in recent)
            figures['latency_ms_mean'] = 1e3 * sum(latencies) / len(latencies)
            figures['latency_ms_median'] = 1e3 * latencies[len(latencies) // 2]
            # Nearest rank: with fewer than 100 results this is the maximum.
            figures['latency_ms_p99'] = 1e3 * nearest_rank(latencies, 0.99)
            figures['latency_ms_max'] = 1e3 * latencies[-1]
            figures['pipeline_ms_mean'] = 1e3 * sum(r[2] for r in recent) / len(recent)
            for part in LATENCY_PARTS:
                values = [r[3][part] for r in recent if part in r[3]]
                if values:
                    figures['latency_ms_%s' % part] = 1e3 * sum(values) / len(values)
        return figures
