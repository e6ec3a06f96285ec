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

from tf_pose_ros.decoders.peaks import local_maxima
from tf_pose_ros.parts import NUM_HEATMAPS

SMOOTH_KERNEL_SIZE = 25
SMOOTH_SIGMA = 3.0


def upsampled_size(resolution: Tuple[int, int], upsample_ratio: float) -> Tuple[int, int]:
    """(width, height) of the upsampled maps for a network resolution, as the original computes it."""
    width, height = resolution
    return int(width / 8 * upsample_ratio), int(height / 8 * upsample_ratio)


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


def scale_resolutions(resolution: Tuple[int, int], scales: Sequence[float]) -> List[Tuple[int, int]]:
    """Network input sizes for multi-scale inference: each scale of ``resolution``, rounded to 16."""
    def rounded(side: int, scale: float) -> int:
        return max(16, int(round(side * float(scale) / 16.0)) * 16)

    return [(rounded(resolution[0], scale), rounded(resolution[1], scale)) for scale in scales]


# --- integer upsampling ratios -----------------------------------------------------------------------
# Area upsampling by an integer ratio is pixel replication (OpenCV and TensorFlow agree, see the
# tests), so the grouping can read heatmaps and PAFs at network resolution, and the smoothing of the
# replicated part heatmaps needs its horizontal pass on the distinct rows only. The passes are the
# same OpenCV row and column filters as smooth(): bit for bit today's values at 432x368, within 1 ulp
# at widths where OpenCV's vector loop splits the rows differently.

def replication_ratio(output_shape, size: Tuple[int, int]) -> int:
    """r when maps of size=(width, height) are the network output replicated r x r, else 0."""
    height, width = output_shape[:2]
    ratio = size[0] // width if width else 0
    return ratio if ratio >= 1 and (width * ratio, height * ratio) == tuple(size) else 0


class ReplicatedSmoother:
    """smooth(upsample(heat)) for an integer ratio, as C x H' x W planes (each channel's own).

    Each plane's first H = heat height x ratio rows are the smoothed map; the rows below it are
    padding (H' - H of them) that the caller ignores (peaks.local_maxima's ``height``). The
    buffers are kept from call to call (a returned array is overwritten by the next call), so
    one smoother serves one thread.
    """

    def __init__(self):
        self._key = None
        self._tall = self._out = None

    def __call__(self, heat: np.ndarray, ratio: int) -> np.ndarray:
        channels = heat.shape[2]
        height, width = heat.shape[0] * ratio, heat.shape[1] * ratio
        # One column pass over all channels stacked, with zero rows between them as wide as the
        # kernel's reach, so no channel sees another: that is each channel's zero border.
        padded = height + SMOOTH_KERNEL_SIZE // 2
        if self._key != (channels, height, width):
            self._key = (channels, height, width)
            self._tall = np.zeros((channels, padded, width), np.float32)  # padding rows stay zero
            self._out = np.empty((channels * padded, width), np.float32)
        kernel = gaussian_kernel_1d()
        identity = np.ones(1, np.float32)
        rows = np.repeat(np.ascontiguousarray(heat.transpose(2, 0, 1)), ratio, axis=2)
        rows = cv2.sepFilter2D(rows.reshape(-1, width), cv2.CV_32F, kernel, identity,
                               borderType=cv2.BORDER_CONSTANT)
        self._tall[:, :height].reshape(channels, heat.shape[0], ratio, width)[...] = \
            rows.reshape(channels, heat.shape[0], 1, width)
        cv2.sepFilter2D(self._tall.reshape(-1, width), cv2.CV_32F, identity, kernel, dst=self._out,
                        borderType=cv2.BORDER_CONSTANT)
        return self._out.reshape(channels, padded, width)


#: Margin below the threshold for the row bound: far above float32 rounding of the smoothing.
_BOUND_MARGIN = 1e-5


class ReplicatedPeakFinder:
    """Part peaks of maps that are ``heat`` replicated ratio x ratio, without building those maps.

    Finds what thresholding find_peaks(smooth(upsample(heat))) finds. A smoothed value is a
    weighted mean of the raw values within the kernel's reach (weights summing to 1, zero outside
    the map), so it can exceed the (positive) threshold only where a raw value within reach does:
    channels and rows with none are neither smoothed nor searched. One finder serves one thread.
    """

    def __init__(self):
        self._smoother = ReplicatedSmoother()

    def __call__(self, heat: np.ndarray, ratio: int, thresh: float):
        """(part, y, x) arrays in map pixels, ordered by part, y, x."""
        reach = SMOOTH_KERNEL_SIZE // 2
        height = heat.shape[0] * ratio
        row_max = np.repeat(np.ascontiguousarray(heat.max(axis=1).T), ratio, axis=1)  # C x H
        within_reach = cv2.dilate(row_max, np.ones((1, 2 * reach + 1), np.uint8),
                                  borderType=cv2.BORDER_CONSTANT, borderValue=-np.inf)
        candidates = within_reach > thresh - _BOUND_MARGIN
        active = np.flatnonzero(candidates.any(axis=1))
        if active.size == 0:
            empty = np.empty(0, np.int64)
            return empty, empty, empty
        planes = self._smoother(heat[:, :, active], ratio)
        parts, ys, xs = local_maxima(planes, thresh, height=height, rows=candidates[active])
        return active[parts], ys, xs

