"""The decoder setting and the refined decoder: sub-pixel peaks, positions, people on real photos."""

from pathlib import Path

import numpy as np
import pytest

from tf_pose_ros.config import ConfigError, EstimatorConfig
from tf_pose_ros.decoders.refined import RefinedDecoder, RefinedSettings
from tf_pose_ros.decoders.registry import DECODERS, DEFAULT_RATIOS, make_decoder
from tf_pose_ros.decoders.subpixel import FITS, refine_peaks
from tf_pose_ros.parts import NUM_HEATMAPS, NUM_PAFS, PART_IDS
from tf_pose_ros.samples import agreement_photos, astronaut_bgr, group_photo_bgr


def _gaussian(height, width, cx, cy, sigma):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma ** 2)).astype(np.float32)


@pytest.mark.parametrize('cx, cy', [(10.3, 7.6), (12.0, 9.0), (5.71, 11.45)])
def test_gaussian_fit_recovers_a_subpixel_peak(cx, cy):
    planes = _gaussian(20, 24, cx, cy, 1.5)[None]
    ix, iy = int(round(cx)), int(round(cy))
    args = (planes, np.array([0]), np.array([iy]), np.array([ix]))
    fx, fy = refine_peaks(*args, FITS.index('gaussian'))
    # The log of a Gaussian is a parabola: the fit is exact but for float32 rounding.
    assert abs(fx[0] - cx) < 1e-3 and abs(fy[0] - cy) < 1e-3
    qx, qy = refine_peaks(*args, FITS.index('quadratic'))
    assert abs(qx[0] - cx) <= abs(ix - cx) + 1e-9 and abs(qy[0] - cy) <= abs(iy - cy) + 1e-9
    assert abs(qx[0] - cx) < 0.15 and abs(qy[0] - cy) < 0.15
    nx, ny = refine_peaks(*args, FITS.index('none'))
    assert (nx[0], ny[0]) == (ix, iy)


def test_peak_positions_follow_the_training_labels_convention():
    # A part trained at input pixel p peaks in output cell (p + 0.5) / 8 - 0.5 (pixel-centre index):
    # a Gaussian bump there must come back at p, at every upsample ratio.
    out_h, out_w = 46, 54
    output = np.zeros((out_h, out_w, NUM_HEATMAPS + NUM_PAFS), np.float32)
    px, py = 171.0, 130.0
    output[:, :, PART_IDS['nose']] = 0.8 * _gaussian(out_h, out_w, (px + 0.5) / 8 - 0.5, (py + 0.5) / 8 - 0.5, 1.0)
    for ratio in (1, 2, 4):
        map_size = (out_w * ratio, out_h * ratio)
        parts, fx, fy = RefinedDecoder().find_parts([output], (432, 368), map_size)[:3]
        assert parts.tolist() == [PART_IDS['nose']]
        # The original's scaling: map pixel / map size * input size.
        assert abs(fx[0] / map_size[0] * 432 - px) < 0.1 and abs(fy[0] / map_size[1] * 368 - py) < 0.1, ratio


@pytest.fixture(scope='module')
def estimators(mobilenet_thin_path):
    from tf_pose_ros.estimator import PoseEstimator

    made = {name: PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', decoder=name)
            for name in DECODERS}
    yield made
    for estimator in made.values():
        estimator.close()


def _median_distance(person, other):
    pairs = [(k, other.keypoint(k.id)) for k in person.keypoints if other.keypoint(k.id)]
    return np.median([np.hypot(a.x - b.x, a.y - b.y) for a, b in pairs]) if len(pairs) >= 4 else np.inf


# group5 squeezes five people into 432x368 at a quarter of their width: the original finds one of
# them, the refined decoder none (README, "Decoders and accuracy").
@pytest.mark.parametrize('name', sorted(set(agreement_photos()) - {'group5'}))
def test_refined_finds_the_originals_people_on_the_sample_photos(estimators, name):
    image = agreement_photos()[name]
    refined = estimators['refined'].infer(image).persons
    original = estimators['original'].infer(image).persons
    # Every person the original finds is one of the refined decoder's: the keypoints they share are
    # within 2% of the image's longer side (the original's are quantised to a quarter network pixel).
    tolerance = 0.02 * max(image.shape[:2])
    for person in original:
        assert min((_median_distance(person, other) for other in refined), default=np.inf) < tolerance
    # The refined decoder may add one partial person: the astronaut's suit gives the network two
    # neck and shoulder hypotheses, and the arm that the original drops stays a person of its own.
    assert len(original) <= len(refined) <= len(original) + (1 if 'astronaut' in name or 'group' in name else 0)


@pytest.mark.parametrize('image, people', [(astronaut_bgr(), 1), (group_photo_bgr(3), 3)])
def test_refined_counts_the_people_of_the_plain_sample_photos(estimators, image, people):
    assert len(estimators['refined'].infer(image).persons) == people


def test_estimator_runs_the_decoders_own_ratio_unless_one_is_set(estimators):
    assert estimators['refined'].upsample_ratio == DEFAULT_RATIOS['refined'] == 1.0
    assert estimators['original'].upsample_ratio == DEFAULT_RATIOS['original'] == 4.0
    assert estimators['refined'].map_size == (54, 46)


def test_decoder_setting_is_validated():
    assert EstimatorConfig().decoder == 'refined'
    assert EstimatorConfig(decoder=' Original ').decoder == 'original'
    with pytest.raises(ConfigError, match="decoder 'fast': expected one of refined, original"):
        EstimatorConfig(decoder='fast')
    with pytest.raises(ValueError, match='decoder'):
        make_decoder('fast')
    with pytest.raises(ValueError, match='fit'):
        RefinedSettings(fit='cubic')


@pytest.mark.parametrize('ratio, decoder, expected', [(None, 'refined', 1.0), (0, 'original', 4.0),
                                                      (0.0, 'refined', 1.0), (2, 'original', 2.0),
                                                      (8.0, 'refined', 8.0)])
def test_an_explicit_upsample_ratio_wins(ratio, decoder, expected):
    config = EstimatorConfig(decoder=decoder, upsample_ratio=ratio)
    assert config.map_ratio == expected
    assert config.upsample_ratio == (None if not ratio else expected)


@pytest.mark.parametrize('bad', [-1.0, 9.0, float('nan'), 'four', True])
def test_bad_upsample_ratios_are_refused(bad):
    with pytest.raises(ConfigError, match='upsample ratio'):
        EstimatorConfig(upsample_ratio=bad)


def test_refined_refuses_non_finite_maps():
    output = np.zeros((6, 6, NUM_HEATMAPS + NUM_PAFS), np.float32)
    output[2, 2, 40] = np.nan
    with pytest.raises(ValueError, match='NaN or infinity'):
        RefinedDecoder().find_parts([output], (48, 48), (6, 6))


def test_multiscale_outputs_are_averaged_at_the_first_ones_size(estimators):
    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', scales=(1.0, 0.75))
    try:
        assert len(estimator.infer(group_photo_bgr(3)).persons) == 3
    finally:
        estimator.close()


COCO_DEV = Path(__file__).resolve().parent.parent.parent / 'shared' / 'coco_val_dev'


@pytest.mark.slow
def test_refined_beats_the_original_on_the_coco_development_set(estimators):
    # The whole development set (149 images), both decoders in one interleaved run.
    from tf_pose_ros.evaluation import evaluate_many

    if not (COCO_DEV / 'person_keypoints.json').is_file():
        pytest.skip('COCO development set not found at %s (only ../shared carries it)' % COCO_DEV)
    refined, original = evaluate_many([estimators['refined'], estimators['original']],
                                      COCO_DEV / 'person_keypoints.json', COCO_DEV / 'images', progress=False)
    assert refined.image_count == original.image_count == 149 and not refined.skipped
    # README: 0.2974 against 0.2487 (the same on every engine giving TensorFlow's maps).
    assert refined.stats['AP'] > original.stats['AP'] + 0.04
    assert refined.stats['AP75'] > original.stats['AP75'] and refined.stats['AR'] > original.stats['AR']
