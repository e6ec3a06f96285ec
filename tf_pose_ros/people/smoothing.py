"""Steady skeletons: a One Euro filter per keypoint of each track.

The One Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass filter whose cutoff rises
with the speed of the point: a still keypoint is smoothed hard (its jitter goes), a moving one
hardly (little lag). ``min_cutoff`` (Hz) sets the smoothing at rest, ``beta`` how fast the cutoff
rises with speed, ``d_cutoff`` (Hz) the smoothing of the speed estimate itself.

Positions are filtered in image heights (x and y divided by the image height), so speeds and
``beta`` mean the same at any resolution. Time comes from the frames' stamps. A track's state
starts fresh when the track starts (its first frame passes unchanged), and a part that was missing
in the track's previous frame starts fresh too: it may be anywhere by now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence

import numpy as np

from tf_pose_ros.people import Keypoint, Person, PoseResult

NONE = 'none'
ONE_EURO = 'one_euro'
#: Every value of the ``smoothing`` setting.
METHODS = (NONE, ONE_EURO)
#: Defaults, chosen from `python -m tf_pose_ros.benchmarks.smoothing_bench --frames 60` (mobilenet_thin,
#: CPU): on a still person with sensor noise (std 8 grey levels) min_cutoff 0.5 / beta 5 leaves 26-31 % of
#: the unfiltered keypoint jitter (two runs), with a lag of 23 ms (under one frame at 30 fps) on the demo
#: clip. beta 0 smooths a little more (22-23 %) but lags 150-180 ms; beta 20 lags 10 ms but keeps 39-50 %.
DEFAULT_METHOD = ONE_EURO
DEFAULT_MIN_CUTOFF = 0.5
DEFAULT_BETA = 5.0
DEFAULT_D_CUTOFF = 1.0
#: Seconds between frames assumed when stamps do not advance (unstamped or repeated frames).
FALLBACK_DT = 1.0 / 30.0
#: Calls after which the state of a track that no longer appears is dropped.
FORGET_AFTER = 100
#: Keypoint slots per person (OpenPose COCO-18 part ids 0..17).
_PARTS = 18


def _alpha(cutoff, dt: float):
    """The exponential smoothing factor of a first-order low-pass at ``cutoff`` Hz for step ``dt`` s."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


@dataclass
class _TrackState:
    position: np.ndarray  # (18, 2) filtered positions, in image heights
    speed: np.ndarray  # (18, 2) filtered speeds, image heights per second
    seen: np.ndarray  # (18,) bool: the part was there in the track's previous frame
    stamp: float
    last_call: int


class KeypointSmoother:
    """Per-track One Euro filtering of the keypoints of successive results of one camera."""

    def __init__(self, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                 d_cutoff: float = DEFAULT_D_CUTOFF):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError('One Euro filter: min_cutoff and d_cutoff must be > 0 and beta >= 0 '
                             '(got %s, %s, %s)' % (min_cutoff, d_cutoff, beta))
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self._tracks: Dict[int, _TrackState] = {}
        self._calls = 0

    def reset(self) -> None:
        """Forget every track: the next frame of each passes unchanged."""
        self._tracks.clear()

    def tracked(self) -> List[int]:
        """The track ids with filter state."""
        return sorted(self._tracks)

    def smooth(self, result: PoseResult, track_ids: Sequence[int], stamp: float) -> PoseResult:
        """``result`` with each person's keypoints filtered along their track; ``stamp`` in seconds.

        ``track_ids`` gives each person's track, in the order of ``result.persons`` (a tracker's
        ``update``). Scores and the set of parts stay as they are; only positions change.
        """
        if len(track_ids) != len(result.persons):
            raise ValueError('%d track ids for %d persons' % (len(track_ids), len(result.persons)))
        self._calls += 1
        width, height = result.image_size
        scale = float(height) or 1.0
        persons = [self._smooth_person(person, int(track), stamp, scale, width, height)
                   for person, track in zip(result.persons, track_ids)]
        for track in [t for t, s in self._tracks.items() if self._calls - s.last_call > FORGET_AFTER]:
            del self._tracks[track]
        return replace(result, persons=persons)

    def _smooth_person(self, person: Person, track: int, stamp: float, scale: float, width: int,
                       height: int) -> Person:
        if not person.keypoints:
            return person
        ids = np.array([k.id for k in person.keypoints])
        raw = np.array([(k.x / scale, k.y / scale) for k in person.keypoints], np.float64)
        state = self._tracks.get(track)
        if state is None:
            state = _TrackState(np.zeros((_PARTS, 2)), np.zeros((_PARTS, 2)), np.zeros(_PARTS, bool), stamp,
                                self._calls)
            self._tracks[track] = state
            fresh = np.ones(len(ids), bool)
        else:
            fresh = ~state.seen[ids]
        dt = stamp - state.stamp
        if not dt > 0:
            dt = FALLBACK_DT
        previous, previous_speed = state.position[ids], state.speed[ids]
        speed = np.where(fresh[:, None], 0.0, (raw - previous) / dt)
        a_d = _alpha(self.d_cutoff, dt)
        speed = a_d * speed + (1.0 - a_d) * np.where(fresh[:, None], 0.0, previous_speed)
        cutoff = self.min_cutoff + self.beta * np.linalg.norm(speed, axis=1)
        a = _alpha(cutoff, dt)[:, None]
        filtered = np.where(fresh[:, None], raw, a * raw + (1.0 - a) * previous)
        state.position[ids], state.speed[ids] = filtered, speed
        state.seen[:] = False
        state.seen[ids] = True
        state.stamp, state.last_call = stamp, self._calls
        keypoints = []
        for keypoint, (x, y) in zip(person.keypoints, filtered * scale):
            keypoints.append(Keypoint(keypoint.id, keypoint.name, float(x), float(y), keypoint.score,
                                      float(x) / width if width else keypoint.x_norm,
                                      float(y) / height if height else keypoint.y_norm))
        return Person(person.score, tuple(keypoints))


def make_smoother(method: str, min_cutoff: float = DEFAULT_MIN_CUTOFF, beta: float = DEFAULT_BETA,
                  d_cutoff: float = DEFAULT_D_CUTOFF) -> Optional[KeypointSmoother]:
    """The smoother of a ``smoothing`` setting: None for 'none'; ValueError naming the choices otherwise."""
    if method == NONE:
        return None
    if method == ONE_EURO:
        return KeypointSmoother(min_cutoff, beta, d_cutoff)
    raise ValueError('smoothing must be one of %s, got %r' % (', '.join(METHODS), method))
