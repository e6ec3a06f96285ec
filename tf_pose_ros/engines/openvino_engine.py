"""OpenVINO on the CPU: the frozen graph converted to OpenVINO IR once, cached, compiled per size."""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
from functools import partial
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import format_resolution
from tf_pose_ros.engines.base import HostMaps, ModelLoadError, PrecisionError, check_batch, input_shape, thread_count
from tf_pose_ros.engines.conversion_cache import ConversionCache
from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR

#: Our precision names -> OpenVINO's INFERENCE_PRECISION_HINT and its CPU capability name.
_HINTS = {'fp32': ('f32', 'FP32'), 'bf16': ('bf16', 'BF16'), 'fp16': ('f16', 'FP16')}


@functools.lru_cache(maxsize=1)
def supported_precisions() -> Tuple[str, ...]:
    """The precisions OpenVINO's CPU plugin runs natively on this CPU."""
    import openvino as ov

    capabilities = set(ov.Core().get_property('CPU', 'OPTIMIZATION_CAPABILITIES'))
    return tuple(name for name, (_, capability) in _HINTS.items() if capability in capabilities)


def _cpu_vendor_and_flags() -> Tuple[str, FrozenSet[str]]:
    """The first CPU's vendor_id and flags from /proc/cpuinfo ('' and none where there is no such file)."""
    vendor, flags = '', frozenset[str]()
    try:
        lines = Path('/proc/cpuinfo').read_text().splitlines()
    except OSError:
        return vendor, flags
    for line in lines:
        key, _, value = line.partition(':')
        if key.strip() == 'vendor_id' and not vendor:
            vendor = value.strip()
        elif key.strip() == 'flags':
            flags = frozenset(value.split())
            break
    return vendor, flags


@functools.lru_cache(maxsize=1)
def bf16_is_fast() -> bool:
    """Whether OpenVINO runs bf16 faster than fp32 on this CPU, by the CPUs measured: one with AMX
    (bf16 matrix units), or an AMD CPU with AVX512_BF16 (a Zen 5 here: about half fp32's time). An
    Intel CPU with AVX512_BF16 but no AMX ran bf16 at 1.6x fp32's time (docs/engines.md), so having
    the instructions alone does not count."""
    if 'bf16' not in supported_precisions():
        return False
    vendor, flags = _cpu_vendor_and_flags()
    return 'amx_bf16' in flags or (vendor == 'AuthenticAMD' and 'avx512_bf16' in flags)


@contextlib.contextmanager
def _root_logging_kept():
    """Undo what OpenVINO's converter does to the root logger when it fails (level ERROR, a handler)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers


def _convert(weights: Path, size: Tuple[int, int], stem: Path) -> List[str]:
    import openvino as ov

    # The converter wants the tensor names with ':0' and a static input shape.
    with _root_logging_kept():
        model = ov.convert_model(str(weights), input=[(INPUT_TENSOR, list(input_shape(size)))],
                                 output=[OUTPUT_TENSOR])
    # save_model would store fp16 weights by default; keep them exact.
    ov.save_model(model, str(stem) + '.xml', compress_to_fp16=False)
    return ['.xml', '.bin']


class OpenVinoNetwork(HostMaps):
    """A tf-pose graph compiled by OpenVINO for each input size (static shapes run fastest)."""

    backend = 'openvino'
    device = '/CPU:0'
    batches = False  # compiled for batch 1 (static shapes run fastest)

    def __init__(self, weights: Path, sizes: Sequence[Tuple[int, int]], precision: str = 'fp32',
                 threads: int = 0):
        import openvino as ov

        supported = supported_precisions()
        if precision not in supported:
            raise PrecisionError('precision %s: OpenVINO cannot run it on this CPU, which supports %s'
                                 % (precision, ', '.join(supported)))
        self.precision = precision
        self.threads = thread_count(threads)
        self._core = ov.Core()
        # Set explicitly: OpenVINO runs bf16 on CPUs that have it unless told f32.
        self._weights = weights
        self._cache = ConversionCache(weights, 'openvino', ov.get_version().split('-')[0])
        self._settings = {'INFERENCE_PRECISION_HINT': _HINTS[precision][0], 'INFERENCE_NUM_THREADS': self.threads,
                          'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': 1}
        self._requests: Dict[Tuple[int, int], Any] = {}
        self.prepare(sizes)

    def prepare(self, sizes: Sequence[Tuple[int, int]]) -> None:
        """Compile the network for each of ``sizes`` not compiled yet (converted once per size, cached)."""
        weights, cache, settings = self._weights, self._cache, self._settings
        for size in dict.fromkeys((int(s[0]), int(s[1])) for s in sizes):
            if size in self._requests:
                continue
            try:
                compiled = cache.load(format_resolution(size), partial(_convert, weights, size),
                                      lambda files: self._compile(files['.xml'], settings), (RuntimeError,))
            except RuntimeError as err:
                raise ModelLoadError('OpenVINO cannot load %s: %s' % (weights, err)) from None
            except Exception as err:  # the converter raises its own error types
                raise ModelLoadError('OpenVINO cannot convert %s: it is not a TensorFlow frozen graph with '
                                     'tensors %s and %s (%s)' % (weights, INPUT_TENSOR, OUTPUT_TENSOR,
                                                                 str(err).strip().splitlines()[-1:])) from None
            self._requests[size] = compiled.create_infer_request()

    def _compile(self, xml: Path, settings):
        model = self._core.read_model(str(xml))
        return self._core.compile_model(model, 'CPU', settings)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return run_request(self._requests, batch)

    def close(self) -> None:
        self._requests.clear()
        self._core = None
        gc.collect()


def run_request(requests: Dict[Tuple[int, int], Any], batch: np.ndarray) -> np.ndarray:
    """The maps of ``batch`` from the infer request compiled for its size (one of ``requests``, by size)."""
    request = requests[check_batch(batch, requests)]
    request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
    # The output tensor is reused by the next inference: hand out a copy.
    return request.get_output_tensor(0).data.copy()
