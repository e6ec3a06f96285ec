"""Body-part vocabulary of the OpenPose COCO-18 models and its COCO-17 mapping."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

#: OpenPose COCO-18 part names; the index is the part id used throughout the package.
PART_NAMES: Tuple[str, ...] = (
    'nose', 'neck',
    'right_shoulder', 'right_elbow', 'right_wrist',
    'left_shoulder', 'left_elbow', 'left_wrist',
    'right_hip', 'right_knee', 'right_ankle',
    'left_hip', 'left_knee', 'left_ankle',
    'right_eye', 'left_eye', 'right_ear', 'left_ear',
)
NUM_PARTS = len(PART_NAMES)
#: Heatmap channels: one per part plus the background channel.
NUM_HEATMAPS = NUM_PARTS + 1
#: PAF channels: an (x, y) field per limb.
NUM_PAFS = 38
PART_IDS: Dict[str, int] = {name: i for i, name in enumerate(PART_NAMES)}

#: Limbs as (part a, part b), in the order the grouping connects them.
LIMBS: Tuple[Tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)
#: PAF channel pair (x, y) of each limb in LIMBS, as the networks were trained.
LIMB_PAF_CHANNELS: Tuple[Tuple[int, int], ...] = (
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
    (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
)
#: Limbs from this index on (ear-shoulder) only extend people; they never start one.
NUM_STARTING_LIMBS = 17
#: The ear-shoulder limbs help grouping but are not drawn.
SKELETON: Tuple[Tuple[int, int], ...] = LIMBS[:-2]

#: Colour per part (and per drawn limb, by limb index): the triples tf-pose-estimation hands to
#: OpenCV on BGR images, so (255, 0, 0) is drawn blue; kept as is for identical overlays.
COLORS_BGR: Tuple[Tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)

#: COCO-17 keypoint names in COCO order.
COCO17_NAMES: Tuple[str, ...] = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
    'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
    'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
)
#: OpenPose part id for each COCO-17 keypoint (COCO has no neck).
COCO17_FROM_OPENPOSE: Tuple[int, ...] = tuple(PART_IDS[name] for name in COCO17_NAMES)


def part_name(part_id: int) -> str:
    """Name of an OpenPose COCO-18 part id; ValueError for an unknown id."""
    if not 0 <= int(part_id) < NUM_PARTS:
        raise ValueError('unknown part id %r (expected 0..%d)' % (part_id, NUM_PARTS - 1))
    return PART_NAMES[int(part_id)]


def to_coco17(parts: Dict[int, Sequence[float]]) -> List[Optional[Tuple[float, float, float]]]:
    """Reorder an OpenPose {part id: (x, y, score)} dict into the 17 COCO slots (None where missing)."""
    out: List[Optional[Tuple[float, float, float]]] = []
    for op_id in COCO17_FROM_OPENPOSE:
        value = parts.get(op_id)
        out.append(None if value is None else (float(value[0]), float(value[1]), float(value[2])))
    return out
