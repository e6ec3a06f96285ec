"""Growable result buffers for numba code that does not know its output size in advance."""

from __future__ import annotations

import numpy as np

from tf_pose_ros.runtime.compile_cache import njit


@njit
def grow(values, capacity):
    """A copy of ``values`` in a new buffer of ``capacity`` elements (same dtype)."""
    grown = np.empty(capacity, values.dtype)
    grown[:values.shape[0]] = values
    return grown
