"""The pose pipeline: BGR image -> network -> maps -> peaks -> grouping -> people."""

from __future__ import annotations

import time
from typing import Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import EstimatorConfig
from tf_pose_ros.decoders import registry
from tf_pose_ros.engines import Network, open_network
from tf_pose_ros.model_store import find_weights
from tf_pose_ros.models import DEFAULT_MODEL
from tf_pose_ros.people import PoseResult, persons_from_grouping
from tf_pose_ros.postprocess import scale_resolutions, upsampled_size
from tf_pose_ros.preprocess import resize_for_network, to_bgr8
from tf_pose_ros.warmup import warmup_image

STAGES = ('preprocess', 'network', 'postprocess', 'grouping', 'total')


class PoseEstimator:
    """Multi-person 2D pose estimation with one tf-pose network.

    Built from an :class:`EstimatorConfig` (``PoseEstimator.from_config``) or from the same
    settings as keyword arguments. ``model`` names a registry entry; ``model_path`` loads any
    tf-pose frozen graph instead (then ``model`` only labels it). ``resolution`` is the network
    input (width, height) or 'WxH'; the model's training resolution by default. With several
    ``scales`` the network runs on the image at each scale of ``resolution`` and the maps are
    averaged (the paper's multi-scale testing). ``backend`` and ``precision`` choose the inference
    engine (engines/), ``decoder`` the post-processing (decoders/; ``upsample_ratio`` None runs
    the decoder's own ratio). The network runs once here on a bundled photo of people, which
    compiles (or loads from numba's disk cache) every post-processing and grouping path, so the first
    real frame is as fast as the others. ``close()`` gives the engine's memory back. An estimator serves
    one thread at a time (engines and buffers are reused from frame to frame).
    """

    def __init__(self, model: str = DEFAULT_MODEL, model_path: Optional[str] = None,
                 resolution=None, upsample_ratio: Optional[float] = None, device: str = 'auto',
                 model_dir: Optional[str] = None, scales: Sequence[float] = (1.0,),
                 backend: str = 'auto', precision: str = 'fp32', threads: int = 0,
                 decoder: str = registry.DEFAULT_DECODER):
        self._setup(EstimatorConfig(model=model, model_path=model_path or '', model_dir=model_dir or '',
                                    resolution=resolution, upsample_ratio=upsample_ratio, scales=tuple(scales),
                                    device=device, backend=backend, precision=precision, threads=threads,
                                    decoder=decoder))

    @classmethod
    def from_config(cls, config: EstimatorConfig) -> 'PoseEstimator':
        """An estimator running ``config``."""
        estimator = cls.__new__(cls)
        estimator._setup(config)
        return estimator

    def _setup(self, config: EstimatorConfig) -> None:
        self.config = config
        self.model = config.model
        self.resolution: Tuple[int, int] = config.input_resolution
        self.upsample_ratio = config.map_ratio
        self.scales = config.scales
        self._input_sizes = scale_resolutions(self.resolution, config.scales)
        self.decoder = registry.make_decoder(config.decoder)
        self.weights_path = find_weights(config.model, model_path=config.model_path or None,
                                         model_dir=config.model_dir or None)
        started = time.perf_counter()
        self.network: Optional[Network] = open_network(config, self.weights_path, self._input_sizes)
        self.backend, self.precision, self.device = self.network.backend, self.network.precision, self.network.device
        opened = time.perf_counter()
        try:
            registry.warmup()
            #: The people found on the warm-up photo (the tracker's warm-up uses them).
            self.warmup_persons = self.infer(warmup_image()).persons
        except BaseException:
            self.close()  # a network that loaded but cannot run gives its memory back at once
            raise
        finished = time.perf_counter()
        #: Seconds to open the network (converting it on first use) and to run the warm-up frame.
        self.network_seconds, self.warmup_seconds = opened - started, finished - opened
        #: Seconds from loading the weights to the end of the first (warm-up) frame.
        self.load_seconds = finished - started

    def close(self) -> None:
        """Release the network (the estimator cannot infer afterwards)."""
        network, self.network = self.network, None
        if network is not None:
            network.close()

    @property
    def map_size(self) -> Tuple[int, int]:
        """(width, height) of the upsampled heatmaps and PAFs."""
        return upsampled_size(self.resolution, self.upsample_ratio)

    def infer(self, image) -> PoseResult:
        """Estimate the people in one image (BGR uint8 or see preprocess.to_bgr8 for others)."""
        if self.network is None:
            raise RuntimeError('the estimator is closed; build a new one')
        timings = {}
        start = time.perf_counter()
        image = to_bgr8(image)
        net_inputs = [resize_for_network(image, size) for size in self._input_sizes]
        t_pre = time.perf_counter()
        outputs = [self.network(net_input[np.newaxis])[0] for net_input in net_inputs]
        t_net = time.perf_counter()
        found = self.decoder.find_parts(outputs, self.resolution, self.map_size)
        t_post = time.perf_counter()
        grouped = self.decoder.group(found)
        t_group = time.perf_counter()
        image_size = (image.shape[1], image.shape[0])
        persons = persons_from_grouping(grouped, self.map_size, image_size)
        timings['preprocess'] = (t_pre - start) * 1e3
        timings['network'] = (t_net - t_pre) * 1e3
        timings['postprocess'] = (t_post - t_net) * 1e3
        timings['grouping'] = (t_group - t_post) * 1e3
        timings['total'] = (time.perf_counter() - start) * 1e3
        return PoseResult(persons, image_size, timings)
