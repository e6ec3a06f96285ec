"""A tf-pose frozen graph -> a small program of tensor ops and their weights, without TensorFlow.

``python -m tf_pose_ros.engines.torch_convert --skeleton GRAPH OUT.json`` writes the program with
its large weights left out (their shapes kept): a few kB that stand in for a model whose weights
are too large to carry (cmu: 200 MB) when only its speed is measured (gpu_bench.py --skeleton).

The frozen graph is read with a minimal protobuf wire-format reader (GraphDef, NodeDef, AttrValue,
TensorProto: the few fields these graphs use), so the conversion runs wherever numpy does, e.g. on
a GPU machine that has PyTorch but no TensorFlow. Batch norms, bias adds and activations that
follow a convolution are folded into it; what is left is a list of steps in execution order, each
naming its inputs, saved as one .npz (``program``: the steps as JSON; ``w<i>``: the weights) that
torch_engine.py turns into an ``nn.Module``. Activations are kept NCHW there: concat axes, paddings
and constants are converted to that layout here.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from tf_pose_ros.engines.base import ModelLoadError
from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR

#: Bump when the program format or the folding changes: cached conversions are then rebuilt.
CONVERTER_VERSION = '1'

# --- protobuf wire format -------------------------------------------------------------------------

_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError('malformed varint')


def _fields(data: bytes):
    """(field number, wire type, value) of each field of one message; value is int or bytes."""
    pos, end = 0, len(data)
    value: Any
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError('unsupported wire type %d' % wire)
        if pos > end:
            raise ValueError('truncated message')
        yield number, wire, value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _packed_ints(wire: int, value) -> List[int]:
    if wire == 0:
        return [_signed(value)]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(_signed(item))
    return out


def _packed_floats(wire: int, value) -> List[float]:
    return list(struct.unpack('<%df' % (len(value) // 4), value))


def _shape(data: bytes) -> List[int]:
    dims = []
    for number, _, value in _fields(data):
        if number == 2:
            dims.append(next((_signed(v) for n, _, v in _fields(value) if n == 1), 0))
    return dims


def _tensor(data: bytes) -> np.ndarray:
    dtype, shape, content = 1, [], None
    values: List[Any] = []
    for number, wire, value in _fields(data):
        if number == 1:
            dtype = value
        elif number == 2:
            shape = _shape(value)
        elif number == 4:
            content = value
        elif number == 5:
            values += _packed_floats(wire, value)
        elif number in (7, 10, 11):
            values += _packed_ints(wire, value)
    if dtype not in _DTYPES:
        raise ValueError('tensor of unsupported dtype %d' % dtype)
    np_dtype = _DTYPES[dtype]
    size = int(np.prod(shape)) if shape else 1
    array: np.ndarray
    if content is not None:
        array = np.frombuffer(content, dtype=np_dtype).copy()
    elif values:
        # TensorFlow's short form: the last value repeats to fill the shape.
        array = np.asarray(values + [values[-1]] * (size - len(values)), dtype=np_dtype)
    else:
        array = np.zeros(size, np_dtype)
    return array.reshape(shape)


def _attr(data: bytes) -> Any:
    for number, _, value in _fields(data):
        if number == 1:  # list: the ints (strides, ksize) are all these graphs use
            ints: List[int] = []
            for n, w, v in _fields(value):
                if n == 3:
                    ints += _packed_ints(w, v)
            return ints
        if number == 2:
            return value.decode('utf-8', 'replace')
        if number in (3, 6):
            return _signed(value)
        if number == 4:
            return struct.unpack('<f', value)[0]
        if number == 5:
            return bool(value)
        if number == 8:
            return _tensor(value)
    return None


def read_graph(data: bytes) -> List[dict]:
    """A serialized GraphDef -> its nodes as {'name', 'op', 'inputs', 'attr'} dicts."""
    nodes = []
    for number, _, node_data in _fields(data):
        if number != 1:
            continue
        node: Dict[str, Any] = {'name': '', 'op': '', 'inputs': [], 'attr': {}}
        for n, _, value in _fields(node_data):
            if n == 1:
                node['name'] = value.decode()
            elif n == 2:
                node['op'] = value.decode()
            elif n == 3:
                node['inputs'].append(value.decode())
            elif n == 5:
                entry = dict((k, v) for k, _, v in _fields(value))
                node['attr'][entry.get(1, b'').decode()] = _attr(entry.get(2, b''))
        nodes.append(node)
    return nodes


# --- folding into a program -------------------------------------------------------------------------

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2, -4: 0}
_TENSOR_ELEMENTWISE = {'BiasAdd': 'add', 'Add': 'add', 'AddV2': 'add', 'Sub': 'sub', 'Mul': 'mul', 'RealDiv': 'div',
                       'Maximum': 'maximum', 'Minimum': 'minimum'}
_HOST_OPS = ('Shape', 'StridedSlice', 'Fill', 'Pack', 'Cast', 'Mul', 'Add', 'AddV2')


def _source(name: str) -> str:
    """'node:0' / '^node' -> 'node' (these graphs use first outputs only)."""
    return name.lstrip('^').split(':')[0]


class _Builder:
    def __init__(self, nodes: List[dict]):
        self.nodes = {n['name']: n for n in nodes}
        self.steps: List[dict] = []
        self.weights: List[np.ndarray] = []
        self.alias: Dict[str, str] = {}  # folded node -> the step output that holds its value
        self.consts: Dict[str, np.ndarray] = {}
        self.host: set = set()  # small integer values computed on the host (sizes)
        self.consumers: Dict[str, int] = {}
        self.done: set = set()  # nodes computed by a step already (folded into a convolution)

    def weight(self, array: np.ndarray) -> str:
        self.weights.append(np.ascontiguousarray(array, dtype=np.float32 if array.dtype.kind == 'f' else None))
        return 'w%d' % (len(self.weights) - 1)

    def value(self, name: str) -> str:
        name = _source(name)
        while name in self.alias:
            name = self.alias[name]
        return name

    def const(self, name: str) -> Optional[np.ndarray]:
        return self.consts.get(self.value(name))

    def sole_consumer(self, name: str, order: List[str]) -> Optional[dict]:
        if self.consumers.get(name, 0) != 1:
            return None
        for other in order:
            node = self.nodes[other]
            if any(_source(i) == name for i in node['inputs'] if not i.startswith('^')):
                return node
        return None


def _order(nodes: Dict[str, dict], output: str) -> List[str]:
    """The nodes the output depends on, each after its inputs."""
    order: List[str] = []
    state: Dict[str, int] = {}
    stack = [(output, False)]
    while stack:
        name, done = stack.pop()
        if done:
            state[name] = 2
            order.append(name)
            continue
        if state.get(name):
            continue
        if name not in nodes:
            raise ModelLoadError('the graph has no node %r (needed for %s)' % (name, output))
        state[name] = 1
        stack.append((name, True))
        for dep in reversed(nodes[name]['inputs']):
            if not state.get(_source(dep)):
                stack.append((_source(dep), False))
    return order


def _conv_step(b: _Builder, node: dict, order: List[str]) -> None:
    op = node['op']
    kernel = b.const(node['inputs'][1])
    if kernel is None:
        raise ModelLoadError('%s: %s with a computed filter is not supported' % (node['name'], op))
    if node['attr'].get('data_format', 'NHWC') != 'NHWC':
        raise ModelLoadError('%s: only NHWC graphs are supported' % node['name'])
    kh, kw = kernel.shape[:2]
    if op == 'Conv2D':
        weight = kernel.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        groups = 1
    else:  # DepthwiseConv2dNative: H W C M -> (C*M) 1 H W, output channel c*M + m as in TF
        weight = kernel.reshape(kh, kw, -1).transpose(2, 0, 1)[:, None]
        groups = kernel.shape[2]
    weight = weight.astype(np.float64)
    bias = np.zeros(weight.shape[0], np.float64)
    strides = node['attr'].get('strides') or [1, 1, 1, 1]
    dilations = node['attr'].get('dilations') or [1, 1, 1, 1]
    act = None
    chain = [node['name']]
    while act is None:
        nxt = b.sole_consumer(chain[-1], order)
        if nxt is None or (_source(nxt['inputs'][0]) != chain[-1] and nxt['op'] not in ('Add', 'AddV2')):
            break
        kind = nxt['op']
        other = [b.const(i) for i in nxt['inputs'] if _source(i) != chain[-1]]
        if kind in ('BiasAdd', 'Add', 'AddV2'):
            if len(other) != 1 or other[0] is None or other[0].size not in (1, bias.size) or other[0].ndim > 1:
                break
            bias = bias + other[0].astype(np.float64)
        elif kind == 'Mul':
            if len(other) != 1 or other[0] is None or other[0].size not in (1, bias.size) or other[0].ndim > 1:
                break
            factor = other[0].astype(np.float64).reshape(-1)
            weight = weight * (factor.reshape(-1, 1, 1, 1) if factor.size > 1 else factor[0])
            bias = bias * factor
        elif kind.startswith('FusedBatchNorm'):
            if nxt['attr'].get('is_training', False) or not all(o is not None and o.size == bias.size
                                                                 for o in other[:4]):
                break  # batch statistics: computed at run time (batch_stats_norm)
            gamma, beta, mean, var = (np.asarray(o, np.float64) for o in other[:4])
            scale = gamma / np.sqrt(var + float(nxt['attr'].get('epsilon', 1e-3)))
            weight = weight * scale.reshape(-1, 1, 1, 1)
            bias = (bias - mean) * scale + beta
        elif kind in ('Relu', 'Relu6'):
            act = kind.lower()
        else:
            break
        chain.append(nxt['name'])
    for folded in chain[:-1]:
        b.alias[folded] = chain[-1]
    b.done.update(chain)
    b.steps.append({'op': 'conv', 'in': b.value(node['inputs'][0]), 'out': chain[-1],
                    'weight': b.weight(weight), 'bias': b.weight(bias), 'stride': [strides[1], strides[2]],
                    'dilation': [dilations[1], dilations[2]], 'padding': node['attr'].get('padding', 'VALID'),
                    'groups': int(groups), 'act': act})


def _nchw_const(array: np.ndarray) -> np.ndarray:
    """A constant operand of an NHWC elementwise op, shaped to broadcast over NCHW."""
    if array.ndim <= 1:
        return array.reshape(1, -1, 1, 1) if array.size > 1 else array.reshape(())
    if array.ndim == 4:
        return array.transpose(0, 3, 1, 2)
    raise ValueError('constant of shape %s' % (array.shape,))


def build_program(nodes: List[dict], input_name: str, output_name: str) -> Tuple[List[dict], List[np.ndarray]]:
    """The steps computing ``output_name`` from ``input_name``, and the weights they name."""
    b = _Builder(nodes)
    order = _order(b.nodes, output_name)
    if input_name not in order:
        raise ModelLoadError('the output %s does not depend on the input %s' % (output_name, input_name))
    for name in order:
        if b.nodes[name]['op'] == 'Const':
            b.consts[name] = b.nodes[name]['attr'].get('value')
        for dep in b.nodes[name]['inputs']:
            if not dep.startswith('^'):
                b.consumers[_source(dep)] = b.consumers.get(_source(dep), 0) + 1
    for name in order:
        node = b.nodes[name]
        op, attr = node['op'], node['attr']
        inputs = [i for i in node['inputs'] if not i.startswith('^')]
        if name in b.done:
            continue  # folded into an earlier step
        if op == 'Const':
            continue
        if op in ('Placeholder', 'PlaceholderWithDefault') and name == input_name:
            b.steps.append({'op': 'input', 'out': name})
            continue
        if op in ('Identity', 'StopGradient'):
            b.alias[name] = _source(inputs[0])
            if _source(inputs[0]) in b.consts:
                b.consts[name] = b.consts[_source(inputs[0])]
            continue
        host_inputs = [b.value(i) in b.consts or b.value(i) in b.host for i in inputs]
        if op in _HOST_OPS and (op == 'Shape' or all(host_inputs)):
            b.host.add(name)
            b.steps.append({'op': 'host', 'kind': op, 'ins': [b.value(i) for i in inputs], 'out': name,
                            'attr': {k: v for k, v in attr.items() if isinstance(v, (int, float, str, list))}})
            for i in inputs:
                if b.value(i) in b.consts and b.value(i) not in b.host:
                    b.host.add(b.value(i))
                    b.steps.insert(0, {'op': 'const', 'out': b.value(i), 'value': b.weight(b.consts[b.value(i)])})
            continue
        if op in ('Conv2D', 'DepthwiseConv2dNative'):
            _conv_step(b, node, order)
        elif op in ('Relu', 'Relu6'):
            b.steps.append({'op': 'act', 'in': b.value(inputs[0]), 'out': name, 'act': op.lower()})
        elif op in ('MaxPool', 'AvgPool'):
            ksize, strides = attr['ksize'], attr['strides']
            b.steps.append({'op': op.lower(), 'in': b.value(inputs[0]), 'out': name, 'kernel': ksize[1:3],
                            'stride': strides[1:3], 'padding': attr.get('padding', 'VALID')})
        elif op == 'ConcatV2':
            axis_value = b.const(inputs[-1])
            if axis_value is None:
                raise ModelLoadError('%s: concatenation along a computed axis is not supported' % name)
            axis = int(axis_value)
            b.steps.append({'op': 'concat', 'ins': [b.value(i) for i in inputs[:-1]], 'out': name,
                            'axis': _NHWC_TO_NCHW_AXIS[axis]})
        elif op in _TENSOR_ELEMENTWISE:
            consts = [b.const(i) for i in inputs]
            step: Dict[str, Any] = {'op': 'binary', 'kind': _TENSOR_ELEMENTWISE[op], 'out': name, 'ins': []}
            for i, value in zip(inputs, consts):
                step['ins'].append(b.value(i) if value is None else '=' + b.weight(_nchw_const(value)))
            b.steps.append(step)
        elif op.startswith('FusedBatchNorm'):
            params = [b.const(i) for i in inputs[1:5]]
            if any(p is None for p in params):
                raise ModelLoadError('%s: batch norm with computed parameters is not supported' % name)
            gamma, beta, mean, var = (np.asarray(p, np.float32) for p in params)
            eps = float(attr.get('epsilon', 1e-3))
            if attr.get('is_training', False):
                # Normalised by the statistics of the input itself (tf-pose's mobilenet_v2 graphs
                # were frozen so): here per image, which equals TensorFlow for one image and keeps
                # every image of a batch independent of the others.
                b.steps.append({'op': 'batch_stats_norm', 'in': b.value(inputs[0]), 'out': name, 'eps': eps,
                                'scale': b.weight(gamma), 'offset': b.weight(beta)})
            else:
                scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
                b.steps.append({'op': 'affine', 'in': b.value(inputs[0]), 'out': name,
                                'scale': b.weight(_nchw_const(scale)),
                                'offset': b.weight(_nchw_const(beta - mean * scale))})
        elif op in ('Pad', 'MirrorPad'):
            pads = b.const(inputs[1])
            if pads is None or pads.shape != (4, 2) or pads[0].any() or pads[3].any():
                raise ModelLoadError('%s: only constant spatial padding is supported' % name)
            b.steps.append({'op': 'pad', 'in': b.value(inputs[0]), 'out': name,
                            'pad': [int(pads[2, 0]), int(pads[2, 1]), int(pads[1, 0]), int(pads[1, 1])],
                            'mode': 'constant' if op == 'Pad' else attr.get('mode', 'REFLECT').lower()})
        elif op in ('ResizeBilinear', 'ResizeNearestNeighbor'):
            size = b.value(inputs[1])
            if size in b.consts and size not in b.host:
                b.host.add(size)
                b.steps.insert(0, {'op': 'const', 'out': size, 'value': b.weight(b.consts[size])})
            b.steps.append({'op': 'resize', 'in': b.value(inputs[0]), 'size': size, 'out': name,
                            'mode': 'bilinear' if op == 'ResizeBilinear' else 'nearest',
                            'align_corners': bool(attr.get('align_corners', False)),
                            'half_pixel_centers': bool(attr.get('half_pixel_centers', False))})
        else:
            raise ModelLoadError('%s: op %s is not supported by the torch engine' % (name, op))
    output = b.value(output_name)
    b.steps.append({'op': 'output', 'in': output})
    return b.steps, b.weights


def convert(weights: Path, out: Path) -> None:
    """Write the program of the frozen graph ``weights`` to ``out`` (.npz)."""
    try:
        data = Path(weights).read_bytes()
    except OSError as err:
        raise ModelLoadError('cannot read model file %s: %s' % (weights, err)) from None
    try:
        nodes = read_graph(data)
    except (ValueError, IndexError, UnicodeDecodeError, struct.error) as err:
        raise ModelLoadError('%s is not a TensorFlow frozen graph (%s)' % (weights, err)) from None
    if not nodes:
        raise ModelLoadError('%s holds an empty graph' % weights)
    input_name, output_name = INPUT_TENSOR.split(':')[0], OUTPUT_TENSOR.split(':')[0]
    if not any(n['name'] == input_name for n in nodes) or not any(n['name'] == output_name for n in nodes):
        raise ModelLoadError('%s is not a tf-pose graph (needs tensors %s and %s)'
                             % (weights, INPUT_TENSOR, OUTPUT_TENSOR))
    steps, arrays = build_program(nodes, input_name, output_name)
    save_program(steps, {'w%d' % i: a for i, a in enumerate(arrays)}, out)


def save_program(steps: List[dict], arrays: Dict[str, np.ndarray], out: Path) -> None:
    """Write a program and its weights as one .npz (what load_program reads)."""
    program = np.frombuffer(json.dumps({'version': CONVERTER_VERSION, 'steps': steps}).encode(), np.uint8)
    entries: Dict[str, Any] = dict(arrays)
    with open(out, 'wb') as f:
        np.savez(f, program=program, **entries)


def load_program(path: Path) -> Tuple[List[dict], Dict[str, np.ndarray]]:
    """(steps, weights by name) of a converted file; ValueError when it is not one."""
    with np.load(path, allow_pickle=False) as archive:
        program = json.loads(archive['program'].tobytes().decode())
        if program.get('version') != CONVERTER_VERSION:
            raise ValueError('converted by another version (%r)' % program.get('version'))
        arrays = {name: archive[name] for name in archive.files if name != 'program'}
    return program['steps'], arrays


#: Weights up to this many values stay in a skeleton (input scaling constants, small shapes).
SKELETON_KEEP = 64


def skeleton(steps: List[dict], arrays: Dict[str, np.ndarray]) -> dict:
    """The program with weights over SKELETON_KEEP values replaced by their shapes."""
    kept = {name: a.tolist() for name, a in arrays.items() if a.size <= SKELETON_KEEP}
    dtypes = {name: str(a.dtype) for name, a in arrays.items() if a.size <= SKELETON_KEEP}
    shapes = {name: list(a.shape) for name, a in arrays.items() if a.size > SKELETON_KEEP}
    return {'version': CONVERTER_VERSION, 'steps': steps, 'kept': kept, 'dtypes': dtypes, 'shapes': shapes}


def random_weights(program: dict, seed: int = 0) -> Dict[str, np.ndarray]:
    """Weights for a skeleton: filters normal with variance 1/fan-in, scales 1, offsets 0.

    The maps are meaningless but finite, and the network costs what the real one costs.
    """
    rng = np.random.default_rng(seed)
    ones = {step[key] for step in program['steps'] for key in ('scale',) if key in step}
    arrays = {name: np.asarray(value, dtype=program['dtypes'][name]) for name, value in program['kept'].items()}
    for name, shape in program['shapes'].items():
        if len(shape) == 4:  # a filter, OIHW
            fan_in = int(np.prod(shape[1:]))
            arrays[name] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape).astype(np.float32)
        else:
            arrays[name] = np.full(shape, 1.0 if name in ones else 0.0, np.float32)
    return arrays


def main(argv=None) -> int:
    """``--skeleton GRAPH OUT.json``: write the skeleton of a frozen graph."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != '--skeleton':
        print(__doc__.split('``')[1], file=sys.stderr)
        return 2
    graph, out = Path(args[1]), Path(args[2])
    steps, arrays = build_program(read_graph(graph.read_bytes()), INPUT_TENSOR.split(':')[0],
                                  OUTPUT_TENSOR.split(':')[0])
    out.write_text(json.dumps(skeleton(steps, {'w%d' % i: a for i, a in enumerate(arrays)})))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
