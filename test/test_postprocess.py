"""Upsampling, smoothing and peak finding against TensorFlow's ops and the original's maps."""

import numpy as np
import pytest
import tensorflow as tf

from tf_pose_ros.config import validate_upsample_ratio
from tf_pose_ros.decoders.original import maps as pp
from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork
from tf_pose_ros.parts import NUM_PARTS


def _tf_reference_kernel():
    # tf-pose's 2-D kernel, built the way the original builds it (sqrt of the outer product).
    from scipy import stats

    n, sigma = pp.SMOOTH_KERNEL_SIZE, pp.SMOOTH_SIGMA
    interval = (2 * sigma + 1.0) / n
    x = np.linspace(-sigma - interval / 2.0, sigma + interval / 2.0, n + 1)
    k1 = np.diff(stats.norm.cdf(x))
    k2 = np.sqrt(np.outer(k1, k1))
    return (k2 / k2.sum()).astype(np.float32)


def test_separable_kernel_equals_original_2d_kernel():
    k = pp.gaussian_kernel_1d()
    np.testing.assert_allclose(np.outer(k, k), _tf_reference_kernel(), atol=1e-8)


@pytest.mark.parametrize('ratio', [4.0, 2.5, 1.0, 0.5])
def test_upsample_matches_tf_area_resize(ratio):
    rng = np.random.default_rng(0)
    maps = rng.random((46, 54, 57), dtype=np.float32)
    size = pp.upsampled_size((432, 368), ratio)
    ours = pp.upsample(maps, size)
    ref = tf.image.resize(maps[None], (size[1], size[0]), method='area').numpy()[0]
    assert ours.shape == (size[1], size[0], 57)
    # Fractional ratios mix neighbours; OpenCV and TF round those sums differently (~1e-5).
    np.testing.assert_allclose(ours, ref, atol=5e-5)


def test_smoothing_and_nms_match_tf_ops():
    rng = np.random.default_rng(1)
    heat = pp.upsample(rng.random((23, 27, 19), dtype=np.float32), (108, 92))
    ours = pp.smooth(heat)
    kernel = np.repeat(_tf_reference_kernel()[:, :, None, None], 19, axis=2)
    ref = tf.nn.depthwise_conv2d(heat[None], kernel, [1, 1, 1, 1], 'SAME').numpy()[0]
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    pooled = tf.nn.pool(ref[None], window_shape=(3, 3), pooling_type='MAX', padding='SAME').numpy()[0]
    expected_peaks = np.where(ref == pooled, ref, 0)
    ours_peaks = pp.find_peaks(ref)
    np.testing.assert_array_equal(ours_peaks, expected_peaks)


def test_pipeline_reproduces_original_maps(mobilenet_thin_path, paf_vectors):
    frames, _ = paf_vectors
    network = FrozenGraphNetwork(mobilenet_thin_path, device='cpu')
    for name, frame in frames.items():
        output = network(frame['net_input'][None].astype(np.float32))[0]
        peaks, heat, paf = pp.postprocess(output, pp.upsampled_size((432, 368), 4.0))
        np.testing.assert_allclose(heat, frame['heat'], atol=1e-5, err_msg=name)
        np.testing.assert_allclose(paf, frame['paf'], atol=1e-5, err_msg=name)
        # Body-part peaks above the grouping threshold sit exactly where the original's do.
        ours = peaks[..., :NUM_PARTS] > 0.05
        theirs = frame['peaks'][..., :NUM_PARTS] > 0.05
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        np.testing.assert_allclose(peaks[..., :NUM_PARTS][ours], frame['peaks'][..., :NUM_PARTS][theirs],
                                   atol=1e-5)


@pytest.mark.parametrize('bad', [0, -1, 'x', float('nan'), 9])
def test_bad_upsample_ratio(bad):
    with pytest.raises(ValueError):
        validate_upsample_ratio(bad)


@pytest.mark.parametrize('ratio, shape, exact', [
    (4, (46, 54), True),     # the default: 432x368, ratio 4
    (4, (30, 40), True), (8, (12, 9), True),
    # Elsewhere OpenCV's vector loop and its scalar tail split the rows differently: 1 ulp apart.
    (1, (23, 27), False), (2, (46, 54), False), (3, (17, 31), False)])
def test_replicated_smoothing_is_todays_smoothing(ratio, shape, exact):
    rng = np.random.default_rng(ratio)
    heat = rng.random(shape + (NUM_PARTS,), dtype=np.float32) - 0.1
    size = (shape[1] * ratio, shape[0] * ratio)
    assert pp.replication_ratio(heat.shape, size) == ratio
    reference = pp.smooth(pp.upsample(heat, size))
    planes = pp.ReplicatedSmoother()(heat, ratio)[:, :size[1]].transpose(1, 2, 0)
    if exact:
        np.testing.assert_array_equal(planes, reference)
    else:
        np.testing.assert_allclose(planes, reference, rtol=1e-6, atol=1e-7)


def test_replication_ratio_only_for_exact_integer_ratios():
    assert pp.replication_ratio((46, 54, 57), (216, 184)) == 4
    assert pp.replication_ratio((46, 54, 57), (135, 115)) == 0     # ratio 2.5
    assert pp.replication_ratio((92, 108, 57), (54, 46)) == 0      # shrinking
    assert pp.replication_ratio((46, 54, 57), (216, 185)) == 0


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_local_maxima_are_the_thresholded_peaks_of_find_peaks(seed):
    from tf_pose_ros.decoders.peaks import local_maxima

    rng = np.random.default_rng(seed)
    # Plateaus (equal neighbours) and values right at the threshold are where a scan could differ.
    smoothed = np.round(rng.random((40, 50, NUM_PARTS), dtype=np.float32) * 8) / np.float32(80)
    expected = np.argwhere(pp.find_peaks(smoothed).transpose(2, 0, 1) > np.float32(0.05))
    parts, ys, xs = local_maxima(np.ascontiguousarray(smoothed.transpose(2, 0, 1)), 0.05)
    np.testing.assert_array_equal(np.stack([parts, ys, xs], axis=1), expected)
    # Padding rows below ``height`` are outside the map.
    padded = np.concatenate([smoothed.transpose(2, 0, 1), np.ones((NUM_PARTS, 3, 50), np.float32)], axis=1)
    np.testing.assert_array_equal(np.stack(local_maxima(padded, 0.05, height=40), axis=1), expected)


def test_grouping_at_network_size_finds_the_original_people(mobilenet_thin_path, paf_vectors):
    from tf_pose_ros.decoders.original.grouping import THRESH_HEAT, group_peaks_at_ratio, group_people
    from tf_pose_ros.decoders.peaks import local_maxima
    from tf_pose_ros.parts import NUM_HEATMAPS

    frames, expected = paf_vectors
    network = FrozenGraphNetwork(mobilenet_thin_path, device='cpu')
    for name, frame in frames.items():
        output = network(frame['net_input'][None].astype(np.float32))[0]
        reference = group_people(*pp.postprocess(output, (216, 184)))
        parts, ys, xs = local_maxima(pp.ReplicatedSmoother()(output[:, :, :NUM_PARTS], 4), THRESH_HEAT,
                                     height=184)
        people = group_peaks_at_ratio(parts, ys, xs, output[:, :, :NUM_HEATMAPS], output[:, :, NUM_HEATMAPS:], 4)
        assert people == reference, name
        assert len(people) == len(expected[name])


@pytest.mark.parametrize('ratio', [1, 2, 4])
def test_replicated_peak_finder_skips_only_what_cannot_peak(ratio):
    rng = np.random.default_rng(ratio)
    heat = rng.random((30, 36, NUM_PARTS), dtype=np.float32) * 0.04    # below the threshold...
    heat[5:9, 10:14, 3] = 0.9                                           # ...but for a few blobs
    heat[20, 30, 3] = 0.3
    heat[12:14, :4, 11] = 0.06
    heat[:, :, 7] = 0.049                                               # just under it everywhere
    size = (36 * ratio, 30 * ratio)
    expected = np.argwhere(pp.find_peaks(pp.smooth(pp.upsample(heat, size))).transpose(2, 0, 1) > np.float32(0.05))
    parts, ys, xs = pp.ReplicatedPeakFinder()(heat, ratio, 0.05)
    np.testing.assert_array_equal(np.stack([parts, ys, xs], axis=1), expected)
    assert set(parts.tolist()) <= {3, 11}
    empty = pp.ReplicatedPeakFinder()(np.zeros_like(heat), ratio, 0.05)
    assert all(a.size == 0 for a in empty)
