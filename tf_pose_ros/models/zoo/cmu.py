"""The CMU OpenPose network (Cao et al. 2017): VGG19 front, one initial and five refinement stages.

Input: BGR float32 0..255, scaled inside the network to x / 256 - 0.5 (``preprocess``).
Every convolution has a bias and (but for each stage's last) a ReLU; no batch norm. Names are
those of the Caffe-converted weights (``conv1_1``, ``Mconv7_stage6_L2``, ...), so the layers map
to the entries of ``openpose_coco.npy``.
"""

from __future__ import annotations

import keras

from tf_pose_ros.models.zoo.layers import conv, keras_name, relu

# VGG19's first ten convolutions, then the two CPM adaptation layers; 'pool' marks a 2x2 max-pool.
_FRONT = (('conv1_1', 64), ('conv1_2', 64), 'pool1_stage1',
          ('conv2_1', 128), ('conv2_2', 128), 'pool2_stage1',
          ('conv3_1', 256), ('conv3_2', 256), ('conv3_3', 256), ('conv3_4', 256), 'pool3_stage1',
          ('conv4_1', 512), ('conv4_2', 512), ('conv4_3_CPM', 256), ('conv4_4_CPM', 128))


def _conv_relu(x, scope, kernel, filters, relu_out=True):
    x = conv(x, scope, kernel, filters, bias=True)
    return relu(x, scope) if relu_out else x


def build(input_shape=(None, None, 3), bn: str = 'moving', name: str = 'cmu') -> keras.Model:
    """The CMU network (``bn`` is accepted for a uniform signature; the network has no batch norm)."""
    del bn
    image = keras.Input(shape=input_shape, name='image')
    x = keras.layers.Rescaling(1.0 / 256.0, offset=-0.5, name='preprocess')(image)
    for item in _FRONT:
        if isinstance(item, str):
            x = keras.layers.MaxPooling2D(2, 2, padding='valid', name=item)(x)
        else:
            x = _conv_relu(x, item[0], 3, item[1])
    features = x

    branches = {}
    for branch, channels in (('L1', 38), ('L2', 19)):
        y = features
        for i in (1, 2, 3):
            y = _conv_relu(y, 'conv5_%d_CPM_%s' % (i, branch), 3, 128)
        y = _conv_relu(y, 'conv5_4_CPM_%s' % branch, 1, 512)
        branches[branch] = _conv_relu(y, 'conv5_5_CPM_%s' % branch, 1, channels, relu_out=False)

    for stage in range(2, 7):
        inputs = keras.layers.Concatenate(axis=3, name='concat_stage%d' % stage)(
            [branches['L1'], branches['L2'], features])
        for branch, channels in (('L1', 38), ('L2', 19)):
            y = inputs
            for i in range(1, 6):
                y = _conv_relu(y, 'Mconv%d_stage%d_%s' % (i, stage, branch), 7, 128)
            y = _conv_relu(y, 'Mconv6_stage%d_%s' % (stage, branch), 1, 128)
            branches[branch] = _conv_relu(y, 'Mconv7_stage%d_%s' % (stage, branch), 1, channels,
                                          relu_out=False)

    outputs = keras.layers.Concatenate(axis=3, name=keras_name('Openpose/concat_stage7'))(
        [branches['L2'], branches['L1']])
    return keras.Model(image, outputs, name=name)
