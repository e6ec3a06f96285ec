"""Growable result buffers for numba code that does not know its output size in advance."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def grow(values, capacity):
    """A copy of ``values`` in a new buffer of ``capacity`` elements (same dtype)."""
    grown = np.empty(capacity, values.dtype)
    grown[:values.shape[0]] = values
    return grown
