"""MobileNet v1 pose networks: mobilenet_thin, mobilenet, mobilenet_fast, mobilenet_accurate.

Input: BGR float32 0..255 straight into the first convolution (the original graphs have no
preprocessing op). ``conv_width`` scales the MobileNet front, ``conv_width2`` the Openpose head.

* thin: front Conv2d_0..Conv2d_11; features = [maxpool(Conv2d_3), Conv2d_7, Conv2d_11] at 1/8;
  six stages of 3x3 separable convolutions.
* plain (mobilenet, _fast, _accurate): front Conv2d_0..Conv2d_7; features =
  [maxpool(Conv2d_1), Conv2d_3, upsample(Conv2d_7)], which sit at 1/4 of the input, so these
  networks output maps at 1/4 (not 1/8) of the input; five stages, the refinements 7x7.
  The original also computes a Conv2d_8 that nothing reads; it is left out here.
"""

from __future__ import annotations

import keras

from tf_pose_ros.models.zoo.layers import LegacyResizeBilinear, conv_bn, keras_name, openpose_stages, separable_conv

MIN_DEPTH = 8
# (filters, stride) of the separable blocks Conv2d_1.. of MobileNet v1, as far as tf-pose uses them.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1))


def build(input_shape=(None, None, 3), conv_width: float = 0.75, conv_width2: float = 0.5,
          thin: bool = True, bn: str = 'moving', name: str = 'mobilenet_thin') -> keras.Model:
    """The MobileNet v1 pose network; ``bn`` is 'moving' (trainable) or 'folded' (inference)."""
    depth = lambda d: max(int(d * conv_width), MIN_DEPTH)  # noqa: E731
    depth2 = lambda d: max(int(d * conv_width2), MIN_DEPTH)  # noqa: E731

    image = keras.Input(shape=input_shape, name='image')
    x = conv_bn(image, 'MobilenetV1/Conv2d_0', 3, depth(32), 2, bn)
    blocks = {}
    last = 11 if thin else 7
    for index, (filters, stride) in enumerate(_BLOCKS[:last], start=1):
        x = separable_conv(x, 'MobilenetV1/Conv2d_%d' % index, 3, depth(filters), stride, bn)
        blocks[index] = x

    if thin:
        pool = keras.layers.MaxPooling2D(2, 2, padding='same', name='Conv2d_3_pool')(blocks[3])
        parts = [pool, blocks[7], blocks[11]]
    else:
        pool = keras.layers.MaxPooling2D(2, 2, padding='same', name='Conv2d_1_pool')(blocks[1])
        upsample = LegacyResizeBilinear(2, name='Conv2d_7_upsample')(blocks[7])
        parts = [pool, blocks[3], upsample]
    features = keras.layers.Concatenate(axis=3, name=keras_name('feat_concat'))(parts)

    outputs = openpose_stages(features, depth2, bn, stages=6 if thin else 5,
                              refine_kernel=3 if thin else 7)
    return keras.Model(image, outputs, name=name)

