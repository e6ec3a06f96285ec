"""Result types: people and their keypoints in input-image pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from tf_pose_ros.parts import PART_NAMES, to_coco17


@dataclass(frozen=True)
class Keypoint:
    """One detected body part: OpenPose COCO-18 id, position in image pixels and normalised."""

    id: int
    name: str
    x: float
    y: float
    score: float
    x_norm: float
    y_norm: float

    def to_dict(self) -> dict:
        """JSON-ready form: id, name, x, y, score."""
        return {'id': self.id, 'name': self.name, 'x': self.x, 'y': self.y, 'score': self.score}


@dataclass(frozen=True)
class Person:
    """One person: the grouping's score and the detected keypoints, ordered by part id."""

    score: float
    keypoints: Tuple[Keypoint, ...]

    def keypoint(self, part_id: int) -> Optional[Keypoint]:
        """The keypoint of a part id, or None when that part was not detected."""
        for keypoint in self.keypoints:
            if keypoint.id == part_id:
                return keypoint
        return None

    def coco17(self) -> List[Optional[Tuple[float, float, float]]]:
        """Keypoints as 17 COCO slots of (x, y, score) in image pixels, None where missing."""
        return to_coco17({k.id: (k.x, k.y, k.score) for k in self.keypoints})

    def to_dict(self) -> dict:
        """JSON-ready form: score and detected keypoints."""
        return {'score': self.score, 'keypoints': [k.to_dict() for k in self.keypoints]}


@dataclass
class PoseResult:
    """Everything one inference produced for one image."""

    persons: List[Person]
    image_size: Tuple[int, int]  # (width, height) of the input image
    timings_ms: Dict[str, float] = field(default_factory=dict)
    #: With infer(..., faint=True): people below the decoder's person thresholds that still look like
    #: people (decoders' group_faint), for blurring faces (privacy/); never published as persons.
    faint: List[Person] = field(default_factory=list)


def persons_from_grouping(grouped: Sequence, map_size: Tuple[int, int],
                          image_size: Tuple[int, int]) -> List[Person]:
    """Scale grouped people from map pixels to image pixels (the original normalises by map size)."""
    map_w, map_h = map_size
    img_w, img_h = image_size
    persons = []
    for person in grouped:
        keypoints = []
        for part_id in sorted(person.parts):
            x, y, score = person.parts[part_id]
            x_norm, y_norm = float(x) / map_w, float(y) / map_h
            keypoints.append(Keypoint(part_id, PART_NAMES[part_id], x_norm * img_w, y_norm * img_h,
                                      float(score), x_norm, y_norm))
        persons.append(Person(float(person.score), tuple(keypoints)))
    return persons
