"""Skeleton overlay in tf-pose-estimation's style, shared by the command line and the node."""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import cv2
import numpy as np

from tf_pose_ros.parts import COLORS_BGR, SKELETON

POINT_RADIUS = 3
LINE_THICKNESS = 3
LABEL_BGR = (255, 255, 255)


def draw_persons(image_bgr: np.ndarray, persons: Iterable, copy: bool = True,
                 ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """Draw every person's keypoints and limbs on a BGR uint8 image (a copy unless copy=False).

    Keypoints are placed from their normalised coordinates, so the overlay fits any image size.
    With ``ids`` (one per person, e.g. track ids) each person is labelled above their top keypoint.
    """
    canvas = image_bgr.copy() if copy else image_bgr
    height, width = canvas.shape[:2]
    persons = list(persons)
    for index, person in enumerate(persons):
        centers = {}
        for keypoint in person.keypoints:
            center = (int(keypoint.x_norm * width + 0.5), int(keypoint.y_norm * height + 0.5))
            centers[keypoint.id] = center
            cv2.circle(canvas, center, POINT_RADIUS, COLORS_BGR[keypoint.id], thickness=POINT_RADIUS,
                       lineType=cv2.LINE_8)
        for limb_index, (part_a, part_b) in enumerate(SKELETON):
            if part_a in centers and part_b in centers:
                cv2.line(canvas, centers[part_a], centers[part_b], COLORS_BGR[limb_index], LINE_THICKNESS)
        if ids is not None and centers:
            x, y = min(centers.values(), key=lambda c: c[1])
            cv2.putText(canvas, 'id %d' % ids[index], (max(x - 20, 0), max(y - 12, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.6, LABEL_BGR, 2, cv2.LINE_AA)
    return canvas
