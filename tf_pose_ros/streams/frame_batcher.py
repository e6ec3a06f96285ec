"""Frames of several cameras gathered into one batch for one network call (no ROS).

Each camera has its one-frame slot (LatestFrameSlot); all share one condition, so the inference
thread sleeps until any camera's frame arrives. It then waits at most ``wait`` seconds for the
other cameras' frames, and only for cameras whose next frame is due within that time: a camera
that never publishes, or publishes out of phase, never delays the others by more than the bound
(in fact not at all), while cameras running in step are inferred together.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from tf_pose_ros.streams.frame_slot import LatestFrameSlot

#: A camera silent for more than this many of its frame periods is not waited for.
SILENT_PERIODS = 2.0


def due_by(slot: LatestFrameSlot, deadline: float, now: float) -> bool:
    """True when ``slot``'s source is running and its next frame is expected before ``deadline``."""
    last, period = slot.last_arrival, slot.period
    if last is None or not period:
        return False
    return now - last < SILENT_PERIODS * period and last + period <= deadline


class FrameBatcher:
    """One slot per camera; ``take`` returns the frames to infer together, oldest first.

    With a single camera ``take`` is the slot's own fresh take, so one camera behaves as before
    batching existed.
    """

    def __init__(self, cameras: int, max_size: int = 4, wait: float = 0.005,
                 clock: Callable[[], float] = time.monotonic, idle_s: float = 0.0):
        if cameras < 1 or max_size < 1 or wait < 0:
            raise ValueError('a batcher needs at least one camera, a batch size of at least 1 and wait >= 0')
        self._clock = clock
        self._cond = threading.Condition()
        self.slots: List[LatestFrameSlot] = [LatestFrameSlot(clock, self._cond) for _ in range(cameras)]
        self.max_size = max_size
        self.wait = wait
        self._closed = False
        self._idle_s = idle_s  # a batcher that replaces another starts from that one's total

    @property
    def idle_s(self) -> float:
        """Seconds ``take`` waited with no frame pending (the node starved of frames, not busy); not the waits
        for a fresher frame or for the other cameras of a batch."""
        return self._idle_s + sum(slot.idle_s for slot in self.slots)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def close(self) -> None:
        """Wake the taker; later takes return what is left, then nothing."""
        with self._cond:
            self._closed = True
            for slot in self.slots:
                slot.close()

    def take(self, timeout: Optional[float] = None) -> List[Tuple[int, Any, float]]:
        """Wait for frames: [(camera index, frame, arrival time)], oldest first; [] on timeout or close."""
        if len(self.slots) == 1:
            entry = self.slots[0].take(timeout, fresh=True)
            return [] if entry is None else [(0, entry[0], entry[1])]
        with self._cond:
            if not self._waiting() and not self._closed:
                began = self._clock()
                self._cond.wait(timeout)
                self._idle_s += self._clock() - began
            if not self._waiting():
                return []
            deadline = self._clock() + self.wait
            while not self._closed and len(self._waiting()) < self.max_size:
                now = self._clock()
                if now >= deadline or not self._awaited(deadline, now):
                    break
                self._cond.wait(deadline - now)
            waiting = sorted(self._waiting(), key=lambda i: self.slots[i].arrival() or 0.0)[:self.max_size]
            batch = []
            for index in waiting:
                entry = self.slots[index].take(0)
                if entry is not None:
                    batch.append((index, entry[0], entry[1]))
            return batch

    def _waiting(self) -> Sequence[int]:
        return [i for i, slot in enumerate(self.slots) if slot.pending]

    def _awaited(self, deadline: float, now: float) -> bool:
        return any(not slot.pending and due_by(slot, deadline, now) for slot in self.slots)


def runs_batches(estimator) -> bool:
    """True when ``estimator`` runs a batch in one network call: it has ``infer_batch`` and its engine
    takes batches (``network.batches``; an engine that does not say is taken at its word)."""
    return hasattr(estimator, 'infer_batch') and bool(getattr(getattr(estimator, 'network', None), 'batches', True))


def infer_frames(estimator, images: Sequence[Any], faint: bool = False) -> Iterator[Tuple[Any, float]]:
    """(result, monotonic time its network call began) for each image, in order.

    One network call for the whole batch where the estimator runs batches (runs_batches); otherwise
    one call per image, each result handed over as soon as it is ready, so on an engine that runs
    images one by one anyway no camera's result waits for the other cameras' inference. With
    ``faint`` the results carry the faint people too (PoseEstimator.infer_batch), for blurring faces.
    """
    options = {'faint': True} if faint else {}  # estimators without the option still serve the rest
    if len(images) > 1 and runs_batches(estimator):
        batch = estimator.infer_batch
        began = time.monotonic()
        for result in batch(list(images), **options):
            yield result, began
        return
    for image in images:
        began = time.monotonic()
        yield estimator.infer(image, **options), began
