"""What every engine offers the estimator, and helpers they share."""

from __future__ import annotations

import os
from typing import Any, Iterable, Protocol, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import ConfigError


class ModelLoadError(RuntimeError):
    """A weight file exists but is not a usable pose network (or the device cannot hold it)."""


class PrecisionError(ConfigError):
    """The engine or this CPU cannot run the network in the precision asked for."""


class Network(Protocol):
    """A loaded pose network."""

    backend: str
    precision: str
    device: str
    #: True when one call takes a batch of N > 1 images (else the estimator runs them one by one).
    batches: bool

    #: True when ``device_maps`` leaves the maps on an accelerator, where a decoder may search them
    #: before they come back (decoders.types.Decoder.device_hints).
    maps_on_device: bool

    def prepare(self, sizes: Sequence[Tuple[int, int]]) -> None:
        """Make the network ready for inputs of ``sizes`` (width, height): fixed-shape engines compile
        the sizes they have not seen (once each), the others do nothing."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """N x H x W x 3 float32 BGR (0..255) -> N x H/8 x W/8 x 57 maps."""

    def device_maps(self, batch: np.ndarray) -> Any:
        """The maps of ``batch`` where the engine computed them (a device tensor where maps_on_device)."""

    def to_host(self, maps: Any) -> np.ndarray:
        """``device_maps``' result as the float32 numpy array ``__call__`` returns."""

    def close(self) -> None:
        """Give the engine's memory back; the network cannot be called afterwards."""


class HostMaps:
    """The device capability of engines whose maps are numpy arrays on the host already."""

    maps_on_device = False

    def device_maps(self, batch: np.ndarray) -> np.ndarray:
        return self(batch)  # type: ignore[operator]  # the engine's own __call__

    def to_host(self, maps: np.ndarray) -> np.ndarray:
        return maps


def thread_count(threads: int) -> int:
    """The engine thread count for a ``threads`` setting (0: the cores this process may use)."""
    if threads:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def input_shape(size: Tuple[int, int]) -> Tuple[int, int, int, int]:
    """(width, height) -> the NHWC batch shape of one image."""
    width, height = size
    return (1, height, width, 3)


def check_batch(batch: np.ndarray, sizes: Iterable[Tuple[int, int]]) -> Tuple[int, int]:
    """The (width, height) of ``batch`` if it is one this fixed-shape network was built for."""
    size = (batch.shape[2], batch.shape[1]) if batch.ndim == 4 else None
    sizes = list(sizes)
    if size not in sizes or batch.shape[0] != 1 or batch.shape[3] != 3:
        raise ValueError('batch of shape %s: this network takes 1 x H x W x 3 at %s'
                         % (batch.shape, ', '.join('%dx%d' % s for s in sizes)))
    return size
