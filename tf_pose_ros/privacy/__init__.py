"""Faces blurred from the keypoints: face_regions.py finds each person's face box, pixelation.py
blurs it beyond recovery. ``anonymize`` joins them for the bag command, ``infer --anonymize`` and
the node's ~/image_anonymized."""

from __future__ import annotations

from typing import Iterable, List

import numpy as np

from tf_pose_ros.privacy.face_regions import Box, face_boxes
from tf_pose_ros.privacy.pixelation import blur_mask, pixelate


def anonymize(frame: np.ndarray, persons: Iterable) -> np.ndarray:
    """A copy of ``frame`` (H x W or H x W x C) with the face of every person (people.Person, keypoints in
    the frame's pixels) pixelated; the frame itself is left as it is."""
    return pixelate(frame, face_boxes(persons, (frame.shape[1], frame.shape[0])))


def blurred_people(result) -> List:
    """The people of a PoseResult whose faces are blurred: its persons and, where inferred with
    ``faint=True``, the faint ones (people below the decoder's person thresholds)."""
    return list(result.persons) + list(result.faint)


__all__ = ['Box', 'anonymize', 'blur_mask', 'blurred_people', 'face_boxes', 'pixelate']
