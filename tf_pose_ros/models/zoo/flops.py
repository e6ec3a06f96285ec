"""The cost of the pose networks: FLOPs and parameters, from a frozen graph or a zoo model.

Conventions (the same for graphs and Keras models, so the two counts agree):

* FLOPs = 2 x the multiply-accumulates of the convolutions (Conv2D, DepthwiseConv2dNative) and
  matrix products (MatMul / Dense), for ONE image (batch 1) at ``resolution`` = (width, height).
  Bias adds, batch norms, activations, pooling, resizing and concatenation are not counted; they
  add well under 1%. Returned in GFLOPs (1e9).
* Parameters = trainable values: filters, biases, batch-norm offsets and scales. Moving
  statistics are not counted, nor are the unit scales that frozen graphs carry for slim batch
  norms without a scale (an inference-mode batch norm whose scale is all ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from tf_pose_ros.models import INPUT_TENSOR
from tf_pose_ros.models.zoo.architectures import build_model
from tf_pose_ros.models.zoo.loaders import read_graph_def

__all__ = ['count_graph_flops', 'count_parameters', 'count_model_flops', 'architecture_cost', 'Cost']

_MAC_OPS = ('Conv2D', 'DepthwiseConv2dNative', 'MatMul')


@dataclass(frozen=True)
class Cost:
    """GFLOPs for one image at ``resolution`` and trainable parameters of one network."""

    name: str
    resolution: Tuple[int, int]
    gflops: float
    params: int


def _macs(op_type: str, output_shape, filter_shape, transpose_a: bool = False, input_shape=None) -> int:
    if op_type == 'Conv2D':  # each output value: kh * kw * in_channels products
        return int(np.prod(output_shape[1:])) * int(np.prod(filter_shape[:3]))
    if op_type == 'DepthwiseConv2dNative':  # each output value: kh * kw products
        return int(np.prod(output_shape[1:])) * int(np.prod(filter_shape[:2]))
    inner = input_shape[0] if transpose_a else input_shape[1]
    return int(np.prod(output_shape)) * int(inner)


def count_graph_flops(graph, resolution=(432, 368), input_tensor: str = INPUT_TENSOR) -> float:
    """GFLOPs of a frozen graph (path or GraphDef) for one image of (width, height) ``resolution``."""
    import tensorflow as tf

    graph_def = read_graph_def(graph)
    width, height = (int(v) for v in resolution)
    with tf.Graph().as_default() as graph_:
        image = tf.compat.v1.placeholder(tf.float32, [1, height, width, 3], name='flops_input')
        tf.compat.v1.import_graph_def(graph_def, input_map={input_tensor: image}, name='')
    macs = 0
    for op in graph_.get_operations():
        if op.type not in _MAC_OPS:
            continue
        output_shape = op.outputs[0].shape
        if not output_shape.is_fully_defined():
            raise ValueError('%s: output shape %s is unknown at %dx%d'
                             % (op.name, output_shape, width, height))
        transpose_a = op.type == 'MatMul' and op.get_attr('transpose_a')
        macs += _macs(op.type, output_shape.as_list(), op.inputs[1].shape.as_list(), transpose_a,
                      op.inputs[0].shape.as_list())
    return 2.0 * macs / 1e9


def count_model_flops(model) -> float:
    """GFLOPs of a Keras model built for a fixed input size (batch 1)."""
    import keras

    macs = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            shape = list(layer.output.shape)
            if any(d is None for d in shape[1:]):
                raise ValueError('%s: build the model with a fixed input size to count FLOPs' % layer.name)
            shape[0] = 1
            kind = ('DepthwiseConv2dNative' if isinstance(layer, keras.layers.DepthwiseConv2D)
                    else 'Conv2D' if isinstance(layer, keras.layers.Conv2D) else 'MatMul')
            if kind == 'MatMul':
                macs += int(np.prod(shape)) * int(layer.kernel.shape[0])
            else:
                macs += _macs(kind, shape, list(layer.kernel.shape))
    return 2.0 * macs / 1e9


def _graph_parameters(graph_def) -> int:
    from tensorflow.python.framework import tensor_util

    nodes = {node.name: node for node in graph_def.node}

    def const(name):
        node = nodes[name.lstrip('^').split(':')[0]]
        while node.op in ('Identity', 'Snapshot') and node.input:
            node = nodes[node.input[0].split(':')[0]]
        return tensor_util.MakeNdarray(node.attr['value'].tensor) if node.op == 'Const' else None

    total = 0
    for node in graph_def.node:
        if node.op in _MAC_OPS or node.op == 'BiasAdd':
            values = [const(node.input[1])]
        elif node.op.startswith('FusedBatchNorm'):
            scale, offset = const(node.input[1]), const(node.input[2])
            # slim's batch norm without a scale shows up as a constant of ones, no parameter.
            unit = scale is None or (not node.attr['is_training'].b and np.all(scale == 1))
            values = [offset, None if unit else scale]
        else:
            continue
        total += sum(int(v.size) for v in values if v is not None)
    return total


def count_parameters(model_or_graph) -> int:
    """Trainable parameters of a Keras model, or of a frozen graph (path or GraphDef)."""
    if hasattr(model_or_graph, 'trainable_weights'):
        return int(sum(int(np.prod(w.shape)) for w in model_or_graph.trainable_weights))
    return _graph_parameters(read_graph_def(model_or_graph))


def architecture_cost(name: str, resolution=(432, 368)) -> Cost:
    """GFLOPs and parameters of zoo architecture ``name``, counted on its Keras model (no weights needed)."""
    width, height = (int(v) for v in resolution)
    model = build_model(name, input_shape=(height, width, 3))
    return Cost(name, (width, height), count_model_flops(model), count_parameters(model))
