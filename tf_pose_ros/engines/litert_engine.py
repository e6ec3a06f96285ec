"""LiteRT (TensorFlow Lite with XNNPACK) on the CPU: one converted model per input size.

The conversion needs TensorFlow; it runs once per weights and size in a child process
(litert_convert.py), so a node running LiteRT never loads TensorFlow itself.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tf_pose_ros.config import format_resolution
from tf_pose_ros.engines.base import HostMaps, ModelLoadError, PrecisionError, check_batch, thread_count
from tf_pose_ros.engines.conversion_cache import ConversionCache

CONVERT_TIMEOUT_S = 600


def _litert_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version('ai-edge-litert')
    except PackageNotFoundError:
        return 'unknown'


def _convert(weights: Path, size: Tuple[int, int], stem: Path) -> List[str]:
    out = str(stem) + '.tflite'
    cmd = [sys.executable, '-m', 'tf_pose_ros.engines.litert_convert', str(weights), format_resolution(size), out]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelLoadError('converting %s for LiteRT took over %d s' % (weights, CONVERT_TIMEOUT_S)) from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        raise ModelLoadError('converting %s for LiteRT failed: %s' % (weights, lines[-1] if lines else
                                                                      'exit %d' % proc.returncode))
    return ['.tflite']


class LiteRtNetwork(HostMaps):
    """A tf-pose graph as LiteRT models (fixed input shape each), run with XNNPACK."""

    backend = 'litert'
    device = '/CPU:0'
    batches = False  # compiled for batch 1 (static shapes run fastest)

    def __init__(self, weights: Path, sizes: Sequence[Tuple[int, int]], precision: str = 'fp32',
                 threads: int = 0):
        if precision != 'fp32':
            raise PrecisionError('precision %s: the litert backend runs fp32 only (bf16 runs with '
                                 'backend openvino where the CPU supports it)' % precision)
        self.precision = precision
        self.threads = thread_count(threads)
        self._weights = weights
        self._cache = ConversionCache(weights, 'litert', _litert_version())
        self._interpreters: Dict[Tuple[int, int], tuple] = {}
        self.prepare(sizes)

    def prepare(self, sizes: Sequence[Tuple[int, int]]) -> None:
        """Open a model for each of ``sizes`` not open yet (converted once per size, cached)."""
        from ai_edge_litert.interpreter import Interpreter

        weights, cache = self._weights, self._cache
        for size in dict.fromkeys((int(s[0]), int(s[1])) for s in sizes):
            if size in self._interpreters:
                continue
            try:
                interpreter = cache.load(format_resolution(size), partial(_convert, weights, size),
                                         lambda files: self._open(Interpreter, files['.tflite']),
                                         (ValueError, RuntimeError))
            except ModelLoadError:
                raise  # the conversion's own, clear error
            except (ValueError, RuntimeError) as err:
                raise ModelLoadError('LiteRT cannot load the model converted from %s: %s'
                                     % (weights, err)) from None
            self._interpreters[size] = (interpreter, interpreter.get_input_details()[0]['index'],
                                        interpreter.get_output_details()[0]['index'])

    def _open(self, interpreter_type, path: Path):
        interpreter = interpreter_type(model_path=str(path), num_threads=self.threads)
        interpreter.allocate_tensors()
        return interpreter

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        interpreter, input_index, output_index = self._interpreters[check_batch(batch, self._interpreters)]
        interpreter.set_tensor(input_index, np.ascontiguousarray(batch, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(output_index)  # get_tensor returns a copy

    def close(self) -> None:
        self._interpreters.clear()
        gc.collect()
