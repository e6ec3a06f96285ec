"""The pose pipeline: BGR image -> network -> maps -> peaks -> grouping -> people."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import EstimatorConfig, aspect_input_size, format_resolutions
from tf_pose_ros.decoders import registry
from tf_pose_ros.decoders.mirror import merge_mirrored, with_mirrors
from tf_pose_ros.decoders.original.maps import scale_resolutions, upsampled_size
from tf_pose_ros.engines import Network, open_network, resolve_preset
from tf_pose_ros.models import DEFAULT_MODEL
from tf_pose_ros.models.store import find_weights
from tf_pose_ros.people import PoseResult, persons_from_grouping
from tf_pose_ros.preprocess import resize_for_network, to_bgr8
from tf_pose_ros.runtime.warmup import CAMERA_FRAME_SIZES, warmup_frame

_LOG = logging.getLogger(__name__)
STAGES = ('preprocess', 'network', 'postprocess', 'grouping', 'total')


def _stacked(arrays: List[np.ndarray]) -> np.ndarray:
    """N x ... batch of equally shaped arrays (one array: a view, no copy)."""
    return arrays[0][np.newaxis] if len(arrays) == 1 else np.stack(arrays)


@dataclass(frozen=True)
class InputPlan:
    """How frames of one size reach the network: input (width, height), one size per scale, maps."""

    resolution: Tuple[int, int]
    sizes: Tuple[Tuple[int, int], ...]
    map_size: Tuple[int, int]


def plan_input(config: EstimatorConfig, frame_size: Tuple[int, int]) -> InputPlan:
    """The InputPlan of ``config`` for frames of ``frame_size`` (width, height): with keep_aspect the
    input has the frame's aspect ratio and the resolution's pixel count, else the resolution."""
    budget = config.input_resolution
    resolution = aspect_input_size(budget, frame_size) if config.run_keep_aspect else budget
    return InputPlan(resolution, tuple(scale_resolutions(resolution, config.run_scales)),
                     upsampled_size(resolution, config.map_ratio))


class PoseEstimator:
    """Multi-person 2D pose estimation with one tf-pose network.

    Built from an :class:`EstimatorConfig` (``PoseEstimator.from_config``) or from the same
    settings as keyword arguments. ``model`` names a registry entry; ``model_path`` loads any
    tf-pose frozen graph instead (then ``model`` only labels it). ``resolution`` is the network
    input (width, height) or 'WxH'; the model's training resolution by default; with ``keep_aspect``
    it is the pixel budget and each frame size gets an input of its own aspect ratio (plan_input;
    fixed-shape engines compile each new size once, when the first frame of that size comes). With several
    ``scales`` the network runs on the image at each scale of ``resolution`` and the maps are
    averaged (the paper's multi-scale testing). ``backend`` and ``precision`` choose the inference
    engine (engines/), ``flip`` adds the mirrored frame (decoders/mirror.py), ``preset`` fills the
    settings left unset (its bf16 form where bf16 runs fast here: engines.resolve_preset),
    ``decoder`` the post-processing (decoders/; ``upsample_ratio`` None runs the decoder's own ratio,
    ``interpolation`` 'auto' resizes frames as the decoder's own). The network runs once here on a
    bundled photo of people, which compiles (or loads from numba's disk cache) every post-processing
    and grouping path, so the first real frame is as fast as the others. ``close()`` gives the
    engine's memory back. An estimator serves one thread at a time (engines and buffers are reused
    from frame to frame).
    """

    def __init__(self, model: str = DEFAULT_MODEL, model_path: Optional[str] = None,
                 resolution=None, upsample_ratio: Optional[float] = None, device: str = 'auto',
                 model_dir: Optional[str] = None, scales: Sequence[float] = (),
                 backend: str = 'auto', precision: str = '', threads: int = 0,
                 decoder: str = registry.DEFAULT_DECODER, interpolation: str = 'auto', keep_aspect=None,
                 flip=None, preset: str = 'default'):
        self._setup(EstimatorConfig(model=model, model_path=model_path or '', model_dir=model_dir or '',
                                    resolution=resolution, upsample_ratio=upsample_ratio, scales=tuple(scales),
                                    device=device, backend=backend, precision=precision, threads=threads,
                                    decoder=decoder, interpolation=interpolation, keep_aspect=keep_aspect,
                                    flip=flip, preset=preset))

    @classmethod
    def from_config(cls, config: EstimatorConfig,
                    warmup_size: Optional[Tuple[int, int]] = None) -> 'PoseEstimator':
        """An estimator running ``config``, warmed up on the bundled photo as a camera of ``warmup_size``
        (width, height; by default the commonest camera's, CAMERA_FRAME_SIZES[0]) frames it."""
        estimator = cls.__new__(cls)
        estimator._setup(config, warmup_size)
        return estimator

    def _setup(self, config: EstimatorConfig, warmup_size: Optional[Tuple[int, int]] = None) -> None:
        #: The configuration as given; ``config`` is what runs: the preset's precision, scales and
        #: flip written in for this machine (its bf16 form where bf16 runs fast here).
        self.requested = config
        config = resolve_preset(config)
        self.config = config
        #: Seconds spent making the engine ready for new frame sizes after loading.
        self.compile_seconds = 0.0
        self._loaded = False
        self.model = config.model
        self.resolution: Tuple[int, int] = config.input_resolution
        self.upsample_ratio = config.map_ratio
        self.interpolation = config.resize_interpolation
        self.scales = config.run_scales
        self.flip = config.run_flip
        self.keep_aspect = config.run_keep_aspect
        self._plans: Dict[Tuple[int, int], InputPlan] = {}
        #: The sizes (width, height) of the frames inferred, in the order they first came (the warm-up
        #: photo aside). Replaced, never changed in place: another thread may read it at any time.
        self.frame_sizes: Tuple[Tuple[int, int], ...] = ()
        self._warmup_size = warmup_size or CAMERA_FRAME_SIZES[0]
        #: The network input (width, height) of the last frame inferred and the sizes it ran at, one
        #: per scale (until a frame comes: those of a frame of ``resolution``'s size).
        self.last_input, self.last_sizes = self._unseen_input()
        self.decoder = registry.make_decoder(config.decoder)
        self.weights_path = find_weights(config.model, model_path=config.model_path or None,
                                         model_dir=config.model_dir or None)
        started = time.perf_counter()
        warm = warmup_frame(self._warmup_size)
        # Only the warm-up frame's input: a size no frame has asked for compiles when one does.
        sizes = plan_input(config, (warm.shape[1], warm.shape[0])).sizes
        self.network: Optional[Network] = open_network(config, self.weights_path, sizes)
        self.backend, self.precision, self.device = self.network.backend, self.network.precision, self.network.device
        opened = time.perf_counter()
        try:
            registry.warmup(config.decoder)
            #: The people found on the warm-up photo (the tracker's warm-up uses them).
            self.warmup_persons = self._warm_up(warm)
        except BaseException:
            self.close()  # a network that loaded but cannot run gives its memory back at once
            raise
        finished = time.perf_counter()
        #: Seconds to open the network (converting it on first use) and to run the warm-up frame.
        self.network_seconds, self.warmup_seconds = opened - started, finished - opened
        #: Seconds from loading the weights to the end of the first (warm-up) frame.
        self.load_seconds = finished - started
        self._loaded = True

    def warm_up_thread(self) -> None:
        """Run the warm-up photo in the calling thread (an engine's first call from a new thread sets up
        that thread's share of its pool) without it counting as a frame (``last_input``, ``frame_sizes``)."""
        self._warm_up(warmup_frame(self._warmup_size))

    def _warm_up(self, frame: np.ndarray):
        """The persons of ``frame``, inferred as no camera's frame."""
        seen = self.frame_sizes
        persons = self.infer(frame).persons
        self.last_input, self.last_sizes = self._unseen_input()
        self.frame_sizes = seen
        return persons

    def _unseen_input(self) -> Tuple[Tuple[int, int], Tuple[Tuple[int, int], ...]]:
        plan = plan_input(self.config, self.resolution)
        return plan.resolution, plan.sizes

    def close(self) -> None:
        """Release the network (the estimator cannot infer afterwards)."""
        network, self.network = self.network, None
        if network is not None:
            network.close()

    @property
    def map_size(self) -> Tuple[int, int]:
        """(width, height) of the upsampled heatmaps and PAFs at ``resolution``."""
        return upsampled_size(self.resolution, self.upsample_ratio)

    def input_plan(self, frame_size: Tuple[int, int]) -> InputPlan:
        """The InputPlan for frames of ``frame_size`` (width, height); the first frame of a size the
        engine has not seen compiles it (fixed-shape engines; ``compile_seconds`` adds the time)."""
        frame_size = (int(frame_size[0]), int(frame_size[1]))
        plan = self._plans.get(frame_size)
        if plan is None:
            plan = plan_input(self.config, frame_size)
            assert self.network is not None
            started = time.perf_counter()
            self.network.prepare(plan.sizes)
            seconds = time.perf_counter() - started
            self.compile_seconds += seconds
            self._plans[frame_size] = plan
            if self._loaded:
                _LOG.info('frames of %dx%d run at %s (network ready in %.2f s)', frame_size[0], frame_size[1],
                          format_resolutions(plan.sizes), seconds)
        return plan

    def prepare(self, frame_sizes: Sequence[Tuple[int, int]]) -> float:
        """Make the engine ready now for frames of ``frame_sizes`` (width, height), so their first frame
        compiles nothing; returns the seconds it took (0 for sizes already seen or without keep_aspect)."""
        before = self.compile_seconds
        for frame_size in frame_sizes:
            self.input_plan(frame_size)
        return self.compile_seconds - before

    def infer(self, image, faint: bool = False) -> PoseResult:
        """Estimate the people in one image (BGR uint8 or see preprocess.to_bgr8 for others)."""
        return self.infer_batch([image], faint)[0]

    def infer_batch(self, images: Sequence, faint: bool = False) -> List[PoseResult]:
        """Estimate the people in each of ``images`` (any sizes), one network run for them all.

        Engines that take batches (``Network.batches``) run the images together, the others one by
        one. The preprocess, network and postprocess timings of each result are the whole batch's.
        With ``faint`` each result's ``faint`` holds the people too weak to be persons as well (for
        blurring faces: a second, looser grouping pass).
        """
        if self.network is None:
            raise RuntimeError('the estimator is closed; build a new one')
        start = time.perf_counter()
        images = [to_bgr8(image) for image in images]
        if not images:
            return []
        groups: Dict[InputPlan, List[int]] = {}
        for index, image in enumerate(images):
            frame_size = (image.shape[1], image.shape[0])
            groups.setdefault(self.input_plan(frame_size), []).append(index)
            if frame_size not in self.frame_sizes:
                self.frame_sizes = self.frame_sizes + (frame_size,)
        times = {'preprocess': 0.0, 'network': 0.0, 'postprocess': 0.0}
        found_people: Dict[int, tuple] = {}
        for plan, members in groups.items():
            self._infer_group(plan, [images[i] for i in members], members, times, found_people, faint)
            self.last_input, self.last_sizes = plan.resolution, plan.sizes
        end = time.perf_counter()
        shared = {name: seconds * 1e3 for name, seconds in times.items()}
        shared['total'] = (end - start) * 1e3
        return [PoseResult(persons, image_size, dict(shared, grouping=seconds * 1e3), faint_persons)
                for persons, image_size, seconds, faint_persons in (found_people[i] for i in range(len(images)))]

    def _infer_group(self, plan: InputPlan, images: List[np.ndarray], members: List[int], times: Dict[str, float],
                     found_people: Dict[int, tuple], faint: bool = False) -> None:
        """infer_batch for images of one InputPlan: people into ``found_people`` by index, seconds into ``times``."""
        network = self.network
        assert network is not None
        t_start = time.perf_counter()
        batches = []
        for size in plan.sizes:
            resized = [resize_for_network(image, size, self.interpolation) for image in images]
            batches.append(_stacked(with_mirrors(resized) if self.flip else resized))
        t_pre = time.perf_counter()
        hints: Optional[List] = None
        if len(batches) == 1 and network.maps_on_device and not self.flip:
            # The decoder may search the maps on the device first (the original's peaks); the
            # network-size maps its host stages read come back (57 x 54 x 46 floats a frame at 432x368).
            maps = network.device_maps(batches[0])
            hints = self.decoder.device_hints(maps, plan.map_size)
            outputs = [network.to_host(maps)]
        else:
            outputs = [self._run(batch) for batch in batches]
            if self.flip:
                outputs = [merge_mirrored(output) for output in outputs]
        t_net = time.perf_counter()
        times['preprocess'] += t_pre - t_start
        times['network'] += t_net - t_pre
        for position, (index, image) in enumerate(zip(members, images)):
            t_start = time.perf_counter()
            per_image = [output[position] for output in outputs]
            found = self.decoder.find_parts(per_image, plan.resolution, plan.map_size,
                                            None if hints is None else hints[position])
            t_found = time.perf_counter()
            grouped = self.decoder.group(found)
            weak = self.decoder.group_faint(found) if faint else []
            t_group = time.perf_counter()
            times['postprocess'] += t_found - t_start
            image_size = (image.shape[1], image.shape[0])
            persons = persons_from_grouping(grouped, plan.map_size, image_size)
            found_people[index] = (persons, image_size, t_group - t_found,
                                   persons_from_grouping(weak, plan.map_size, image_size))

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """The network on a batch: at once where the engine takes batches, else image by image."""
        assert self.network is not None
        if len(batch) == 1 or self.network.batches:
            return self.network(batch)
        return np.concatenate([self.network(batch[i:i + 1]) for i in range(len(batch))])
