"""Peak search on smoothed part heatmaps: the 3x3 local maxima above the grouping threshold.

Equivalent to thresholding find_peaks() (maximum of its 3x3 neighbourhood, outside the map counts
as -inf), but reads each row once and emits the peaks straight in the grouping's order.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from tf_pose_ros.decoders.buffers import grow
from tf_pose_ros.runtime.compile_cache import njit

_INT32_MIN = np.int32(-2147483648)


@njit
def _row_max_bits(row):
    top = _INT32_MIN
    for v in row:
        top = v if v > top else top
    return top


@njit
def _row_maxima(row, thresh, out, n):
    """Write to ``out[n:]`` the x of values above ``thresh`` not below either row neighbour."""
    width = row.shape[0]
    for x in range(width):
        v = row[x]
        if v > thresh and (x == 0 or v >= row[x - 1]) and (x == width - 1 or v >= row[x + 1]):
            out[n] = x
            n += 1
    return n


@njit
def _not_below(row, x, v):
    """True when v is at least row[x - 1], row[x] and row[x + 1] (those inside the row)."""
    width = row.shape[0]
    return v >= row[x] and (x == 0 or v >= row[x - 1]) and (x == width - 1 or v >= row[x + 1])


@njit
def _local_maxima(planes, bits, height, rows, thresh, thresh_bits):
    channels, width = planes.shape[0], planes.shape[2]
    capacity = 64
    parts = np.empty(capacity, np.int64)
    ys = np.empty(capacity, np.int64)
    xs = np.empty(capacity, np.int64)
    row_hits = np.empty(width, np.int64)
    n = 0
    for c in range(channels):
        for y in range(height):
            # Positive float32 order is int32 order: one integer max skips the rows with nothing
            # above the threshold; in the others, maxima along the row are checked against the
            # rows above and below.
            if not rows[c, y] or _row_max_bits(bits[c, y]) <= thresh_bits:
                continue
            row = planes[c, y]
            found = _row_maxima(row, thresh, row_hits, 0)
            for i in range(found):
                x = row_hits[i]
                v = row[x]
                if (y > 0 and not _not_below(planes[c, y - 1], x, v)) or \
                        (y < height - 1 and not _not_below(planes[c, y + 1], x, v)):
                    continue
                if n == capacity:
                    capacity *= 2
                    parts = grow(parts, capacity)
                    ys = grow(ys, capacity)
                    xs = grow(xs, capacity)
                parts[n], ys[n], xs[n] = c, y, x
                n += 1
    return parts[:n], ys[:n], xs[:n]


def local_maxima(planes: np.ndarray, thresh: float, height: Optional[int] = None,
                 rows: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(part, y, x) of every value above ``thresh`` that is the maximum of its 3x3 neighbourhood.

    ``planes`` is C x H x W float32; with ``height`` only its first ``height`` rows are the maps
    (rows below are padding, outside the map). ``rows`` (C x height, bool) may name the only rows
    that can hold such a value. Results are ordered by part, y, x.
    """
    planes = np.ascontiguousarray(planes, dtype=np.float32)
    height = planes.shape[1] if height is None else int(height)
    if not 0 <= height <= planes.shape[1]:
        raise ValueError('height %d outside the %d rows of the planes' % (height, planes.shape[1]))
    if rows is None:
        rows = np.ones((planes.shape[0], height), np.bool_)
    elif rows.shape != (planes.shape[0], height):
        raise ValueError('rows must be %d x %d, got %s' % (planes.shape[0], height, rows.shape))
    thresh32 = np.float32(thresh)
    if not thresh32 > 0:
        raise ValueError('thresh must be positive (the integer row test relies on it)')
    return _local_maxima(planes, planes.view(np.int32), height, np.ascontiguousarray(rows, np.bool_),
                         thresh32, np.int32(thresh32.view(np.int32)))
