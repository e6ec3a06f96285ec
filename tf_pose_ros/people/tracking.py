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

import statistics
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.parts import NUM_PARTS

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
            # statistics.median: a few µs on 18 values, where numpy's costs ten times that.
            step_x = statistics.median([points[p][0] - self.points[p][0] for p in common]) / steps
            step_y = statistics.median([points[p][1] - self.points[p][1] for p in common]) / steps
            self.velocity = (VELOCITY_SMOOTHING * self.velocity[0] + (1 - VELOCITY_SMOOTHING) * step_x,
                             VELOCITY_SMOOTHING * self.velocity[1] + (1 - VELOCITY_SMOOTHING) * step_y)
        self.points, self.missed = points, 0


def _as_array(points: Dict[int, Tuple[float, float]]) -> np.ndarray:
    """18 x 2 part coordinates, NaN for parts not seen."""
    array = np.full((NUM_PARTS, 2), np.nan)
    for part, xy in points.items():
        array[part] = xy
    return array


def _boxes(people: np.ndarray) -> np.ndarray:
    """N x 4 keypoint boxes (x0, y0, x1, y1) of N x 18 x 2 people with at least one part."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # people without parts: NaN boxes, never used
        return np.concatenate((np.nanmin(people, axis=1), np.nanmax(people, axis=1)), axis=1)


def similarity_matrix(people: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Keypoint similarity in 0..1 of each of N people to each of M others (N x 18 x 2, M x 18 x 2; NaN = unseen).

    OKS over the parts both have, with the larger keypoint-box diagonal as the size; keypoint-box
    IoU where they share fewer than two parts; 0 where either has no part.
    """
    seen_a, seen_b = ~np.isnan(people[..., 0]), ~np.isnan(others[..., 0])
    common = seen_a[:, None, :] & seen_b[None, :, :]
    shared = common.sum(axis=2)
    box_a, box_b = _boxes(people), _boxes(others)
    diag_a = np.hypot(box_a[:, 2] - box_a[:, 0], box_a[:, 3] - box_a[:, 1])
    diag_b = np.hypot(box_b[:, 2] - box_b[:, 0], box_b[:, 3] - box_b[:, 1])
    scale = np.maximum(np.maximum(diag_a[:, None], diag_b[None, :]), 8.0)
    with np.errstate(invalid='ignore'):
        d2 = ((people[:, None] - others[None, :]) ** 2).sum(axis=3)
        falloff = np.exp(-d2 / (2.0 * (scale[..., None] * OKS_KAPPA) ** 2))
    oks = np.where(common, falloff, 0.0).sum(axis=2) / np.maximum(shared, 1)
    ix = np.clip(np.minimum(box_a[:, None, 2], box_b[None, :, 2]) - np.maximum(box_a[:, None, 0], box_b[None, :, 0]),
                 0.0, None)
    iy = np.clip(np.minimum(box_a[:, None, 3], box_b[None, :, 3]) - np.maximum(box_a[:, None, 1], box_b[None, :, 1]),
                 0.0, None)
    inter = ix * iy
    area_a = (box_a[:, 2] - box_a[:, 0]) * (box_a[:, 3] - box_a[:, 1])
    area_b = (box_b[:, 2] - box_b[:, 0]) * (box_b[:, 3] - box_b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / union, 0.0)
    result = np.where(shared >= 2, oks, iou)
    empty = ~seen_a.any(axis=1)[:, None] | ~seen_b.any(axis=1)[None, :]
    return np.where(empty | np.isnan(result), 0.0, result)


def similarity(a: Dict[int, Tuple[float, float]], b: Dict[int, Tuple[float, float]]) -> float:
    """Keypoint similarity of two people in 0..1 (part id -> (x, y) pixels each)."""
    return float(similarity_matrix(_as_array(a)[None], _as_array(b)[None])[0, 0])


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
            predictions = np.stack([_as_array(track.predicted()) for track in self._tracks])
            scores = similarity_matrix(np.stack([_as_array(p) for p in points]), predictions)
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
