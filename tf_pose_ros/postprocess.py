"""From raw network output to the maps the grouping reads: upsampling, smoothing, peak finding.

Same operations as tf-pose-estimation's graph tail (area resize, 25x25 Gaussian with sigma 3,
3x3 max-pool NMS), done with OpenCV on the CPU: the Gaussian is separable, which makes it about
six times cheaper than the original depthwise convolution.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Tuple

import cv2
import numpy as np

from tf_pose_ros.parts import NUM_HEATMAPS

SMOOTH_KERNEL_SIZE = 25
SMOOTH_SIGMA = 3.0


def upsampled_size(resolution: Tuple[int, int], upsample_ratio: float) -> Tuple[int, int]:
    """(width, height) of the upsampled maps for a network resolution, as the original computes it."""
    width, height = resolution
    return int(width / 8 * upsample_ratio), int(height / 8 * upsample_ratio)


def validate_upsample_ratio(ratio) -> float:
    """A finite ratio in (0, 8]; ValueError otherwise."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise ValueError('upsample ratio %r is not a number' % (ratio,)) from None
    if not math.isfinite(value) or not 0.0 < value <= 8.0:
        raise ValueError('upsample ratio %r must be in (0, 8]' % (ratio,))
    return value


def upsample(maps: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Area-interpolate H x W x C maps to size=(width, height) (tf.image.resize 'area' semantics)."""
    if (maps.shape[1], maps.shape[0]) == tuple(size):
        return np.ascontiguousarray(maps)
    return cv2.resize(maps, tuple(size), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=4)
def gaussian_kernel_1d(size: int = SMOOTH_KERNEL_SIZE, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """The 1-D factor of tf-pose's smoothing kernel.

    tf-pose builds sqrt(outer(k, k)) normalised, with k the normal distribution's mass over
    `size` bins spanning +-(sigma + half a bin); that equals outer(sqrt(k), sqrt(k)) / sum**2.
    """
    interval = (2 * sigma + 1.0) / size
    edges = np.linspace(-sigma - interval / 2.0, sigma + interval / 2.0, size + 1)
    cdf = np.array([0.5 * (1.0 + math.erf(x / math.sqrt(2.0))) for x in edges])
    factor = np.sqrt(np.diff(cdf))
    return (factor / factor.sum()).astype(np.float32)


def smooth(heatmaps: np.ndarray) -> np.ndarray:
    """Gaussian-smooth H x W x C heatmaps with zero padding (the original's SAME convolution)."""
    kernel = gaussian_kernel_1d()
    return cv2.sepFilter2D(heatmaps, cv2.CV_32F, kernel, kernel, borderType=cv2.BORDER_CONSTANT)


def find_peaks(smoothed: np.ndarray) -> np.ndarray:
    """Keep values that are the maximum of their 3x3 neighbourhood, zero elsewhere."""
    neighbourhood_max = cv2.dilate(smoothed, np.ones((3, 3), np.uint8),
                                   borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
    # A multiply by the boolean mask is twice as fast as np.where here.
    return smoothed * (smoothed == neighbourhood_max)


def split_output(output: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Split an H x W x 57 network output into (heatmaps 19, PAFs 38)."""
    return output[:, :, :NUM_HEATMAPS], output[:, :, NUM_HEATMAPS:]


def postprocess(output: np.ndarray, size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Network output (H x W x 57) -> (peaks, heatmaps, PAFs), all upsampled to size=(width, height)."""
    heat, paf = split_output(output)
    heat_up = upsample(heat, size)
    paf_up = upsample(paf, size)
    peaks = find_peaks(smooth(heat_up))
    return peaks, heat_up, paf_up
