"""The pose pipeline: BGR image -> network -> maps -> peaks -> grouping -> people."""

from __future__ import annotations

import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import EstimatorConfig
from tf_pose_ros.decoders import registry
from tf_pose_ros.decoders.original.maps import scale_resolutions, upsampled_size
from tf_pose_ros.engines import Network, open_network
from tf_pose_ros.models import DEFAULT_MODEL
from tf_pose_ros.models.store import find_weights
from tf_pose_ros.people import PoseResult, persons_from_grouping
from tf_pose_ros.preprocess import resize_for_network, to_bgr8
from tf_pose_ros.runtime.warmup import warmup_image

STAGES = ('preprocess', 'network', 'postprocess', 'grouping', 'total')


def _stacked(arrays: List[np.ndarray]) -> np.ndarray:
    """N x ... batch of equally shaped arrays (one array: a view, no copy)."""
    return arrays[0][np.newaxis] if len(arrays) == 1 else np.stack(arrays)


class PoseEstimator:
    """Multi-person 2D pose estimation with one tf-pose network.

    Built from an :class:`EstimatorConfig` (``PoseEstimator.from_config``) or from the same
    settings as keyword arguments. ``model`` names a registry entry; ``model_path`` loads any
    tf-pose frozen graph instead (then ``model`` only labels it). ``resolution`` is the network
    input (width, height) or 'WxH'; the model's training resolution by default. With several
    ``scales`` the network runs on the image at each scale of ``resolution`` and the maps are
    averaged (the paper's multi-scale testing). ``backend`` and ``precision`` choose the inference
    engine (engines/), ``decoder`` the post-processing (decoders/; ``upsample_ratio`` None runs
    the decoder's own ratio, ``interpolation`` 'auto' resizes frames as the decoder's own). The
    network runs once here on a bundled photo of people, which compiles (or loads from numba's disk
    cache) every post-processing and grouping path, so the first real frame is as fast as the
    others. ``close()`` gives the engine's memory back. An estimator serves
    one thread at a time (engines and buffers are reused from frame to frame).
    """

    def __init__(self, model: str = DEFAULT_MODEL, model_path: Optional[str] = None,
                 resolution=None, upsample_ratio: Optional[float] = None, device: str = 'auto',
                 model_dir: Optional[str] = None, scales: Sequence[float] = (1.0,),
                 backend: str = 'auto', precision: str = 'fp32', threads: int = 0,
                 decoder: str = registry.DEFAULT_DECODER, interpolation: str = 'auto'):
        self._setup(EstimatorConfig(model=model, model_path=model_path or '', model_dir=model_dir or '',
                                    resolution=resolution, upsample_ratio=upsample_ratio, scales=tuple(scales),
                                    device=device, backend=backend, precision=precision, threads=threads,
                                    decoder=decoder, interpolation=interpolation))

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
        self.interpolation = config.resize_interpolation
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
            registry.warmup(config.decoder)
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
        return self.infer_batch([image])[0]

    def infer_batch(self, images: Sequence) -> List[PoseResult]:
        """Estimate the people in each of ``images`` (any sizes), one network run for them all.

        Engines that take batches (``Network.batches``) run the images together, the others one by
        one. The preprocess, network and postprocess timings of each result are the whole batch's.
        """
        if self.network is None:
            raise RuntimeError('the estimator is closed; build a new one')
        network = self.network
        start = time.perf_counter()
        images = [to_bgr8(image) for image in images]
        if not images:
            return []
        batches = [_stacked([resize_for_network(image, size, self.interpolation) for image in images])
                   for size in self._input_sizes]
        t_pre = time.perf_counter()
        hints: Optional[List] = None
        if len(batches) == 1 and network.maps_on_device:
            # The decoder may search the maps on the device first (the original's peaks); the
            # network-size maps its host stages read come back (57 x 54 x 46 floats a frame at 432x368).
            maps = network.device_maps(batches[0])
            hints = self.decoder.device_hints(maps, self.map_size)
            outputs = [network.to_host(maps)]
        else:
            outputs = [self._run(batch) for batch in batches]
        t_net = time.perf_counter()
        results = []
        post = 0.0
        for index, image in enumerate(images):
            t_start = time.perf_counter()
            per_image = [output[index] for output in outputs]
            found = self.decoder.find_parts(per_image, self.resolution, self.map_size,
                                            None if hints is None else hints[index])
            t_found = time.perf_counter()
            grouped = self.decoder.group(found)
            t_group = time.perf_counter()
            post += t_found - t_start
            image_size = (image.shape[1], image.shape[0])
            persons = persons_from_grouping(grouped, self.map_size, image_size)
            results.append((persons, image_size, t_group - t_found))
        end = time.perf_counter()
        shared = {'preprocess': (t_pre - start) * 1e3, 'network': (t_net - t_pre) * 1e3,
                  'postprocess': post * 1e3, 'total': (end - start) * 1e3}
        return [PoseResult(persons, image_size, dict(shared, grouping=seconds * 1e3))
                for persons, image_size, seconds in results]

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """The network on a batch: at once where the engine takes batches, else image by image."""
        assert self.network is not None
        if len(batch) == 1 or self.network.batches:
            return self.network(batch)
        return np.concatenate([self.network(batch[i:i + 1]) for i in range(len(batch))])
