"""Where each person's face is, from their keypoints: one box per person, in image pixels.

The box is centred on the head keypoints found (nose, eyes, ears) and sized by the largest of the
head sizes that the keypoints imply: ear to ear, eye to eye, eye to ear, nose to neck, shoulder
width, upper arm, torso. Each of these shrinks when the head or body turns (a profile shows no eye
distance, a person seen from the side no shoulder width) and none grows, so the largest is the one
least foreshortened. A person without any head keypoint gets the box above the shoulders, along the
body's axis (hips to neck) where the hips were found, else upwards.

The ratios are adult proportions (head height about 23 cm: 1.6 ear distances, 3.6 eye distances,
0.6 shoulder widths); HEAD_SCALE, the one tuned factor, was chosen on the whole COCO development
set (docs/privacy.md), never image by image.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from tf_pose_ros.parts import PART_IDS

NOSE, NECK = PART_IDS['nose'], PART_IDS['neck']
R_SHOULDER, L_SHOULDER = PART_IDS['right_shoulder'], PART_IDS['left_shoulder']
R_ELBOW, L_ELBOW = PART_IDS['right_elbow'], PART_IDS['left_elbow']
R_HIP, L_HIP = PART_IDS['right_hip'], PART_IDS['left_hip']
R_EYE, L_EYE = PART_IDS['right_eye'], PART_IDS['left_eye']
R_EAR, L_EAR = PART_IDS['right_ear'], PART_IDS['left_ear']
#: The parts on the head itself.
HEAD_PARTS = (NOSE, R_EYE, L_EYE, R_EAR, L_EAR)

#: Head height per unit of each distance between two parts (adult proportions, see the module text).
HEAD_PER_DISTANCE: Tuple[Tuple[int, int, float], ...] = (
    (R_EAR, L_EAR, 1.6),
    (R_EYE, L_EYE, 3.6),
    (R_EYE, R_EAR, 2.6), (L_EYE, L_EAR, 2.6),
    (NOSE, R_EAR, 2.3), (NOSE, L_EAR, 2.3),
    (NOSE, NECK, 0.9),
    (R_EAR, NECK, 1.1), (L_EAR, NECK, 1.1),
    (R_EAR, R_SHOULDER, 1.0), (L_EAR, L_SHOULDER, 1.0),
    (R_SHOULDER, L_SHOULDER, 0.6),
    (NECK, R_SHOULDER, 1.2), (NECK, L_SHOULDER, 1.2),
    (R_SHOULDER, R_ELBOW, 0.75), (L_SHOULDER, L_ELBOW, 0.75),
    (NECK, R_HIP, 0.45), (NECK, L_HIP, 0.45),
)
#: The one tuned factor: the box's height in head heights. On the COCO development set with the default
#: preset, 1.4 / 1.6 / 1.8 covered 94.9 / 96.0 / 96.3 % of the faces blurring 10.8 / 12.9 / 15.1 % of the
#: pixels (docs/privacy.md).
HEAD_SCALE = 1.6
#: Box width per box height: a head is narrower than tall, a face box must also hold a profile.
WIDTH_RATIO = 0.9
#: Without head keypoints: the head's centre above the shoulder line, in head heights (or higher, so that
#: the box stays above the shoulders), and the box made larger for the head's unknown tilt.
CENTRE_ABOVE_SHOULDERS = 0.85
UNSEEN_HEAD_GROWTH = 1.3
#: The head keypoints' own box, grown by this factor, is always inside the face box.
POINTS_GROWTH = 1.6
#: Head height assumed for a person with nothing to size it by, as a share of the image height.
FALLBACK_HEAD = 0.05
#: Smallest box side in pixels.
MIN_SIDE = 4


class Box(NamedTuple):
    """A pixel rectangle: columns x0 .. x1 - 1, rows y0 .. y1 - 1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)


Point = Tuple[float, float]


def face_boxes(persons: Iterable, image_size: Tuple[int, int], head_scale: float = HEAD_SCALE) -> List[Box]:
    """One face box per person that has a head, neck or shoulder keypoint, clipped to ``image_size``
    (width, height); persons seen only below the shoulders get none. ``head_scale``: see HEAD_SCALE."""
    boxes = []
    for person in persons:
        box = face_box({k.id: (float(k.x), float(k.y)) for k in person.keypoints}, image_size, head_scale)
        if box is not None:
            boxes.append(box)
    return boxes


def face_box(points: Dict[int, Point], image_size: Tuple[int, int], head_scale: float = HEAD_SCALE) -> Optional[Box]:
    """The face box of one person's keypoints ({part id: (x, y)}), or None without head, neck and shoulders."""
    width, height = image_size
    head = head_height(points)
    if head is None:
        head = FALLBACK_HEAD * height
    on_head = [points[part] for part in HEAD_PARTS if part in points]
    if on_head:
        centre = _box_centre(on_head)
        box_h = max(head_scale * head, MIN_SIDE)
        extent = _grown_extent(on_head, POINTS_GROWTH)
    else:
        base = _shoulder_line(points)
        if base is None:
            return None
        up = _body_up(points, base)
        box_h = max(head_scale * UNSEEN_HEAD_GROWTH * head, MIN_SIDE)
        lift = max(CENTRE_ABOVE_SHOULDERS * head, box_h / 2)  # the box rests on the shoulders at most
        centre = (base[0] + up[0] * lift, base[1] + up[1] * lift)
        extent = (0.0, 0.0)
    half_w = max(WIDTH_RATIO * box_h, extent[0]) / 2
    half_h = max(box_h, extent[1]) / 2
    box = Box(max(0, int(math.floor(centre[0] - half_w))), max(0, int(math.floor(centre[1] - half_h))),
              min(width, int(math.ceil(centre[0] + half_w))), min(height, int(math.ceil(centre[1] + half_h))))
    return box if box.x1 > box.x0 and box.y1 > box.y0 else None


def head_height(points: Dict[int, Point]) -> Optional[float]:
    """The largest head height (pixels) the pairs of HEAD_PER_DISTANCE imply, or None without a pair."""
    sizes = [math.dist(points[a], points[b]) * ratio for a, b, ratio in HEAD_PER_DISTANCE
             if a in points and b in points]
    return max(sizes) if sizes else None


def _box_centre(points: Sequence[Point]) -> Point:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def _grown_extent(points: Sequence[Point], growth: float) -> Point:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (max(xs) - min(xs)) * growth, (max(ys) - min(ys)) * growth


def _shoulder_line(points: Dict[int, Point]) -> Optional[Point]:
    """The neck, else the middle of the shoulders found, else None."""
    if NECK in points:
        return points[NECK]
    shoulders = [points[part] for part in (R_SHOULDER, L_SHOULDER) if part in points]
    if not shoulders:
        return None
    return sum(p[0] for p in shoulders) / len(shoulders), sum(p[1] for p in shoulders) / len(shoulders)


def _body_up(points: Dict[int, Point], base: Point) -> Point:
    """Unit vector from the hips to ``base`` where hips were found (a person lying down), else up the image."""
    hips = [points[part] for part in (R_HIP, L_HIP) if part in points]
    if hips:
        hip = (sum(p[0] for p in hips) / len(hips), sum(p[1] for p in hips) / len(hips))
        length = math.dist(hip, base)
        if length > 1e-6:
            return (base[0] - hip[0]) / length, (base[1] - hip[1]) / length
    return 0.0, -1.0
