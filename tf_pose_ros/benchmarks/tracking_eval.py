"""Measuring the tracker: a clip with known people, and id switch / fragmentation counts.

The clip is built from real photos: two people (the astronaut, one mirrored) walk towards each other
across a background, cross, and walk on; a third (the cameraman) walks out of the frame half way.
The ground truth is where each photo was pasted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np

from tf_pose_ros.samples import astronaut_bgr, camera_man_bgr

FRAME_SIZE = (960, 400)
PERSON_SIZE = 300


@dataclass
class TrackingCounts:
    """MOTA-style counts over a clip."""

    frames: int = 0
    ground_truth: int = 0      # person-frames that should be found
    matched: int = 0
    misses: int = 0
    false_positives: int = 0
    id_switches: int = 0       # a person's track id changed from one sighting to the next
    fragmentations: int = 0    # a person's track was interrupted and resumed
    ids_per_person: Dict[int, List[int]] = field(default_factory=dict)

    @property
    def mota(self) -> float:
        """1 - (misses + false positives + id switches) / ground truth."""
        errors = self.misses + self.false_positives + self.id_switches
        return 1.0 - errors / self.ground_truth if self.ground_truth else float('nan')


def _people() -> List[np.ndarray]:
    size = PERSON_SIZE
    people = [cv2.resize(astronaut_bgr(), (size, size), interpolation=cv2.INTER_AREA)]
    people.append(np.ascontiguousarray(people[0][:, ::-1]))
    people.append(cv2.resize(camera_man_bgr(), (size, size), interpolation=cv2.INTER_AREA))
    return people


def walking_clip(frames: int = 60) -> Iterator[Tuple[np.ndarray, Dict[int, Tuple[float, float]]]]:
    """(BGR frame, {person: (x, y) of the pasted photo's centre}) for each frame of the clip."""
    width, height = FRAME_SIZE
    size = PERSON_SIZE
    people = _people()
    top = (height - size) // 2
    for i in range(frames):
        t = i / max(frames - 1, 1)
        lefts = {0: int(-40 + t * (width - size + 80)),          # walks right
                 1: int(width - size + 40 - t * (width - size + 80)),   # walks left, crosses 0
                 2: int(width // 2 - size // 2 + t * 2 * width)}  # walks out to the right
        frame = np.full((height, width, 3), 70, np.uint8)
        truth = {}
        for person in (2, 1, 0):  # 0 is in front where they cross
            left = lefts[person]
            x0, x1 = max(left, 0), min(left + size, width)
            if x1 - x0 < size // 2:
                continue  # less than half in view: not expected to be found
            frame[top:top + size, x0:x1] = people[person][:, x0 - left:x1 - left]
            truth[person] = ((x0 + x1) / 2.0, top + size / 2.0)
        yield frame, truth


def _keypoint_offsets(estimator) -> Dict[int, Tuple[float, float]]:
    """Where each photo's keypoints sit relative to its centre (found on the photo alone)."""
    offsets = {}
    size = PERSON_SIZE
    for index, photo in enumerate(_people()):
        canvas = np.full((size * 2, size * 2, 3), 70, np.uint8)
        canvas[size // 2:size // 2 + size, size // 2:size // 2 + size] = photo
        centres = [c for c in (_centre(p) for p in estimator.infer(canvas).persons) if c is not None]
        best = min(centres, key=lambda c: np.hypot(c[0] - size, c[1] - size)) if centres else (size, size)
        offsets[index] = (best[0] - size, best[1] - size)
    return offsets


def _centre(person) -> Optional[Tuple[float, float]]:
    if not person.keypoints:
        return None
    xs = [k.x for k in person.keypoints]
    ys = [k.y for k in person.keypoints]
    return (min(xs) + max(xs)) / 2.0, (min(ys) + max(ys)) / 2.0


def evaluate_tracking(estimator, tracker, frames: int = 60, max_distance: float = PERSON_SIZE / 2.0
                      ) -> TrackingCounts:
    """Run ``estimator`` and ``tracker`` over walking_clip() and count the tracking errors.

    A person found is matched to the nearest pasted photo whose centre is within ``max_distance``
    of its keypoints' box centre (each photo once).
    """
    counts = TrackingCounts()
    offsets = _keypoint_offsets(estimator)
    last_id: Dict[int, int] = {}
    last_seen: Dict[int, int] = {}
    for index, (frame, truth) in enumerate(walking_clip(frames)):
        persons = estimator.infer(frame).persons
        ids = tracker.update(persons)
        counts.frames += 1
        counts.ground_truth += len(truth)
        pairs = []
        for slot, person in enumerate(persons):
            centre = _centre(person)
            if centre is None:
                continue
            for gt, (x, y) in truth.items():
                dx, dy = offsets[gt]
                distance = float(np.hypot(centre[0] - x - dx, centre[1] - y - dy))
                if distance <= max_distance:
                    pairs.append((distance, slot, gt))
        used_slots, used_gt = set(), set()
        for _, slot, gt in sorted(pairs):
            if slot in used_slots or gt in used_gt:
                continue
            used_slots.add(slot)
            used_gt.add(gt)
            counts.matched += 1
            counts.ids_per_person.setdefault(gt, [])
            if ids[slot] not in counts.ids_per_person[gt]:
                counts.ids_per_person[gt].append(ids[slot])
            if gt in last_id and last_id[gt] != ids[slot]:
                counts.id_switches += 1
            if gt in last_seen and last_seen[gt] < index - 1:
                counts.fragmentations += 1
            last_id[gt], last_seen[gt] = ids[slot], index
        counts.misses += len(truth) - len(used_gt)
        counts.false_positives += len(persons) - len(used_slots)
    return counts


def format_counts(counts: TrackingCounts) -> str:
    """The counts as a few lines of text."""
    lines = ['frames %d, person-frames %d, found %d, missed %d, false positives %d'
             % (counts.frames, counts.ground_truth, counts.matched, counts.misses, counts.false_positives),
             'id switches %d, fragmentations %d, MOTA %.3f'
             % (counts.id_switches, counts.fragmentations, counts.mota)]
    for person, ids in sorted(counts.ids_per_person.items()):
        lines.append('person %d: track ids %s' % (person, ', '.join(str(i) for i in ids)))
    return '\n'.join(lines)
