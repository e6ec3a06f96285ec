"""Doing ahead of time what a first frame would otherwise pay for: conversion, compiling, imports.

A frame with people runs code paths an empty frame never reaches (the grouping's inner stages,
peaks on real map layouts, the tracker's assignment), and numba compiles each on first use. The
estimator therefore warms up on a bundled photo of three people, and ``tf-pose-ros warmup`` (run by
``make setup``, and once after a ROS install) also converts the network, so every later start
loads cached machine code and a cached conversion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from tf_pose_ros.config import format_scales
from tf_pose_ros.preprocess import letterbox_image

#: A photo of three people (scikit-image's astronaut, public domain), small enough to decode in ms.
WARMUP_IMAGE = Path(__file__).resolve().parents[1] / 'data' / 'warmup_people.jpg'


def warmup_image() -> np.ndarray:
    """The bundled warm-up photo as BGR uint8."""
    image = cv2.imread(str(WARMUP_IMAGE), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError('the warm-up photo %s is missing from the install' % WARMUP_IMAGE)
    return image


#: The frame shapes of most cameras, 4:3 (640x480) and 16:9 (1280x720, 848x480): with keep_aspect each
#: has an input size of its own, made ready with the model so a camera's first frame compiles nothing.
CAMERA_FRAME_SIZES = ((640, 480), (1280, 720))


def warmup_frame(frame_size: Tuple[int, int] = CAMERA_FRAME_SIZES[0]) -> np.ndarray:
    """The warm-up photo as a camera of ``frame_size`` (width, height; the commonest by default) frames it:
    letterboxed to its shape.

    With keep_aspect the input size follows the frame's shape, so warming up on this frame compiles
    an input a camera uses rather than one for the photo's own 3:1 shape, which no camera sends.
    """
    width, height = frame_size
    return letterbox_image(warmup_image(), width / height)[0]


def prepare_camera_sizes(estimator, frame_sizes: Sequence[Tuple[int, int]] = ()) -> float:
    """Ready ``estimator`` for frames of ``frame_sizes`` (width, height), or for the usual camera shapes
    (CAMERA_FRAME_SIZES) where none are given; returns seconds taken."""
    return estimator.prepare(frame_sizes or CAMERA_FRAME_SIZES)


def warm_up_tracking(persons: Sequence) -> float:
    """Run a throw-away tracker over ``persons`` twice (imports, assignment); returns seconds taken."""
    from tf_pose_ros.people.tracking import PoseTracker

    started = time.perf_counter()
    tracker = PoseTracker()
    for _ in range(2):
        tracker.update(persons)
    return time.perf_counter() - started


@dataclass
class WarmupReport:
    """What ``warm_up`` did and how long each part took (seconds)."""

    description: str
    people: int
    seconds: Dict[str, float]


def warm_up(estimator) -> WarmupReport:
    """What building ``estimator`` did (open the network, converting it on first use; compile every
    stage on the warm-up photo), plus warming the tracker."""
    cameras = prepare_camera_sizes(estimator)  # converted here once, so a node's first start only compiles
    tracking = warm_up_tracking(estimator.warmup_persons)
    scales = format_scales(estimator.scales)
    size = '%dx%d' % estimator.resolution + (', ' + scales if scales else '')
    description = '%s at %s (%s, %s, %s)' % (estimator.model, size, estimator.backend, estimator.precision,
                                            estimator.device)
    return WarmupReport(description, len(estimator.warmup_persons),
                        {'network': estimator.network_seconds, 'first frame': estimator.warmup_seconds,
                         'camera sizes': cameras, 'tracking': tracking})
