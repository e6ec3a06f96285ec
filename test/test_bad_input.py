"""Bad images, resolutions, model names and weight files give clear errors, never deep crashes."""

import numpy as np
import pytest

from tf_pose_ros.config import parse_device, parse_resolution
from tf_pose_ros.engines.base import ModelLoadError
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.models import UnknownModelError, get_spec
from tf_pose_ros.models.store import ModelNotFoundError, find_weights
from tf_pose_ros.preprocess import InvalidImageError, to_bgr8


@pytest.mark.parametrize('image, message', [
    (None, 'None'),
    ('not an image', 'numpy array'),
    (np.zeros((0, 0, 3), np.uint8), 'empty'),
    (np.zeros((10, 0), np.uint8), 'empty'),
    (np.zeros((4, 4, 2), np.uint8), 'shape'),
    (np.zeros((4, 4, 3, 1), np.uint8), 'shape'),
    (np.zeros((4, 4, 3), np.int64), 'dtype'),
    (np.full((4, 4, 3), 2.0, np.float32), r'\[0, 1\]'),
    (np.full((4, 4, 3), np.nan, np.float32), 'NaN'),
])
def test_invalid_images_are_rejected_clearly(image, message):
    with pytest.raises(InvalidImageError, match=message):
        to_bgr8(image)


def test_huge_image_is_refused_before_allocating():
    # A broadcast view: the shape is huge, the memory is not.
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20000, 20000, 3))
    with pytest.raises(InvalidImageError, match='larger than'):
        to_bgr8(huge)


@pytest.mark.parametrize('image', [
    np.full((40, 30), 128, np.uint8),                 # grayscale
    np.full((40, 30, 1), 128, np.uint8),              # grayscale with a channel axis
    np.full((40, 30, 4), 128, np.uint8),              # BGRA
    np.full((40, 30, 3), 128 * 256 + 7, np.uint16),   # 16 bit
    np.full((40, 30, 3), 128 / 255.0, np.float32),    # float in [0, 1]
])
def test_other_image_kinds_become_bgr8(image):
    out = to_bgr8(image)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    assert np.all(out == 128)


@pytest.mark.parametrize('image', [
    np.zeros((1, 1, 3), np.uint8),
    np.full((5, 700, 3), 255, np.uint8),
    np.full((480, 640), 17, np.uint8),
    np.zeros((368, 432, 4), np.uint8),
    np.zeros((100, 100, 3), np.uint16),
    np.zeros((100, 100, 3), np.float64),
])
def test_estimator_handles_odd_images(estimator, image):
    result = estimator.infer(image)
    assert result.persons == []
    assert result.image_size == (image.shape[1], image.shape[0])


def test_estimator_reports_bad_image(estimator):
    with pytest.raises(InvalidImageError):
        estimator.infer(np.zeros((0, 5, 3), np.uint8))


@pytest.mark.parametrize('text', ['432', '432x', 'x368', '432x368x3', 'axb', '-432x368', '430x368',
                                  '432x360.5', '0x368', '8192x368', '', ' '])
def test_malformed_resolutions(text):
    with pytest.raises(ValueError):
        parse_resolution(text)


def test_resolution_forms():
    assert parse_resolution('432x368') == (432, 368)
    assert parse_resolution(' 656X368 ') == (656, 368)
    assert parse_resolution((320, 240)) == (320, 240)


@pytest.mark.parametrize('device', ['tpu', 'cpu:1', 'gpu:x', 'gpu:-1', ''])
def test_bad_device_strings(device):
    with pytest.raises(ValueError):
        parse_device(device)


def test_gpu_device_absent_is_a_clear_error(mobilenet_thin_path):
    import tensorflow as tf

    if tf.config.list_logical_devices('GPU'):
        pytest.skip('this machine has a GPU')
    with pytest.raises(RuntimeError, match='GPU'):
        PoseEstimator('mobilenet_thin', device='gpu:0')


def test_unknown_model():
    with pytest.raises(UnknownModelError, match='known models: cmu'):
        get_spec('resnet')
    with pytest.raises(UnknownModelError):
        PoseEstimator('resnet')


def test_missing_weights_name_the_file_places_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv('TF_POSE_ROS_MODEL_DIR', str(tmp_path / 'models'))
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    with pytest.raises(ModelNotFoundError) as info:
        find_weights('cmu')
    text = str(info.value)
    assert 'graph_opt.pb' in text and str(tmp_path / 'models' / 'cmu') in text
    assert str(tmp_path / 'cache') in text and 'download.sh' in text


def test_missing_explicit_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match='does not exist'):
        PoseEstimator(model='custom', model_path=str(tmp_path / 'nope.pb'))


@pytest.mark.parametrize('content', [b'', b'\x00garbage\xff' * 100, b'\n\x05hello'])
def test_corrupt_graph_files(tmp_path, content):
    path = tmp_path / 'graph_opt.pb'
    path.write_bytes(content)
    with pytest.raises(ModelLoadError):
        PoseEstimator(model='custom', model_path=str(path))


def test_truncated_real_graph(tmp_path, mobilenet_thin_path):
    path = tmp_path / 'graph_opt.pb'
    path.write_bytes(mobilenet_thin_path.read_bytes()[:100000])
    with pytest.raises(ModelLoadError):
        PoseEstimator(model='custom', model_path=str(path))


def test_graph_without_pose_tensors(tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, None, None, 3), name='image')
        tf.identity(x * 2.0, name='other')
    path = tmp_path / 'other.pb'
    path.write_bytes(graph.as_graph_def().SerializeToString())
    with pytest.raises(ModelLoadError, match='concat_stage7'):
        PoseEstimator(model='custom', model_path=str(path))
