"""The inference engines with the real weights: same poses as TensorFlow, precision, conversion cache."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tf_pose_ros.config import ConfigError, EstimatorConfig
from tf_pose_ros.engines import PrecisionError, choose_backend, cpu_precisions
from tf_pose_ros.engines.base import ModelLoadError
from tf_pose_ros.engines.conversion_cache import ConversionCache
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.samples import group_photo_bgr

pytestmark = pytest.mark.slow

CPU_BACKENDS = ('openvino', 'litert')


def _photos(astronaut, paf_vectors):
    frames, _ = paf_vectors
    photos = {'astronaut': astronaut, 'group3': group_photo_bgr(3), 'mirrored': astronaut[:, ::-1].copy()}
    photos.update({name: frame['net_input'].astype(np.uint8) for name, frame in frames.items()})
    return photos


def _same_poses(reference, other, image_size, tolerance=0.01):
    """(same people count, fraction of the reference's keypoints within tolerance x image size)."""
    if len(reference) != len(other):
        return False, 0.0
    limit = tolerance * max(image_size)
    matched = total = 0
    for ref_person, person in zip(reference, other):
        for keypoint in ref_person.keypoints:
            total += 1
            twin = person.keypoint(keypoint.id)
            if twin is not None and abs(twin.x - keypoint.x) <= limit and abs(twin.y - keypoint.y) <= limit:
                matched += 1
    return True, matched / max(total, 1)


@pytest.fixture(scope='module')
def tf_reference(mobilenet_thin_path, astronaut, paf_vectors):
    estimator = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend='tensorflow')
    photos = _photos(astronaut, paf_vectors)
    return photos, {name: estimator.infer(image) for name, image in photos.items()}


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_cpu_engines_find_tensorflows_people(backend, tf_reference):
    photos, reference = tf_reference
    estimator = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend=backend,
                              precision='fp32')
    assert (estimator.backend, estimator.precision, estimator.device) == (backend, 'fp32', '/CPU:0')
    for name, image in photos.items():
        result = estimator.infer(image)
        assert result.persons, name
        same_count, agreement = _same_poses(reference[name].persons, result.persons, result.image_size)
        assert same_count and agreement == 1.0, (name, agreement)
        for ref_person, person in zip(reference[name].persons, result.persons):
            assert person.score == pytest.approx(ref_person.score, abs=1e-3)
    estimator.close()
    with pytest.raises(RuntimeError, match='closed'):
        estimator.infer(photos['astronaut'])


def test_openvino_fp32_maps_equal_tensorflows(mobilenet_thin_path, paf_vectors):
    from tf_pose_ros.engines.openvino_engine import OpenVinoNetwork
    from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork

    batch = paf_vectors[0]['ski']['net_input'][None].astype(np.float32)
    ours = OpenVinoNetwork(mobilenet_thin_path, [(432, 368)])(batch)
    reference = FrozenGraphNetwork(mobilenet_thin_path, device='cpu')(batch)
    assert ours.shape == reference.shape == (1, 46, 54, 57)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_fixed_shape_engines_refuse_other_sizes(mobilenet_thin_path):
    from tf_pose_ros.engines.litert_engine import LiteRtNetwork

    network = LiteRtNetwork(mobilenet_thin_path, [(96, 64)])
    assert network(np.zeros((1, 64, 96, 3), np.float32)).shape == (1, 8, 12, 57)
    with pytest.raises(ValueError, match='96x64'):
        network(np.zeros((1, 64, 112, 3), np.float32))


def test_multiscale_runs_on_every_backend(mobilenet_thin_path, astronaut):
    counts = set()
    for backend in ('tensorflow',) + CPU_BACKENDS:
        estimator = PoseEstimator('mobilenet_thin', resolution='432x368', scales=(1.0, 0.5), backend=backend)
        counts.add(len(estimator.infer(astronaut).persons))
        estimator.close()
    assert counts == {1}


def test_bf16_where_the_cpu_has_it(mobilenet_thin_path, astronaut):
    supported = cpu_precisions()['openvino']
    if 'bf16' not in supported:
        with pytest.raises(PrecisionError, match='supports fp32'):
            PoseEstimator('mobilenet_thin', backend='openvino', precision='bf16')
        pytest.skip('this CPU has no bf16 (OpenVINO supports %s); refusal checked' % ', '.join(supported))
    estimator = PoseEstimator('mobilenet_thin', precision='bf16')  # auto takes the engine that has it
    assert (estimator.backend, estimator.precision) == ('openvino', 'bf16')
    person, = estimator.infer(astronaut).persons
    nose = person.keypoint(0)
    assert 180 < nose.x < 270 and 80 < nose.y < 170


@pytest.mark.parametrize('backend, precision', [('tensorflow', 'bf16'), ('litert', 'bf16'), ('litert', 'fp16')])
def test_unsupported_precisions_are_refused_with_a_reason(mobilenet_thin_path, backend, precision):
    with pytest.raises(PrecisionError, match='fp32 only'):
        PoseEstimator('mobilenet_thin', backend=backend, precision=precision)


def test_openvino_names_what_this_cpu_supports(mobilenet_thin_path):
    supported = cpu_precisions()['openvino']
    missing = [p for p in ('bf16', 'fp16') if p not in supported]
    if not missing:
        pytest.skip('this CPU runs every precision')
    with pytest.raises(PrecisionError) as info:
        PoseEstimator('mobilenet_thin', backend='openvino', precision=missing[0])
    assert 'which supports %s' % ', '.join(supported) in str(info.value)


def test_int8_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match='int8 is not offered'):
        EstimatorConfig(precision='int8')


def test_auto_choices():
    thin = EstimatorConfig(model='mobilenet_thin', device='cpu')
    assert choose_backend(thin) == 'openvino'
    assert choose_backend(thin.replace(model='mobilenet_v2_small')) == 'litert'
    assert choose_backend(thin.replace(precision='bf16')) == 'openvino'
    assert choose_backend(thin.replace(backend='tensorflow')) == 'tensorflow'
    with pytest.raises(ConfigError, match='needs backend torch or tensorflow'):
        choose_backend(thin.replace(backend='openvino', device='gpu'))


@pytest.mark.parametrize('backend', CPU_BACKENDS)
def test_cpu_engines_run_without_tensorflow_in_the_process(backend, mobilenet_thin_path, tmp_path):
    # The conversion (TensorFlow, for LiteRT) happens in a child process, on a fresh cache.
    weights = tmp_path / 'graph_opt.pb'
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    code = ('import sys\n'
            'from tf_pose_ros.estimator import PoseEstimator\n'
            'from tf_pose_ros.samples import astronaut_bgr\n'
            'e = PoseEstimator("custom", model_path=sys.argv[1], resolution="432x368", backend=sys.argv[2])\n'
            'assert len(e.infer(astronaut_bgr()).persons) == 1\n'
            'print("tensorflow" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', code, str(weights), backend], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == 'False'


def _entry(directory, engine):
    manifests = sorted(directory.glob('%s-*.json' % engine))
    assert len(manifests) == 1, manifests
    return manifests[0], json.loads(manifests[0].read_text())


@pytest.mark.parametrize('backend, suffix', [('openvino', '.bin'), ('litert', '.tflite')])
def test_conversion_cache_is_reused_rebuilt_when_corrupt_and_replaced_when_stale(
        backend, suffix, mobilenet_thin_path, tmp_path, astronaut):
    weights = tmp_path / 'model' / 'graph_opt.pb'
    weights.parent.mkdir()
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    config = EstimatorConfig(model='custom', model_path=str(weights), resolution='432x368', backend=backend,
                             keep_aspect=False, scales='1.0')  # one input size: one conversion
    PoseEstimator.from_config(config).close()
    cache_dir = weights.parent / 'converted'
    manifest, content = _entry(cache_dir, backend)
    assert content['variant'] == '432x368' and content['engine'] == backend
    converted = manifest.with_suffix(suffix)
    built = converted.stat().st_mtime_ns
    PoseEstimator.from_config(config).close()
    assert converted.stat().st_mtime_ns == built, 'a current entry was converted again'

    converted.write_bytes(converted.read_bytes()[:1000])  # truncated: a crash, a full disk
    estimator = PoseEstimator.from_config(config)
    assert len(estimator.infer(astronaut).persons) == 1
    assert converted.stat().st_size > 1000
    estimator.close()

    # New weights at the same path (an update): a new entry replaces the old one.
    weights.write_bytes(weights.read_bytes() + b'\0')
    with pytest.raises(ModelLoadError):
        PoseEstimator.from_config(config)  # a trailing byte is no longer a graph either engine reads
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    PoseEstimator.from_config(config).close()
    assert len(list(cache_dir.glob('%s-*.json' % backend))) == 1


def test_read_only_weights_are_converted_into_the_user_cache(mobilenet_thin_path, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        # root writes anywhere; a directory that cannot be created stands in for a read-only one.
        weights_dir = tmp_path / 'share'
        weights_dir.mkdir()
        (weights_dir / 'converted').write_text('a file where the cache directory would go')
    else:
        weights_dir = tmp_path / 'share'
        weights_dir.mkdir()
    weights = weights_dir / 'graph_opt.pb'
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    if os.geteuid() != 0:
        weights_dir.chmod(0o555)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    cache = ConversionCache(weights, 'openvino', 'test')
    assert str(cache.directory).startswith(str(tmp_path / 'cache'))


def test_garbage_weights_fail_cleanly_on_every_backend(tmp_path):
    path = tmp_path / 'graph_opt.pb'
    path.write_bytes(b'\x00garbage\xff' * 100)
    for backend in ('tensorflow',) + CPU_BACKENDS:
        with pytest.raises(ModelLoadError):
            PoseEstimator(model='custom', model_path=str(path), backend=backend)


def test_a_failed_conversion_leaves_the_logging_setup_alone(tmp_path):
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    path = tmp_path / 'graph_opt.pb'
    path.write_bytes(b'not a graph')
    with pytest.raises(ModelLoadError):
        PoseEstimator(model='custom', model_path=str(path), backend='openvino')
    assert (root.level, root.handlers) == (level, handlers)
