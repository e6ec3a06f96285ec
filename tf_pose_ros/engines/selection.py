"""Which engine runs a configuration, and opening it.

``backend: auto`` takes the fastest engine that was measured to give TensorFlow's poses for the
model on this kind of machine (docs/engines.md: `tf-pose-ros bench --backends`). TensorFlow
stays the reference; on a GPU, PyTorch runs the network when its CUDA build is installed.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
from pathlib import Path
from typing import Dict, Sequence, Tuple

from tf_pose_ros.config import ConfigError, EstimatorConfig, parse_device
from tf_pose_ros.engines.base import Network

_LOG = logging.getLogger(__name__)

#: backend -> the Python module it needs.
_ENGINE_MODULES = {'tensorflow': 'tensorflow', 'openvino': 'openvino', 'litert': 'ai_edge_litert', 'torch': 'torch'}
CPU_ONLY_BACKENDS = ('openvino', 'litert')

#: fp32 choice of 'auto' on x86-64 CPUs, per model, from `tf-pose-ros bench --backends` and
#: `bench --all --backends` (docs/engines.md). Every fp32 engine's maps are within
#: 5e-4 of TensorFlow's, and the same people were found on all 14 agreement photos where real
#: weights exist. mobilenet_thin: OpenVINO 0.77x TensorFlow's network time (bit-identical maps);
#: mobilenet_v2_small and _large: LiteRT 0.44x and 0.72x; cmu: OpenVINO 0.97x; mobilenet,
#: _fast, _accurate: OpenVINO ties TensorFlow (within 3%) at a third of the memory, LiteRT is 5x slower.
AUTO_X86_64: Dict[str, str] = {
    'mobilenet_thin': 'openvino',
    'mobilenet_v2_small': 'litert',
    'mobilenet_v2_large': 'litert',
    'cmu': 'openvino',
    'mobilenet': 'openvino',
    'mobilenet_fast': 'openvino',
    'mobilenet_accurate': 'openvino',
}
#: Graphs given by path (unknown architecture): the engine that won on most models.
AUTO_X86_64_OTHER = 'openvino'
#: Where bf16/fp16 is asked for with 'auto' on the CPU: the only CPU engine here that runs them.
AUTO_REDUCED_PRECISION = 'openvino'
#: GPU engines of 'auto', first choice first. torch: maps within 1e-4 of TensorFlow's (every
#: architecture) and the same people on all 14 agreement photos (test_torch_engine.py, on the CPU:
#: the same program runs on CUDA); its GPU speed is not measured yet (docs/engines.md, "GPU"), and it is
#: the only engine here whose GPU build installs with pip on the GPU machines and Jetsons.
AUTO_GPU = ('torch', 'tensorflow')


def engine_available(backend: str) -> bool:
    """True when the Python package of ``backend`` is installed."""
    return importlib.util.find_spec(_ENGINE_MODULES[backend]) is not None


def _nvidia_gpu_present() -> bool:
    # Checked without importing TensorFlow, so a CPU robot running OpenVINO never loads it.
    gpus = Path('/proc/driver/nvidia/gpus')
    return gpus.is_dir() and any(gpus.iterdir())


def torch_cuda_available() -> bool:
    """True when torch is installed with CUDA and sees a GPU (imports torch only when installed)."""
    if not engine_available('torch'):
        return False
    from tf_pose_ros.engines.torch_engine import import_torch

    return bool(import_torch().cuda.is_available())


def _gpu_backend(config: EstimatorConfig) -> str:
    for backend in AUTO_GPU:
        if backend == 'torch' and torch_cuda_available():
            return backend
        if backend == 'tensorflow' and engine_available(backend):
            return backend
    return 'torch' if engine_available('torch') else 'tensorflow'  # its error then names the cause


def _is_x86_64() -> bool:
    return platform.machine().lower() in ('x86_64', 'amd64')


def choose_backend(config: EstimatorConfig, quiet: bool = False) -> str:
    """The engine that runs ``config``: its backend, or for 'auto' the measured choice (``quiet``:
    without the warning when that choice is not installed)."""
    kind, _ = parse_device(config.device)
    if config.backend != 'auto':
        if config.backend in CPU_ONLY_BACKENDS and kind == 'gpu':
            raise ConfigError('backend %s runs on the CPU; device %s needs backend torch or tensorflow'
                              % (config.backend, config.device))
        return config.backend
    if kind == 'gpu' or (kind == 'auto' and _nvidia_gpu_present()):
        return _gpu_backend(config)
    if config.run_precision != 'fp32':
        choice = AUTO_REDUCED_PRECISION
    elif not _is_x86_64():
        return 'tensorflow'  # the CPU engines were measured on x86-64 only
    else:
        choice = AUTO_X86_64.get(config.model, AUTO_X86_64_OTHER) if not config.model_path else AUTO_X86_64_OTHER
    if not engine_available(choice):
        if not quiet:
            _LOG.warning('backend auto: %s is not installed, using tensorflow', choice)
        return 'tensorflow'
    return choice


def fast_bf16(config: EstimatorConfig) -> bool:
    """Whether the engine that runs ``config`` in fp32 runs bf16 here, and faster: OpenVINO on a CPU
    where bf16 was measured fast (openvino_engine.bf16_is_fast), torch on a CUDA GPU with bf16
    tensor cores (compute capability 8 or later). A model whose fp32 engine has no bf16 (LiteRT,
    TensorFlow) stays on it: bf16 never moves a model off the engine measured fastest for it."""
    try:
        backend = choose_backend(config.replace(precision='fp32'), quiet=True)
        if not engine_available(backend):
            return False
        if backend == 'openvino':
            from tf_pose_ros.engines.openvino_engine import bf16_is_fast

            return bf16_is_fast()
        kind, index = parse_device(config.device)
        if backend == 'torch' and kind != 'cpu' and torch_cuda_available():
            from tf_pose_ros.engines.torch_engine import import_torch

            cuda = import_torch().cuda
            return (index or 0) < cuda.device_count() and cuda.get_device_capability(index or 0) >= (8, 0)
    except Exception:  # a probe only: loading the engine reports what is wrong (a missing GPU, ...)
        return False
    return False


def resolve_preset(config: EstimatorConfig) -> EstimatorConfig:
    """``config`` with its preset's precision, scales and flip written in where they are unset: the
    preset's bf16 form where the preset chooses the precision and bf16 is fast here (fast_bf16),
    else its fp32 form."""
    if config.precision and config.scales and config.flip is not None:
        return config
    return config.with_preset(fast_bf16=not config.precision and fast_bf16(config))


def cpu_precisions() -> Dict[str, Tuple[str, ...]]:
    """backend -> the precisions it runs on this machine's CPU (installed engines only)."""
    result: Dict[str, Tuple[str, ...]] = {}
    for backend in ('tensorflow', 'openvino', 'litert', 'torch'):
        if not engine_available(backend):
            continue
        if backend == 'openvino':
            from tf_pose_ros.engines.openvino_engine import supported_precisions

            result[backend] = supported_precisions()
        else:
            result[backend] = ('fp32',)
    return result


def open_network(config: EstimatorConfig, weights: Path, sizes: Sequence[Tuple[int, int]]) -> Network:
    """Load ``weights`` with the engine ``config`` asks for, ready for inputs of ``sizes``."""
    backend = choose_backend(config)
    if not engine_available(backend):
        raise ConfigError('backend %s is not installed (pip package %s%s)'
                          % (backend, {'litert': 'ai-edge-litert'}.get(backend, backend),
                             '; `make setup-torch` or pip install .[torch]' if backend == 'torch' else ''))
    if backend == 'openvino':
        from tf_pose_ros.engines.openvino_engine import OpenVinoNetwork

        return OpenVinoNetwork(weights, sizes, precision=config.run_precision, threads=config.threads)
    if backend == 'litert':
        from tf_pose_ros.engines.litert_engine import LiteRtNetwork

        return LiteRtNetwork(weights, sizes, precision=config.run_precision, threads=config.threads)
    if backend == 'torch':
        from tf_pose_ros.engines.torch_engine import TorchNetwork

        return TorchNetwork(weights, device=config.device, precision=config.run_precision, threads=config.threads)
    from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork

    return FrozenGraphNetwork(weights, device=config.device, precision=config.run_precision, threads=config.threads)
