"""tf-pose-estimation's post-processing, unchanged: the people the original finds."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.decoders.original import grouping
from tf_pose_ros.decoders.original.maps import (
    ReplicatedPeakFinder,
    postprocess_multiscale,
    replication_ratio,
    split_output,
)
from tf_pose_ros.decoders.types import GroupedPerson
from tf_pose_ros.parts import NUM_PARTS

Peaks = Tuple[np.ndarray, np.ndarray, np.ndarray]


class OriginalDecoder:
    """Area upsampling, 25x25 Gaussian, 3x3 peaks, the C++ grouping (grouping.py) on the result.

    With one scale and an integer ratio the maps are the output replicated: the peaks are found
    and grouped without building them (postprocess.py); otherwise on the full upsampled maps.
    """

    name = 'original'

    def __init__(self):
        self._peak_finder = ReplicatedPeakFinder()

    def device_hints(self, maps, map_size: Tuple[int, int]) -> Optional[List[Peaks]]:
        """Per image, its (parts, ys, xs) peaks found on the engine's device (device_peaks.py:
        ReplicatedPeakFinder's up to float32 rounding at ties); None where the maps are not replicated."""
        ratio = replication_ratio(tuple(maps.shape[1:]), map_size)
        if not ratio:
            return None
        from tf_pose_ros.decoders.original.device_peaks import device_peaks  # imports torch

        return device_peaks(maps, ratio, float(grouping.THRESH_HEAT))

    def find_parts(self, outputs: Sequence[np.ndarray], resolution: Tuple[int, int],
                   map_size: Tuple[int, int], device_hint: Optional[Peaks] = None):
        """The part peaks (``device_hint``'s where device_hints found them) and the maps the grouping reads."""
        ratio = replication_ratio(outputs[0].shape, map_size) if len(outputs) == 1 else 0
        if ratio:
            if not np.isfinite(outputs[0]).all():
                raise ValueError('network output contains NaN or infinity')
            heat, paf = split_output(outputs[0])
            peaks = device_hint
            if peaks is None:
                peaks = self._peak_finder(heat[:, :, :NUM_PARTS], ratio, float(grouping.THRESH_HEAT))
            parts, ys, xs = peaks
            return ratio, (parts, ys, xs, heat, paf)
        return 0, postprocess_multiscale(outputs, map_size)

    def group(self, found) -> List[GroupedPerson]:
        """The original's people from find_parts' result."""
        ratio, maps = found
        if ratio:
            parts, ys, xs, heat, paf = maps
            return grouping.group_peaks_at_ratio(parts, ys, xs, heat, paf, ratio)
        peaks, heat, paf = maps
        return grouping.group_people(peaks, heat, paf)

    def group_faint(self, found) -> List[GroupedPerson]:
        """None: the original's grouping keeps no record of the people it leaves out."""
        return []
