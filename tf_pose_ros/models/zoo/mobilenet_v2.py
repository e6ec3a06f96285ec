"""MobileNet v2 pose networks: mobilenet_v2_large (width 1.4 / head 1.0), mobilenet_v2_small (0.5 / 0.5).

Input: BGR float32 0..255 straight into the first convolution. The front is MobileNet v2 up to
its 14th layer (``expanded_conv_12``); features = [layer 7 (``expanded_conv_5``, 1/8),
layer 14 (1/16) bilinearly resized to layer 7's size], then six stages of 3x3 separable
convolutions with refinement width ``conv_width2``.

The backbone's batch norms normalise with batch statistics (:class:`BatchStatNormalization`),
as in the released graphs; the head's use moving statistics like the MobileNet v1 networks.
"""

from __future__ import annotations

import keras

from tf_pose_ros.models.zoo.layers import (
    LegacyResizeBilinear,
    batch_norm,
    conv,
    depthwise,
    keras_name,
    openpose_stages,
    relu,
)

# (filters, stride, expansion) of the inverted-residual blocks expanded_conv, expanded_conv_1, ...
# up to expanded_conv_12, the last one the pose network reads.
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
           (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6))
FEATURE_BLOCKS = (5, 12)  # the endpoints 'layer_7' and 'layer_14' of the slim implementation


def make_divisible(value: float, divisor: int = 8, min_value: int = None) -> int:
    """Round a channel count to a multiple of ``divisor``, never dropping more than 10%."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _conv_bn_act(x, scope, kernel, filters, stride, bn, act=True):
    x = conv(x, scope, kernel, filters, stride)
    x = batch_norm(x, scope, bn, scale=True)
    return relu(x, scope, six=True) if act else x


def _inverted_residual(x, scope, filters, stride, expansion, bn):
    """expand 1x1 (when it widens) -> depthwise 3x3 -> linear project 1x1 (+ input when shapes match)."""
    channels = x.shape[-1]
    inner = make_divisible(channels * expansion) if expansion > 1 else channels
    y = x
    if inner > channels:
        y = _conv_bn_act(y, scope + '/expand', 1, inner, 1, bn)
    y = depthwise(y, scope + '/depthwise', 3, stride)
    y = batch_norm(y, scope + '/depthwise', bn, scale=True)
    y = relu(y, scope + '/depthwise', six=True)
    y = _conv_bn_act(y, scope + '/project', 1, filters, 1, bn, act=False)
    if stride == 1 and filters == channels:
        y = keras.layers.Add(name=keras_name(scope + '/add'))([y, x])
    return y


def build(input_shape=(None, None, 3), conv_width: float = 1.4, conv_width2: float = 1.0,
          bn: str = 'moving', name: str = 'mobilenet_v2_large') -> keras.Model:
    """The MobileNet v2 pose network; ``bn`` ('moving' or 'folded') applies to the head only."""
    depth = lambda d: make_divisible(d * conv_width, 8, 8)  # noqa: E731
    depth2 = lambda d: int(d * conv_width2)  # noqa: E731

    image = keras.Input(shape=input_shape, name='image')
    x = _conv_bn_act(image, 'MobilenetV2/Conv', 3, depth(32), 2, 'batch')
    endpoints = {}
    for index, (filters, stride, expansion) in enumerate(_BLOCKS):
        scope = 'MobilenetV2/expanded_conv' + ('_%d' % index if index else '')
        x = _inverted_residual(x, scope, depth(filters), stride, expansion, 'batch')
        endpoints[index] = x

    low, high = (endpoints[i] for i in FEATURE_BLOCKS)
    upsample = LegacyResizeBilinear(name=keras_name('base/layer_14/output/upsample'))([high, low])
    features = keras.layers.Concatenate(axis=3, name='feat_concat')([low, upsample])
    outputs = openpose_stages(features, depth2, bn, stages=6, refine_kernel=3)
    return keras.Model(image, outputs, name=name)
