"""Sub-pixel peak positions: a parabola through each peak and its two neighbours, per axis.

Fitted to the heatmap itself ('quadratic') or to its log ('gaussian': the log of a Gaussian is a
parabola, so a Gaussian-shaped peak's centre is found exactly; DARK's distribution-aware
refinement, without the cross term).
"""

from __future__ import annotations

import math

import numpy as np

from tf_pose_ros.runtime.compile_cache import njit

#: Fits refine_peaks offers; it takes the index of one.
FITS = ('gaussian', 'quadratic', 'none')


@njit
def _offset(left, centre, right):
    """Vertex of the parabola through (-1, left), (0, centre), (1, right), within half a pixel."""
    curvature = left - 2.0 * centre + right
    if curvature >= 0.0:  # flat or not a maximum: keep the pixel
        return 0.0
    return min(0.5, max(-0.5, 0.5 * (left - right) / curvature))


@njit
def _value(v, fit):
    """The value the parabola is fitted to: the log of the heatmap (fit 0) or the heatmap."""
    v = np.float64(v)
    return math.log(max(v, 1e-10)) if fit == 0 else v


@njit
def refine_peaks(planes, parts, ys, xs, fit):
    """(x, y) of each peak in map pixels (pixel index plus the fitted offset, within half a pixel).

    ``planes`` is C x H x W (H at least the peaks' rows); ``fit`` indexes FITS. A peak on the
    border keeps its pixel along that axis, as does every peak with fit 'none'.
    """
    n = parts.shape[0]
    fx = np.empty(n, np.float64)
    fy = np.empty(n, np.float64)
    height, width = planes.shape[1], planes.shape[2]
    for i in range(n):
        c, y, x = parts[i], ys[i], xs[i]
        centre = _value(planes[c, y, x], fit)
        dx = 0.0
        dy = 0.0
        if fit < 2 and 0 < x < width - 1:
            dx = _offset(_value(planes[c, y, x - 1], fit), centre, _value(planes[c, y, x + 1], fit))
        if fit < 2 and 0 < y < height - 1:
            dy = _offset(_value(planes[c, y - 1, x], fit), centre, _value(planes[c, y + 1, x], fit))
        fx[i] = x + dx
        fy[i] = y + dy
    return fx, fy
