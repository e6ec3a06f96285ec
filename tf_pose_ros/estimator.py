"""The pose pipeline: BGR image -> network -> maps -> peaks -> grouping -> people."""

from __future__ import annotations

import time
from typing import Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros import grouping
from tf_pose_ros.allocator import keep_freed_memory
from tf_pose_ros.model_store import find_weights
from tf_pose_ros.models import DEFAULT_MODEL, get_spec, parse_resolution
from tf_pose_ros.network import FrozenGraphNetwork
from tf_pose_ros.people import PoseResult, persons_from_grouping
from tf_pose_ros.postprocess import (postprocess_multiscale, scale_resolutions, upsampled_size,
                                     validate_upsample_ratio)
from tf_pose_ros.preprocess import resize_for_network, to_bgr8

STAGES = ('preprocess', 'network', 'postprocess', 'grouping', 'total')


class PoseEstimator:
    """Multi-person 2D pose estimation with one tf-pose network.

    ``model`` names a registry entry; ``model_path`` loads any tf-pose frozen graph instead (then
    ``model`` only labels it). ``resolution`` is the network input (width, height) or 'WxH'; the
    model's training resolution by default. With several ``scales`` the network runs on the image
    at each scale of ``resolution`` and the maps are averaged (the paper's multi-scale testing).
    The numba grouping is compiled and the network run once here, so the first real frame is as
    fast as the others.
    """

    def __init__(self, model: str = DEFAULT_MODEL, model_path: Optional[str] = None,
                 resolution=None, upsample_ratio: float = 4.0, device: str = 'auto',
                 model_dir: Optional[str] = None, scales: Sequence[float] = (1.0,)):
        spec = get_spec(model) if model_path is None else None
        self.model = model
        self.resolution: Tuple[int, int] = parse_resolution(
            resolution if resolution is not None else (spec or get_spec(DEFAULT_MODEL)).default_resolution)
        self.upsample_ratio = validate_upsample_ratio(upsample_ratio)
        self._input_sizes = scale_resolutions(self.resolution, scales)
        self.scales = tuple(float(s) for s in scales)
        self.weights_path = find_weights(model, model_path=model_path, model_dir=model_dir)
        self.network = FrozenGraphNetwork(self.weights_path, device=device)
        self.device = self.network.device
        keep_freed_memory()  # frames are often processed off the main thread (the ROS node)
        grouping.warmup()
        self.infer(np.zeros((self.resolution[1], self.resolution[0], 3), np.uint8))

    @property
    def map_size(self) -> Tuple[int, int]:
        """(width, height) of the upsampled heatmaps and PAFs."""
        return upsampled_size(self.resolution, self.upsample_ratio)

    def infer(self, image) -> PoseResult:
        """Estimate the people in one image (BGR uint8 or see preprocess.to_bgr8 for others)."""
        timings = {}
        start = time.perf_counter()
        image = to_bgr8(image)
        net_inputs = [resize_for_network(image, size) for size in self._input_sizes]
        t_pre = time.perf_counter()
        outputs = [self.network(net_input[np.newaxis])[0] for net_input in net_inputs]
        t_net = time.perf_counter()
        peaks, heat, paf = postprocess_multiscale(outputs, self.map_size)
        t_post = time.perf_counter()
        grouped = grouping.group_people(peaks, heat, paf)
        t_group = time.perf_counter()
        image_size = (image.shape[1], image.shape[0])
        persons = persons_from_grouping(grouped, self.map_size, image_size)
        timings['preprocess'] = (t_pre - start) * 1e3
        timings['network'] = (t_net - t_pre) * 1e3
        timings['postprocess'] = (t_post - t_net) * 1e3
        timings['grouping'] = (t_group - t_post) * 1e3
        timings['total'] = (time.perf_counter() - start) * 1e3
        return PoseResult(persons, image_size, timings)
