"""What every engine offers the estimator, and helpers they share."""

from __future__ import annotations

import os
from typing import Iterable, Protocol, Tuple

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

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """N x H x W x 3 float32 BGR (0..255) -> N x H/8 x W/8 x 57 maps."""

    def close(self) -> None:
        """Give the engine's memory back; the network cannot be called afterwards."""


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
