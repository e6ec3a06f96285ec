"""The pose node's one network: loading it, swapping in a new one on a parameter change, closing the old.

A parameter change that needs another network loads it while the change is validated, so a model
that does not load is refused and the running one stays; once accepted it is swapped in under the
lock the inference thread holds while it uses the network, and the old one is closed then.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Dict, Iterator, Optional

from tf_pose_ros.config import format_resolution, format_scales
from tf_pose_ros.engines import resolve_preset
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.ros.node_parameters import cross_check, estimator_config, runs_tracker, validate
from tf_pose_ros.runtime.allocator import building_network, release_freed_memory
from tf_pose_ros.runtime.compile_cache import cache_report
from tf_pose_ros.runtime.gc_policy import freeze_loaded_objects
from tf_pose_ros.runtime.warmup import prepare_camera_sizes, warm_up_tracking


def describe_estimator(estimator: PoseEstimator) -> str:
    """One line for the log: model, input size and scales, device, engine, precision, preset, load time."""
    size = format_resolution(estimator.resolution)
    if estimator.keep_aspect:
        size = "%s pixels in each frame's aspect ratio (first frame decides)" % size
    scales = format_scales(estimator.scales)
    if scales:
        size += ', ' + scales
    return '%s at %s on %s (%s, %s, preset %s) in %.2f s (network %.2f s, warm-up frame %.2f s)' % (
        estimator.model, size, estimator.device, estimator.backend, estimator.precision,
        estimator.config.preset, estimator.load_seconds, estimator.network_seconds, estimator.warmup_seconds)


class ModelSlot:
    """The estimator in use (or None, with ``load_error`` saying why) and the one loaded for a pending change."""

    def __init__(self, logger):
        self._logger = logger
        self._estimator: Optional[PoseEstimator] = None
        # Held while a frame is inferred, so a swap can close the old network once no frame uses it.
        self._lock = threading.Lock()
        self.load_error = 'not configured'
        #: Whether a parameter change loads its network now (False while a lifecycle node is unconfigured).
        self.preloads = True
        self._preloaded: Optional[PoseEstimator] = None  # loaded by preload(), taken by swap_in_preloaded()
        #: Settings refused at start-up (name: why; node_parameters.wrong_types): no network loads, and no other
        #: change is accepted, until each is set again, as with a bad value of the right type.
        self.refused: Dict[str, str] = {}

    @property
    def estimator(self) -> Optional[PoseEstimator]:
        """The estimator in use (None while no model is loaded)."""
        return self._estimator

    @contextmanager
    def in_use(self) -> Iterator[Optional[PoseEstimator]]:
        """The estimator (or None), which no swap replaces or closes until the block ends."""
        with self._lock:
            yield self._estimator

    def load(self, config) -> bool:
        """Load the network of node configuration ``config`` (closing any loaded one); on failure log why."""
        self.unload()
        try:
            bad = list(self.refused.values())
            bad += [r for r in (validate(name, value) for name, value in config.items()) if r]
            bad += [r for r in (cross_check(config),) if r]
            if bad:
                raise ValueError('; '.join(bad))
            with building_network():
                estimator = PoseEstimator.from_config(estimator_config(config))
        except Exception as err:  # the node stays up so a parameter change can fix the model
            self.load_error = str(err)
            self._logger.error('no model loaded: %s' % err)
            return False
        self._swap(estimator)
        self._logger.info('loaded %s' % describe_estimator(estimator))
        self._logger.info(cache_report())
        if runs_tracker(config):  # its first update imports the assignment solver: not on a camera frame
            warm_up_tracking(estimator.warmup_persons)
        return True

    def unload(self) -> None:
        """Close the network and give its memory back."""
        self._swap(None, 'not configured')

    def discard_preloaded(self) -> None:
        """Close a network preloaded for a change that was then refused elsewhere (never applied)."""
        if self._preloaded is not None:
            self._preloaded.close()
            self._preloaded = None

    def refusal(self, names) -> str:
        """Why a change of the parameters ``names`` is refused: the start-up refusals it leaves ('' for none)."""
        return '; '.join(why for name, why in self.refused.items() if name not in names)

    def preload(self, config) -> str:
        """Load the network node configuration ``config`` needs, if another than the running one.

        Returns why the configuration is refused ('' when accepted): its estimator settings do not
        go together, or its network does not load (the running one stays).
        """
        try:
            wanted = estimator_config(config)
        except ValueError as err:
            return str(err)
        if not self.preloads:
            return ''
        running = self._estimator
        # The cameras' frame sizes so far: the new network is made ready for exactly those, so their next
        # frame compiles nothing and no memory goes to shapes no camera sends (none yet: the usual ones).
        frame_sizes = running.frame_sizes if running is not None else ()
        try:
            # Compared as they run (the preset's form written in): '' and the precision it resolves to are the same.
            if running is None or resolve_preset(wanted) != running.config:
                with building_network():
                    estimator = PoseEstimator.from_config(wanted, frame_sizes[0] if frame_sizes else None)
                    try:
                        prepare_camera_sizes(estimator, frame_sizes)
                    except Exception:
                        estimator.close()
                        raise
                self._preloaded = estimator
        except Exception as err:  # a model that does not load keeps the running one
            return 'cannot load the new configuration: %s' % err
        return ''

    def swap_in_preloaded(self) -> bool:
        """Put the network preload() loaded in place, if any; True when one was."""
        estimator, self._preloaded = self._preloaded, None
        if estimator is None:
            return False
        self._swap(estimator)
        self._logger.info('reloaded %s' % describe_estimator(estimator))
        return True

    def _swap(self, estimator: Optional[PoseEstimator], load_error: str = '') -> None:
        """Put ``estimator`` (or None) in place once no frame uses the old one; close the old one."""
        with self._lock:
            old, self._estimator, self.load_error = self._estimator, estimator, load_error
        if old is None and estimator is None:
            return
        if old is not None:
            old.close()
        freeze_loaded_objects()  # finds the old network's cycles, then hides the new one
        if old is not None:
            release_freed_memory()  # the old network's buffers, kept by the allocator otherwise
