"""Irreversible blurring of image regions: pixelation to a few flat blocks.

Each box is split into BLOCKS_ACROSS blocks along its longer side and every block is filled with
its mean, without noise. Averaging a block maps every face with the same block means to the same
output, so what is lost cannot be computed back; a Gaussian blur only damps the fine detail, and
deconvolution brings part of it back. With five blocks across a head, a face is two or three blocks
wide: below the resolution face recognition needs.
"""

from __future__ import annotations

import math
from typing import Iterable, Tuple

import cv2
import numpy as np

from tf_pose_ros.privacy.face_regions import Box

#: Blocks along the longer side of each box.
BLOCKS_ACROSS = 5
#: Smallest block side in pixels (a tiny box still loses its detail).
MIN_BLOCK = 2
#: Pixel types cv2.resize averages; others are converted to float32 and back.
_RESIZABLE = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def pixelate(image: np.ndarray, boxes: Iterable[Box]) -> np.ndarray:
    """A copy of ``image`` (H x W or H x W x C, any channel count and number type) with every box pixelated."""
    out = np.array(image, copy=True)
    for box in boxes:
        _pixelate_in_place(out, box)
    return out


def _pixelate_in_place(image: np.ndarray, box: Box) -> None:
    x0, y0 = max(0, box.x0), max(0, box.y0)
    x1, y1 = min(image.shape[1], box.x1), min(image.shape[0], box.y1)
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0:
        return
    block = max(MIN_BLOCK, math.ceil(max(width, height) / BLOCKS_ACROSS))
    across, down = max(1, math.ceil(width / block)), max(1, math.ceil(height / block))
    region = image[y0:y1, x0:x1]
    work = region if region.dtype.type in _RESIZABLE and region.dtype.isnative else region.astype(np.float32)
    # cv2 takes at most 4 channels per call for these interpolations in every build: split wider pixels.
    channels = 1 if work.ndim == 2 else work.shape[2]
    filled = np.empty_like(work)
    for first in range(0, channels, 4):
        part = work if work.ndim == 2 else np.ascontiguousarray(work[:, :, first:first + 4])
        means = cv2.resize(part, (across, down), interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(means, (width, height), interpolation=cv2.INTER_NEAREST)
        if work.ndim == 2:
            filled = blocks
        else:
            filled[:, :, first:first + 4] = blocks.reshape(height, width, -1)
    image[y0:y1, x0:x1] = filled.astype(region.dtype) if filled.dtype != region.dtype else filled


def blur_mask(shape: Tuple[int, int], boxes: Iterable[Box]) -> np.ndarray:
    """H x W bool array, True on the pixels that pixelate() fills for these boxes (``shape``: height, width)."""
    mask = np.zeros(shape, bool)
    for box in boxes:
        mask[max(0, box.y0):max(0, box.y1), max(0, box.x0):max(0, box.x1)] = True
    return mask
