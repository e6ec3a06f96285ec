"""Skeleton overlay in tf-pose-estimation's style, shared by the command line and the node."""

from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from tf_pose_ros.parts import COLORS_BGR, SKELETON

POINT_RADIUS = 3
LINE_THICKNESS = 3


def draw_persons(image_bgr: np.ndarray, persons: Iterable, copy: bool = True) -> np.ndarray:
    """Draw every person's keypoints and limbs on a BGR uint8 image (a copy unless copy=False).

    Keypoints are placed from their normalised coordinates, so the overlay fits any image size.
    """
    canvas = image_bgr.copy() if copy else image_bgr
    height, width = canvas.shape[:2]
    for person in persons:
        centers = {}
        for keypoint in person.keypoints:
            center = (int(keypoint.x_norm * width + 0.5), int(keypoint.y_norm * height + 0.5))
            centers[keypoint.id] = center
            cv2.circle(canvas, center, POINT_RADIUS, COLORS_BGR[keypoint.id], thickness=POINT_RADIUS,
                       lineType=cv2.LINE_8)
        for limb_index, (part_a, part_b) in enumerate(SKELETON):
            if part_a in centers and part_b in centers:
                cv2.line(canvas, centers[part_a], centers[part_b], COLORS_BGR[limb_index], LINE_THICKNESS)
    return canvas
