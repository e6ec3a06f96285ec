"""PyTorch on the CPU or a CUDA GPU: the frozen graph converted once (torch_convert.py), cached.

The converted program runs as an ``nn.Module`` that needs only torch and numpy (no TensorFlow), in
fp32, or fp16/bf16 on CUDA. Any batch size and input size runs (batches of several cameras).
Activations are channels-last (the NHWC input is so already; tensor cores and mkldnn prefer it);
on CUDA cuDNN autotuning is on and each input shape is captured once as a CUDA graph (the
network is some 250 small kernels whose launches would otherwise cost more than they run);
``maps_on_device`` (CUDA) lets a decoder search the maps on the GPU before they come back
(decoders/original/device_peaks.py).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from tf_pose_ros.config import ConfigError, parse_device
from tf_pose_ros.engines.base import ModelLoadError, PrecisionError, thread_count
from tf_pose_ros.engines.conversion_cache import ConversionCache
from tf_pose_ros.engines.torch_convert import CONVERTER_VERSION, convert, load_program
from tf_pose_ros.parts import NUM_HEATMAPS, NUM_PAFS

_DTYPES = {'fp32': 'float32', 'fp16': 'float16', 'bf16': 'bfloat16'}
#: Input shapes kept as CUDA graphs (each holds its activations); others run eagerly.
MAX_CUDA_GRAPHS = 8
_LOG = logging.getLogger(__name__)


def import_torch():
    """torch, its OpenMP threads told to sleep rather than spin while they wait (when first imported).

    On CPUs shared with other processes (a robot's other nodes) spinning threads fight for the
    cores: measured on 2 busy cores, mobilenet_thin took 869 ms with 2 spinning threads and 211 ms
    with OMP_WAIT_POLICY=PASSIVE. A value set by the user is kept.
    """
    if 'torch' not in sys.modules:
        os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    import torch

    return torch


def torch_device(device: str) -> str:
    """torch's device name for a ``device`` setting; ConfigError naming why a GPU is not usable."""
    torch = import_torch()

    kind, index = parse_device(device)
    cuda = torch.cuda.is_available()
    if kind == 'cpu' or (kind == 'auto' and not cuda):
        return 'cpu'
    if not cuda:
        why = ('this torch %s is built without CUDA (install the CUDA build: docs/engines.md, GPU)' % torch.__version__
               if torch.version.cuda is None else 'torch %s (CUDA %s) sees no GPU (driver, '
               'CUDA_VISIBLE_DEVICES?)' % (torch.__version__, torch.version.cuda))
        raise ConfigError('device %s: %s' % (device, why))
    index = index or 0
    if index >= torch.cuda.device_count():
        raise ConfigError('device %s asked for, but torch sees %d GPU(s)' % (device, torch.cuda.device_count()))
    return 'cuda:%d' % index


def _same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> Tuple[int, int]:
    """TensorFlow's SAME padding (before, after) along one axis: the extra pixel goes after."""
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _legacy_resize_indices(size_in: int, size_out: int, align_corners: bool):
    """Source rows and weights of TensorFlow's bilinear resize without half-pixel centres."""
    scale = (size_in - 1) / (size_out - 1) if align_corners and size_out > 1 else size_in / size_out
    src = np.arange(size_out, dtype=np.float64) * scale
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size_in - 1)
    return low, high, (src - low).astype(np.float32)


def build_module(steps: List[dict], arrays: Dict[str, np.ndarray]):
    """The ``nn.Module`` running a converted program: NHWC float batch in, NHWC maps out."""
    import torch
    import torch.nn.functional as F

    class GraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = steps
            # Constants of the size computations stay numpy on the host; the rest are device buffers.
            host = {step['value'] for step in steps if step['op'] == 'const'}
            for name, array in arrays.items():
                if name not in host:
                    self.register_buffer(name, torch.from_numpy(np.ascontiguousarray(array)))
            self.host = {name: arrays[name] for name in host}
            self._resize_cache: Dict[tuple, tuple] = {}
            self.channels_last = False

        def _operand(self, name: str, values):
            return getattr(self, name[1:]) if name.startswith('=') else values[name]

        def _conv(self, x, step):
            weight, bias = getattr(self, step['weight']), getattr(self, step['bias'])
            stride, dilation = step['stride'], step['dilation']
            padding: object = 0
            if step['padding'] == 'SAME':
                pads = [_same_pads(x.shape[2 + i], weight.shape[2 + i], stride[i], dilation[i]) for i in (0, 1)]
                if pads[0][0] == pads[0][1] and pads[1][0] == pads[1][1]:
                    padding = (pads[0][0], pads[1][0])
                else:  # stride 2 on even sizes: TensorFlow pads one more after than before
                    x = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
            x = F.conv2d(x, weight, bias, stride, padding, dilation, step['groups'])
            return self._act(x, step['act'])

        @staticmethod
        def _act(x, act):
            if act == 'relu':
                return F.relu(x)
            if act == 'relu6':
                return F.hardtanh(x, 0.0, 6.0)
            return x

        def _pool(self, x, step):
            kernel, stride = step['kernel'], step['stride']
            if step['padding'] == 'SAME':
                pads = [_same_pads(x.shape[2 + i], kernel[i], stride[i]) for i in (0, 1)]
                x = F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]),
                          value=-math.inf if step['op'] == 'maxpool' else 0.0)
            if step['op'] == 'maxpool':
                return F.max_pool2d(x, kernel, stride)
            return F.avg_pool2d(x, kernel, stride)

        def _resize(self, x, size, step):
            height, width = (int(v) for v in np.asarray(size).reshape(-1)[:2])
            if step['mode'] == 'nearest' or step['half_pixel_centers']:
                if step['mode'] == 'nearest' and not step['half_pixel_centers'] and not step['align_corners']:
                    return F.interpolate(x, size=(height, width), mode='nearest')
                return F.interpolate(x, size=(height, width), mode=step['mode'],
                                     align_corners=step['align_corners'] if step['mode'] == 'bilinear' else None)
            key = (x.shape[2], x.shape[3], height, width, step['align_corners'], x.device, x.dtype)
            if key not in self._resize_cache:
                rows = _legacy_resize_indices(x.shape[2], height, step['align_corners'])
                cols = _legacy_resize_indices(x.shape[3], width, step['align_corners'])
                self._resize_cache[key] = tuple(
                    (torch.from_numpy(lo).to(x.device), torch.from_numpy(hi).to(x.device),
                     torch.from_numpy(w).to(x.device, x.dtype)) for lo, hi, w in (rows, cols))
            (r_lo, r_hi, r_w), (c_lo, c_hi, c_w) = self._resize_cache[key]
            top, bottom = x.index_select(2, r_lo), x.index_select(2, r_hi)
            x = top + (bottom - top) * r_w.view(1, 1, -1, 1)
            left, right = x.index_select(3, c_lo), x.index_select(3, c_hi)
            return left + (right - left) * c_w.view(1, 1, 1, -1)

        def _host(self, step, values):
            args = [values[name] for name in step['ins']]
            kind = step['kind']
            if kind == 'Shape':
                x = args[0]
                return np.array([x.shape[0], x.shape[2], x.shape[3], x.shape[1]], np.int32)  # NHWC
            if kind == 'StridedSlice':
                if any(step['attr'].get(m, 0) for m in ('ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask')):
                    raise ModelLoadError('StridedSlice with masks is not supported by the torch engine')
                begin, end, strides = (np.asarray(a).reshape(-1) for a in args[1:4])
                index = tuple(slice(None if step['attr'].get('begin_mask', 0) >> i & 1 else int(begin[i]),
                                    None if step['attr'].get('end_mask', 0) >> i & 1 else int(end[i]),
                                    int(strides[i])) for i in range(len(begin)))
                return np.asarray(args[0])[index]
            if kind == 'Fill':
                return np.full(np.asarray(args[0]).reshape(-1), args[1])
            if kind == 'Pack':
                return np.stack([np.asarray(a) for a in args], axis=step['attr'].get('axis', 0))
            if kind == 'Cast':
                return np.asarray(args[0])
            if kind == 'Mul':
                return np.asarray(args[0]) * np.asarray(args[1])
            return np.asarray(args[0]) + np.asarray(args[1])  # Add, AddV2

        def forward(self, batch):
            values: Dict[str, object] = {}
            x = None
            for step in self.steps:
                op = step['op']
                if op == 'conv':
                    x = self._conv(values[step['in']], step)
                elif op == 'input':
                    # The NHWC batch viewed as NCHW is channels-last: convolutions stay so on CUDA.
                    x = batch.permute(0, 3, 1, 2)
                    x = x if self.channels_last else x.contiguous()
                elif op == 'act':
                    x = self._act(values[step['in']], step['act'])
                elif op in ('maxpool', 'avgpool'):
                    x = self._pool(values[step['in']], step)
                elif op == 'concat':
                    x = torch.cat([values[name] for name in step['ins']], dim=step['axis'])
                elif op == 'binary':
                    a, b = (self._operand(name, values) for name in step['ins'])
                    x = {'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div,
                         'maximum': torch.maximum, 'minimum': torch.minimum}[step['kind']](a, b)
                elif op == 'affine':
                    x = values[step['in']] * getattr(self, step['scale']) + getattr(self, step['offset'])
                elif op == 'batch_stats_norm':
                    y = values[step['in']]
                    var, mean = torch.var_mean(y.float(), dim=(2, 3), keepdim=True, correction=0)
                    scale = getattr(self, step['scale']).view(1, -1, 1, 1) * torch.rsqrt(var + step['eps'])
                    x = (y * scale.to(y.dtype) + (getattr(self, step['offset']).view(1, -1, 1, 1)
                                                  - mean * scale).to(y.dtype))
                elif op == 'pad':
                    x = F.pad(values[step['in']], step['pad'], mode=step['mode'])
                elif op == 'resize':
                    x = self._resize(values[step['in']], values[step['size']], step)
                elif op == 'host':
                    x = self._host(step, values)
                elif op == 'const':
                    x = self.host[step['value']]
                elif op == 'output':
                    return values[step['in']].permute(0, 2, 3, 1)
                values[step['out']] = x
            raise ModelLoadError('the converted program has no output step')

    return GraphModule()


#: The cache variant of the converted program (one for every input size).
PROGRAM_VARIANT = 'program'


def program_cache(weights: Path) -> ConversionCache:
    """The conversion cache entry of ``weights``' program for the installed torch."""
    torch = import_torch()
    return ConversionCache(Path(weights), 'torch', CONVERTER_VERSION + '-torch' + torch.__version__.split('+')[0])


def _convert_entry(weights: Path, stem: Path) -> List[str]:
    convert(weights, Path(str(stem) + '.npz'))
    return ['.npz']


class TorchNetwork:
    """A tf-pose graph as a PyTorch module: any batch and input size, CPU or CUDA, fp32/fp16/bf16."""

    backend = 'torch'
    batches = True

    def __init__(self, weights: Path, device: str = 'auto', precision: str = 'fp32', threads: int = 0,
                 cuda_graphs: bool = True):
        torch = import_torch()

        self._torch = torch
        self._device = torch_device(device)
        cuda = self._device.startswith('cuda')
        self.device = '/GPU:%s' % self._device.split(':')[1] if cuda else '/CPU:0'
        if precision != 'fp32' and not cuda:
            raise PrecisionError('precision %s: the torch backend runs fp16 and bf16 on a CUDA GPU only '
                                 '(this network runs on the CPU, device %s)' % (precision, device))
        if precision == 'bf16' and not torch.cuda.is_bf16_supported():
            raise PrecisionError('precision bf16: %s has no bf16 (use fp16)' % torch.cuda.get_device_name(self._device))
        self.precision = precision
        self._dtype = getattr(torch, _DTYPES[precision])
        if not cuda:
            torch.set_num_threads(thread_count(threads))
        #: True when the maps stay on a GPU, where torch_postprocess finds the peaks.
        self.maps_on_device = cuda
        self.path = Path(weights)
        try:
            steps, arrays = program_cache(self.path).load(PROGRAM_VARIANT, partial(_convert_entry, self.path),
                                       lambda files: load_program(files['.npz']), (ValueError, KeyError, OSError))
        except (ValueError, KeyError, OSError) as err:
            raise ModelLoadError('torch cannot load the program converted from %s: %s' % (weights, err)) from None
        try:
            module = build_module(steps, arrays).eval().to(self._device, self._dtype)
        except torch.cuda.OutOfMemoryError as err:
            raise ModelLoadError('CUDA out of memory loading %s on %s: %s' % (weights, self._device, err)) from None
        if cuda:
            torch.backends.cudnn.benchmark = True  # fixed input sizes: the fastest kernels are found once
        # Channels-last on the CPU too: mkldnn runs this network 1.4x faster so (measured).
        module.channels_last = True
        self._module: Any = module  # None once closed
        self._graphs: Dict[tuple, Optional[tuple]] = {}  # shape -> (graph, input, output), None: eager
        self._cuda_graphs = cuda and cuda_graphs

    def device_maps(self, batch: np.ndarray):
        """The network output of an N x H x W x 3 batch as a torch tensor on the network's device."""
        torch = self._torch
        if self._module is None:
            raise RuntimeError('the network is closed')
        if batch.ndim != 4 or batch.shape[3] != 3:
            raise ValueError('batch of shape %s: this network takes N x H x W x 3' % (batch.shape,))
        try:
            # On gpu:N the CUDA graphs are captured and replayed on that GPU's streams.
            with torch.inference_mode(), (torch.cuda.device(self._device) if self._cuda_graphs
                                          else contextlib.nullcontext()):
                x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
                x = x.to(self._device, non_blocking=True).to(self._dtype)
                graph = self._graph(x) if self._cuda_graphs else None
                if graph is None:
                    out = self._module(x)
                else:
                    graph[1].copy_(x)
                    graph[0].replay()
                    out = graph[2].clone()  # the graph's output is overwritten by its next replay
        except torch.cuda.OutOfMemoryError as err:
            raise RuntimeError('CUDA out of memory running the network on %s (batch %s): %s'
                               % (self._device, tuple(batch.shape), str(err).splitlines()[0])) from None
        if out.shape[-1] != NUM_HEATMAPS + NUM_PAFS:
            raise ModelLoadError('%s outputs %d channels, expected %d (19 heatmaps + 38 PAFs)'
                                 % (self.path, out.shape[-1], NUM_HEATMAPS + NUM_PAFS))
        return out

    def prepare(self, sizes) -> None:
        """Nothing to do: this engine takes any input size."""

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.to_host(self.device_maps(batch))

    def to_host(self, maps) -> np.ndarray:
        """A device_maps result as float32 numpy on the host."""
        return maps.float().cpu().numpy()

    def _graph(self, x) -> Optional[tuple]:
        """The CUDA graph for inputs shaped like ``x``, captured on first sight; None: run eagerly."""
        torch = self._torch
        key = tuple(x.shape)
        if key not in self._graphs:
            if len(self._graphs) >= MAX_CUDA_GRAPHS:
                return None
            self._graphs[key] = None
            try:
                static_in = x.clone()
                stream = torch.cuda.Stream(self._device)
                stream.wait_stream(torch.cuda.current_stream(self._device))
                with torch.cuda.stream(stream):
                    for _ in range(3):  # cuDNN autotuning and the module's caches, before capture
                        self._module(static_in)
                torch.cuda.current_stream(self._device).wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    static_out = self._module(static_in)
                self._graphs[key] = (graph, static_in, static_out)
            except torch.cuda.OutOfMemoryError:
                raise
            except RuntimeError as err:  # capture refused: eager runs give the same maps
                _LOG.warning('torch engine: no CUDA graph for input %s (%s); running eagerly', key, err)
        return self._graphs[key]

    def close(self) -> None:
        self._module = None
        self._graphs.clear()
        gc.collect()
        if self._device.startswith('cuda'):
            self._torch.cuda.empty_cache()
