"""From raw network output to the maps the grouping reads: upsampling, smoothing, peak finding.

Same operations as tf-pose-estimation's graph tail (area resize, 25x25 Gaussian with sigma 3,
3x3 max-pool NMS), done with OpenCV on the CPU: the Gaussian is separable, which makes it about
six times cheaper than the original depthwise convolution.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from tf_pose_ros.parts import NUM_HEATMAPS

SMOOTH_KERNEL_SIZE = 25
SMOOTH_SIGMA = 3.0


def upsampled_size(resolution: Tuple[int, int], upsample_ratio: float) -> Tuple[int, int]:
    """(width, height) of the upsampled maps for a network resolution, as the original computes it."""
    width, height = resolution
    return int(width / 8 * upsample_ratio), int(height / 8 * upsample_ratio)


def _positive_number(value, what: str, upper: float) -> float:
    """``value`` as a finite float in (0, upper]; ValueError naming ``what`` otherwise."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError('%s %r is not a number' % (what, value)) from None
    if not math.isfinite(number) or not 0.0 < number <= upper:
        raise ValueError('%s %r must be in (0, %g]' % (what, value, upper))
    return number


def validate_upsample_ratio(ratio) -> float:
    """A finite ratio in (0, 8]; ValueError otherwise."""
    return _positive_number(ratio, 'upsample ratio', 8.0)


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


def upsample_output(output: np.ndarray, size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Network output (H x W x 57) -> (heatmaps, PAFs), each area-upsampled to size=(width, height)."""
    heat, paf = split_output(output)
    return upsample(heat, size), upsample(paf, size)


def postprocess(output: np.ndarray, size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Network output (H x W x 57) -> (peaks, heatmaps, PAFs), all upsampled to size=(width, height)."""
    heat_up, paf_up = upsample_output(output, size)
    return find_peaks(smooth(heat_up)), heat_up, paf_up


def postprocess_multiscale(outputs: Sequence[np.ndarray],
                           size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like postprocess for the outputs of several input scales: their maps are averaged first."""
    if len(outputs) == 1:
        return postprocess(outputs[0], size)
    heat_sum, paf_sum = upsample_output(outputs[0], size)
    heat_sum, paf_sum = heat_sum.copy(), paf_sum.copy()
    for output in outputs[1:]:
        heat, paf = upsample_output(output, size)
        heat_sum += heat
        paf_sum += paf
    heat_sum /= len(outputs)
    paf_sum /= len(outputs)
    return find_peaks(smooth(heat_sum)), heat_sum, paf_sum


def parse_scales(text) -> Tuple[float, ...]:
    """'1.0,0.5' -> (1.0, 0.5); ValueError naming the bad value otherwise."""
    scales = []
    for part in str(text).split(','):
        try:
            scales.append(float(part))
        except ValueError:
            raise ValueError('scales %r: %r is not a number (expected e.g. 1.0,0.5)' % (text, part)) from None
    try:
        scale_resolutions((16, 16), scales)
    except ValueError as err:
        raise ValueError('scales %r: %s' % (text, err)) from None
    return tuple(scales)


def scale_resolutions(resolution: Tuple[int, int], scales: Sequence[float]) -> List[Tuple[int, int]]:
    """Network input sizes for multi-scale inference: each scale of ``resolution``, rounded to 16."""
    if not scales:
        raise ValueError('scales must not be empty')
    sizes = []
    for scale in scales:
        value = _positive_number(scale, 'scale', 4.0)
        sizes.append(tuple(max(16, int(round(side * value / 16.0)) * 16) for side in resolution))
    return sizes
