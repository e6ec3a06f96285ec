"""Who is who over time: track ids for the people of consecutive frames.

Each frame's people are matched to where the recent tracks should be now (their last keypoints
moved on at their last velocity) by keypoint similarity (OKS, the COCO keypoint
similarity, on the parts both have; keypoint-box IoU where they share fewer than two parts) with an
optimal (Hungarian) assignment. A person without a match starts a new track; ids count up and are
never reused within a tracker's life. A track nobody matched stays alive for ``max_age`` frames, so
a person hidden for a moment keeps their id. No ROS: the node and ``tf-pose-ros infer --video`` use
it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

#: OKS falloff, as a fraction of the person's size (one value for the 18 parts). On the walking clip
#: of tracking_eval (40/60/120 frames) 0.1 gave 7/2/3 id switches, 0.2 gave 1/1/2, 0.3 no better.
OKS_KAPPA = 0.2
DEFAULT_MAX_AGE = 15
#: Below this similarity a person and a track are not the same.
DEFAULT_MIN_SIMILARITY = 0.2
#: Weight of the previous velocity when a new step is seen (exponential smoothing).
VELOCITY_SMOOTHING = 0.5


@dataclass
class _Track:
    id: int
    points: Dict[int, Tuple[float, float]]  # part id -> (x, y) in pixels, at the last sighting
    missed: int = 0                          # frames since the last sighting
    velocity: Tuple[float, float] = (0.0, 0.0)  # pixels per frame, from the last two sightings

    def predicted(self) -> Dict[int, Tuple[float, float]]:
        """Where the person should be now, moving on as last seen (a hidden person keeps walking)."""
        steps = self.missed + 1
        vx, vy = self.velocity
        return {part: (x + vx * steps, y + vy * steps) for part, (x, y) in self.points.items()}

    def see(self, points: Dict[int, Tuple[float, float]]) -> None:
        common = points.keys() & self.points.keys()
        if common:
            # The median step of the parts seen both times: a part found only now (or lost) does not
            # move the estimate; smoothed over sightings, as detections jitter.
            steps = self.missed + 1
            step_x = float(np.median([points[p][0] - self.points[p][0] for p in common])) / steps
            step_y = float(np.median([points[p][1] - self.points[p][1] for p in common])) / steps
            self.velocity = (VELOCITY_SMOOTHING * self.velocity[0] + (1 - VELOCITY_SMOOTHING) * step_x,
                             VELOCITY_SMOOTHING * self.velocity[1] + (1 - VELOCITY_SMOOTHING) * step_y)
        self.points, self.missed = points, 0


def _box(points: Dict[int, Tuple[float, float]]) -> Tuple[float, float, float, float]:
    xs = [p[0] for p in points.values()]
    ys = [p[1] for p in points.values()]
    return min(xs), min(ys), max(xs), max(ys)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def similarity(a: Dict[int, Tuple[float, float]], b: Dict[int, Tuple[float, float]]) -> float:
    """Keypoint similarity of two people in 0..1 (part id -> (x, y) pixels each)."""
    if not a or not b:
        return 0.0
    common = a.keys() & b.keys()
    box_a, box_b = _box(a), _box(b)
    if len(common) < 2:
        return _iou(box_a, box_b)
    # The person's size: the larger of the two keypoint boxes' diagonals (at least a few pixels).
    scale = max(math.hypot(box_a[2] - box_a[0], box_a[3] - box_a[1]),
                math.hypot(box_b[2] - box_b[0], box_b[3] - box_b[1]), 8.0)
    total = 0.0
    for part in common:
        dx, dy = a[part][0] - b[part][0], a[part][1] - b[part][1]
        total += math.exp(-(dx * dx + dy * dy) / (2.0 * (scale * OKS_KAPPA) ** 2))
    return total / len(common)


class PoseTracker:
    """Assigns track ids to the people of successive frames (one tracker per camera)."""

    def __init__(self, max_age: int = DEFAULT_MAX_AGE, min_similarity: float = DEFAULT_MIN_SIMILARITY):
        if max_age < 0:
            raise ValueError('max_age must be at least 0, got %r' % max_age)
        if not 0.0 <= min_similarity <= 1.0:
            raise ValueError('min_similarity must be within [0, 1], got %r' % min_similarity)
        self.max_age = max_age
        self.min_similarity = min_similarity
        self._tracks: List[_Track] = []
        self._next_id = 0

    @property
    def active_ids(self) -> List[int]:
        """Ids of the tracks alive now (seen within max_age frames)."""
        return [track.id for track in self._tracks]

    def reset(self) -> None:
        """Forget every track (ids still never repeat)."""
        self._tracks = []

    def update(self, persons: Sequence) -> List[int]:
        """Track ids for ``persons`` (people with ``keypoints`` carrying id, x, y), in their order."""
        from scipy.optimize import linear_sum_assignment

        points = [{k.id: (float(k.x), float(k.y)) for k in person.keypoints} for person in persons]
        ids: List[Optional[int]] = [None] * len(points)
        matched_tracks = set()
        if points and self._tracks:
            predictions = [track.predicted() for track in self._tracks]
            scores = np.array([[similarity(p, predicted) for predicted in predictions] for p in points])
            rows, cols = linear_sum_assignment(-scores)
            for row, col in zip(rows, cols):
                if scores[row, col] >= self.min_similarity and points[row]:
                    track = self._tracks[col]
                    track.see(points[row])
                    ids[row] = track.id
                    matched_tracks.add(col)
        survivors = []
        for index, track in enumerate(self._tracks):
            if index not in matched_tracks:
                track.missed += 1
            if track.missed <= self.max_age:
                survivors.append(track)
        self._tracks = survivors
        for row, person_points in enumerate(points):
            if ids[row] is None:
                ids[row] = self._next_id
                self._tracks.append(_Track(self._next_id, person_points))
                self._next_id += 1
        return [int(i) for i in ids if i is not None]
