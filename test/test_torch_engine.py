"""The PyTorch engine on the CPU: TensorFlow's maps and people, every architecture, batches, the
conversion cache, device errors, and the GPU peak stage (run here on CPU torch)."""

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip('torch', reason='torch is not installed (the optional extra: `make setup-torch`)')

from zoo_weights import randomize  # noqa: E402

from tf_pose_ros.benchmarks.engine_bench import compare_poses  # noqa: E402
from tf_pose_ros.config import ConfigError, EstimatorConfig  # noqa: E402
from tf_pose_ros.decoders.original.device_peaks import device_peaks  # noqa: E402
from tf_pose_ros.decoders.original.grouping import THRESH_HEAT  # noqa: E402
from tf_pose_ros.decoders.original.maps import ReplicatedPeakFinder, replication_ratio, smooth  # noqa: E402
from tf_pose_ros.engines import ModelLoadError, PrecisionError, choose_backend  # noqa: E402
from tf_pose_ros.engines.selection import torch_cuda_available  # noqa: E402
from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork  # noqa: E402
from tf_pose_ros.engines.torch_engine import TorchNetwork  # noqa: E402
from tf_pose_ros.estimator import PoseEstimator  # noqa: E402
from tf_pose_ros.models.zoo import ARCHITECTURES, build_model, export_frozen_graph  # noqa: E402
from tf_pose_ros.parts import NUM_PARTS  # noqa: E402
from tf_pose_ros.preprocess import resize_for_network  # noqa: E402
from tf_pose_ros.samples import agreement_photos  # noqa: E402

pytestmark = pytest.mark.slow


def _randomized(name, seed):
    """The zoo model ``name`` with random weights everywhere (batch-norm statistics included)."""
    return randomize(build_model(name), seed)


def test_mobilenet_thin_maps_equal_tensorflows(mobilenet_thin_path, paf_vectors):
    batch = paf_vectors[0]['ski']['net_input'][None].astype(np.float32)
    network = TorchNetwork(mobilenet_thin_path, device='cpu')
    assert (network.backend, network.precision, network.device, network.batches) == ('torch', 'fp32', '/CPU:0', True)
    ours = network(batch)
    reference = FrozenGraphNetwork(mobilenet_thin_path, device='cpu')(batch)
    assert ours.shape == reference.shape == (1, 46, 54, 57) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-4)


@pytest.mark.parametrize('name', sorted(ARCHITECTURES))
def test_every_architecture_equals_tensorflow_and_batches(name, tmp_path):
    # graph_opt.pb form (batch norms folded, mobilenet_v2's batch-statistics norms kept) at 96x64.
    path = tmp_path / 'graph_opt.pb'
    export_frozen_graph(_randomized(name, seed=3), path)
    images = np.random.default_rng(0).uniform(0, 255, (3, 64, 96, 3)).astype(np.float32)
    network = TorchNetwork(path, device='cpu')
    batched = network(images)
    reference = FrozenGraphNetwork(path, device='cpu')
    scale = max(1.0, float(np.abs(batched).max()))
    # TensorFlow batches frames only where they cannot change each other's maps.
    assert reference.batches == (not name.startswith('mobilenet_v2'))
    for i in range(len(images)):
        single = network(images[i:i + 1])
        np.testing.assert_allclose(single, reference(images[i:i + 1]), atol=1e-4 * scale)
        np.testing.assert_allclose(batched[i:i + 1], single, atol=1e-5 * scale)


@pytest.fixture(scope='module')
def photos():
    return agreement_photos()


@pytest.fixture(scope='module')
def estimators(mobilenet_thin_path):
    reference = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend='tensorflow')
    ours = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend='torch')
    yield reference, ours
    reference.close()
    ours.close()


def test_same_people_as_tensorflow_on_the_agreement_photos(estimators, photos):
    reference, ours = estimators
    assert len(photos) == 14
    for name, photo in photos.items():
        expected, result = reference.infer(photo), ours.infer(photo)
        same_count, matched, total = compare_poses(expected.persons, result.persons, result.image_size)
        assert same_count and matched == total, (name, matched, total)
        for a, b in zip(expected.persons, result.persons):
            assert b.score == pytest.approx(a.score, abs=1e-3)


def test_a_batch_finds_what_single_frames_find(estimators, photos):
    _, ours = estimators
    images = list(photos.values())[:6]  # different sizes: each is resized to the network input
    assert len({image.shape for image in images}) > 1
    batched = ours.infer_batch(images)
    assert len(batched) == len(images)
    for image, result in zip(images, batched):
        single = ours.infer(image)
        same_count, matched, total = compare_poses(single.persons, result.persons, result.image_size)
        assert same_count and matched == total
        assert result.image_size == (image.shape[1], image.shape[0])
    assert ours.infer_batch([]) == []


def _peak_set(peaks):
    return set(zip(*(axis.tolist() for axis in peaks)))


def _rounding_ties(heat, ratio, thresh, peaks):
    """Those of ``peaks`` (part, y, x) that are not float32 ties in the CPU's smoothed map.

    A tie: within a few ulp of its 3x3 maximum (two neighbours rounding to the same value or
    not, whichever order the sums run in) or of the threshold.
    """
    smoothed = smooth(np.ascontiguousarray(np.repeat(np.repeat(heat, ratio, axis=0), ratio, axis=1)))
    others = []
    for part, y, x in peaks:
        value = smoothed[y, x, part]
        near = smoothed[max(0, y - 1):y + 2, max(0, x - 1):x + 2, part].max()
        ulp = np.spacing(np.float32(near))
        if near - value > 8 * ulp and abs(value - thresh) > 8 * ulp:
            others.append((part, y, x, float(value), float(near)))
    return others


def _device_and_cpu_peaks(maps, ratio, thresh):
    """Per image of the device maps: (peaks found on the device, peaks ReplicatedPeakFinder finds)."""
    outputs = maps.numpy()
    finder = ReplicatedPeakFinder()
    found = device_peaks(maps, ratio, thresh)
    return [(_peak_set(found[i]), _peak_set(finder(outputs[i][:, :, :NUM_PARTS], ratio, thresh)))
            for i in range(len(outputs))]


def test_peaks_on_the_device_are_the_cpu_peaks_up_to_float_rounding(mobilenet_thin_path, photos):
    # Two float32 sums in different orders can round two neighbouring smoothed values to one value
    # on one path and not on the other: there one path keeps both neighbours, the other one.
    network = TorchNetwork(mobilenet_thin_path, device='cpu')
    batch = np.stack([resize_for_network(photo, (432, 368)) for photo in photos.values()])
    maps = network.device_maps(batch)
    outputs = maps.numpy()
    total = differing = 0
    for ratio in (1, 2, 4, 8):
        for index, (found, expected) in enumerate(_device_and_cpu_peaks(maps, ratio, 0.05)):
            total += len(expected)
            differing += len(found ^ expected)
            assert not _rounding_ties(outputs[index][:, :, :NUM_PARTS], ratio, 0.05, found ^ expected), (ratio, index)
    assert total > 500 and differing <= total // 200, (differing, total)


def test_the_estimators_device_peak_path_finds_the_same_people(mobilenet_thin_path, photos):
    # The path CUDA takes (peaks on the device, maps copied back for the grouping), run on CPU torch.
    # The GPU peak search is the original decoder's (the refined one finds sub-pixel peaks on the CPU).
    host_path = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend='torch',
                              decoder='original')
    device_path = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend='torch',
                                decoder='original')
    network = device_path.network
    network.maps_on_device = True
    calls = []
    device_maps = network.device_maps
    network.device_maps = lambda batch: calls.append(len(batch)) or device_maps(batch)
    images = list(photos.values())
    results = zip(host_path.infer_batch(images), device_path.infer_batch(images))
    assert calls == [len(images)]  # the device path was taken, once for the batch
    # The same people wherever both paths find the same peaks (the test above: all but rounding ties).
    batch = np.stack([resize_for_network(image, host_path.resolution, host_path.interpolation) for image in images])
    maps = device_maps(batch)
    ratio = replication_ratio(maps.shape[1:], host_path.map_size)
    peaks = _device_and_cpu_peaks(maps, ratio, float(THRESH_HEAT))
    compared = 0
    for (expected, result), (found, cpu) in zip(results, peaks):
        if found == cpu:
            compared += 1
            assert [p.keypoints for p in expected.persons] == [p.keypoints for p in result.persons]
    assert compared >= len(images) - 2, '%d of %d photos with the same peaks' % (compared, len(images))
    device_path.close()
    host_path.close()


def test_reduced_precision_and_gpu_asks_are_refused_with_the_cause(mobilenet_thin_path):
    with pytest.raises(PrecisionError, match='CUDA GPU only'):
        PoseEstimator('mobilenet_thin', backend='torch', device='cpu', precision='fp16')
    if torch_cuda_available():
        pytest.skip('this machine has a CUDA GPU: the no-GPU errors cannot happen')
    why = 'built without CUDA' if torch.version.cuda is None else 'sees no GPU'
    with pytest.raises(ConfigError, match=why):
        PoseEstimator('mobilenet_thin', backend='torch', device='gpu')
    with pytest.raises(ConfigError, match=why):
        PoseEstimator('mobilenet_thin', backend='torch', device='gpu:1', precision='bf16')
    # auto with a GPU asked for takes torch only where it has CUDA.
    assert choose_backend(EstimatorConfig(device='gpu')) == 'tensorflow'
    assert choose_backend(EstimatorConfig(device='cpu', backend='torch')) == 'torch'


def test_conversion_is_cached_rebuilt_when_corrupt_and_garbage_is_refused(mobilenet_thin_path, tmp_path):
    weights = tmp_path / 'model' / 'graph_opt.pb'
    weights.parent.mkdir()
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    batch = np.random.default_rng(1).uniform(0, 255, (1, 64, 96, 3)).astype(np.float32)
    expected = TorchNetwork(weights, device='cpu')(batch)
    manifest, = (weights.parent / 'converted').glob('torch-*.json')
    content = json.loads(manifest.read_text())
    assert content['engine'] == 'torch' and set(content['files']) == {'.npz'}
    converted = manifest.with_suffix('.npz')
    assert converted.stat().st_size < 1.2 * weights.stat().st_size  # small enough to carry along
    built = converted.stat().st_mtime_ns
    TorchNetwork(weights, device='cpu')
    assert converted.stat().st_mtime_ns == built, 'a current entry was converted again'

    converted.write_bytes(converted.read_bytes()[:1000])  # truncated: a crash, a full disk
    np.testing.assert_array_equal(TorchNetwork(weights, device='cpu')(batch), expected)
    assert converted.stat().st_size > 1000

    garbage = tmp_path / 'garbage.pb'
    garbage.write_bytes(b'\x00garbage\xff' * 100)
    with pytest.raises(ModelLoadError):
        PoseEstimator(model='custom', model_path=str(garbage), backend='torch')
    not_pose = tmp_path / 'other.pb'
    not_pose.write_bytes(b'\n\x05\n\x03abc')  # a graph with one node named abc
    with pytest.raises(ModelLoadError, match='not a tf-pose graph'):
        TorchNetwork(not_pose, device='cpu')


def test_runs_without_tensorflow_in_the_process(mobilenet_thin_path, tmp_path):
    weights = tmp_path / 'graph_opt.pb'
    weights.write_bytes(mobilenet_thin_path.read_bytes())
    code = ('import sys\n'
            'from tf_pose_ros.estimator import PoseEstimator\n'
            'from tf_pose_ros.samples import astronaut_bgr\n'
            'e = PoseEstimator("custom", model_path=sys.argv[1], resolution="432x368", backend="torch")\n'
            'assert len(e.infer(astronaut_bgr()).persons) == 1\n'
            'print("tensorflow" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', code, str(weights)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == 'False'


def test_the_gpu_bench_runs_on_the_cpu(mobilenet_thin_path, capsys):
    from tf_pose_ros.benchmarks import gpu_bench

    assert gpu_bench.main(['--device', 'cpu', '--cases', 'mobilenet_thin:224x160', '--precisions', 'fp32,fp16',
                           '--frames', '2', '--warmup', '1', '--cameras', '2']) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 4 and table[2].startswith('| mobilenet_thin | 224x160 | fp32 | CPU |')
    assert 'not run: precision fp16' in table[3]


def test_a_skeleton_times_a_model_without_its_weights(mobilenet_thin_path, tmp_path):
    from tf_pose_ros.benchmarks import gpu_bench
    from tf_pose_ros.engines import torch_convert

    skeleton = tmp_path / 'thin.json'
    assert torch_convert.main(['--skeleton', str(mobilenet_thin_path), str(skeleton)]) == 0
    assert skeleton.stat().st_size < 300_000  # the weights (7.8 MB) are left out
    gpu_bench.install_skeleton('mobilenet_thin', skeleton, tmp_path / 'models')
    network = TorchNetwork(tmp_path / 'models' / 'mobilenet_thin' / 'graph_opt.pb', device='cpu')
    maps = network(np.zeros((2, 64, 96, 3), np.float32))
    assert maps.shape == (2, 8, 12, 57) and np.isfinite(maps).all()
