"""tf-pose-estimation's post-processing, unchanged: the people the original finds."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros import grouping
from tf_pose_ros.grouping import GroupedPerson
from tf_pose_ros.parts import NUM_PARTS
from tf_pose_ros.postprocess import ReplicatedPeakFinder, postprocess_multiscale, replication_ratio, split_output


class OriginalDecoder:
    """Area upsampling, 25x25 Gaussian, 3x3 peaks, the C++ grouping (grouping.py) on the result.

    With one scale and an integer ratio the maps are the output replicated: the peaks are found
    and grouped without building them (postprocess.py); otherwise on the full upsampled maps.
    """

    name = 'original'

    def __init__(self):
        self._peak_finder = ReplicatedPeakFinder()

    def find_parts(self, outputs: Sequence[np.ndarray], resolution: Tuple[int, int],
                   map_size: Tuple[int, int], peaks: Optional[Tuple[np.ndarray, ...]] = None):
        """The part peaks and the maps the grouping reads.

        ``peaks`` (parts, ys, xs), when the torch engine found them on the GPU, are used as they
        are (engines/torch_postprocess.py: ReplicatedPeakFinder's up to float32 rounding at ties).
        """
        ratio = replication_ratio(outputs[0].shape, map_size) if len(outputs) == 1 else 0
        if ratio:
            if not np.isfinite(outputs[0]).all():
                raise ValueError('network output contains NaN or infinity')
            heat, paf = split_output(outputs[0])
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
