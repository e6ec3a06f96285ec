"""Aspect-true input, flip test-time augmentation, person ranking, presets and the letterboxed eval."""

import numpy as np
import pytest

from tf_pose_ros.config import PRESETS, ConfigError, EstimatorConfig, aspect_input_size
from tf_pose_ros.decoders.mirror import mirror_part, mirror_tables, unmirror_maps
from tf_pose_ros.decoders.refined.ranking import oks, rank_people
from tf_pose_ros.decoders.types import GroupedPerson
from tf_pose_ros.parts import PART_IDS, PART_NAMES


@pytest.mark.parametrize('frame, expected', [((1280, 720), (528, 304)), ((848, 480), (528, 304)),
                                             ((640, 480), (464, 352)), ((427, 640), (320, 496)),
                                             ((432, 368), (432, 368)), ((500, 500), (400, 400))])
def test_aspect_true_size_keeps_the_pixel_budget_in_multiples_of_16(frame, expected):
    size = aspect_input_size((432, 368), frame)
    assert size == expected
    assert size[0] % 16 == 0 and size[1] % 16 == 0
    assert abs(size[0] * size[1] / (432 * 368) - 1) < 0.08
    assert abs(np.log(size[0] / size[1]) - np.log(frame[0] / frame[1])) < 0.06


def test_aspect_true_size_stays_within_bounds():
    assert aspect_input_size((432, 368), (10000, 10)) == (4096, 16)
    assert aspect_input_size((16, 16), (1280, 720)) == (16, 16)


def test_keep_aspect_follows_the_decoder_unless_set():
    assert EstimatorConfig().run_keep_aspect is True
    assert EstimatorConfig(decoder='original').run_keep_aspect is False
    assert EstimatorConfig(keep_aspect='false').run_keep_aspect is False
    assert EstimatorConfig(decoder='original', keep_aspect=True).run_keep_aspect is True
    with pytest.raises(ConfigError, match='keep_aspect'):
        EstimatorConfig(keep_aspect='sometimes')


def test_a_preset_runs_its_bf16_form_where_bf16_is_fast_and_explicit_settings_win():
    fast = EstimatorConfig(preset='fast')
    for bf16, form in ((False, 'fp32'), (True, 'bf16')):
        assert fast.with_preset(fast_bf16=bf16).preset_values(bf16) == PRESETS['fast'][form]
    # Left to the preset, a config answers with the fp32 form (what runs everywhere).
    assert (fast.run_precision, fast.run_scales, fast.run_flip) == ('fp32', (0.6875,), False)
    default = EstimatorConfig().with_preset(True)
    assert (default.precision, default.scales) == ('bf16', (1.25,))
    mine = EstimatorConfig(preset='fast', precision='fp32', scales='1.0,0.5', flip='true')
    assert mine.with_preset(True).preset_values(True) == {'precision': 'fp32', 'scales': (1.0, 0.5), 'flip': True}
    # An explicit precision runs the fp32 form's scales, so precisions compare at one input size.
    assert EstimatorConfig(precision='fp32').with_preset(True).scales == (1.0,)
    assert EstimatorConfig(precision='bf16').with_preset(True).scales == (1.0,)
    assert EstimatorConfig(preset='fast', precision='bf16').with_preset(True).scales == (0.6875,)
    # The original decoder's default stays the original's settings on any machine.
    original = EstimatorConfig(decoder='original').with_preset(True)
    assert (original.precision, original.scales, original.flip) == ('fp32', (1.0,), False)
    accurate = EstimatorConfig(preset='accurate', flip=False)
    assert accurate.run_flip is False and accurate.with_preset(True).scales == (1.0, 1.5)
    assert accurate.with_preset(True).precision == 'fp32'
    # A preset set later (eval --compare preset=...) still fills what was left unset.
    assert EstimatorConfig().replace(preset='fast').with_preset(True).scales == (0.9375,)
    with pytest.raises(ConfigError, match='preset'):
        EstimatorConfig(preset='fastest')


def test_the_estimator_runs_the_preset_form_its_engine_has(mobilenet_thin_path):
    from tf_pose_ros.engines import fast_bf16, resolve_preset
    from tf_pose_ros.engines.openvino_engine import bf16_is_fast, supported_precisions
    from tf_pose_ros.estimator import PoseEstimator

    config = EstimatorConfig(device='cpu')
    assert fast_bf16(config) == bf16_is_fast() and (not bf16_is_fast() or 'bf16' in supported_precisions())
    assert resolve_preset(config) == config.with_preset(fast_bf16(config))
    # Engines that run fp32 only never get the bf16 form, nor a model whose fp32 engine is another
    # (mobilenet_v2_small: LiteRT); explicit settings are left as they are.
    assert fast_bf16(config.replace(backend='litert')) is False
    assert fast_bf16(config.replace(model='mobilenet_v2_small')) is False
    explicit = config.replace(precision='fp32', scales='1.0', flip='false')
    assert resolve_preset(explicit) is explicit
    # The keyword constructor leaves scales to the preset as the config does.
    estimator = PoseEstimator('mobilenet_thin', device='cpu', preset='accurate')
    assert (estimator.scales, estimator.requested.scales) == ((1.0, 1.5), ())
    assert estimator.last_sizes == ((432, 368), (640, 544)) and estimator.precision == 'fp32'
    # The warm-up photo (3:1) run in another thread does not count as a camera's input.
    estimator.warm_up_thread()
    assert estimator.last_sizes == ((432, 368), (640, 544)) and estimator.last_input == (432, 368)
    estimator.close()


def test_eval_compare_parses_a_preset():
    from tf_pose_ros.cli import build_parser, config_from_args, parse_overrides

    assert parse_overrides('preset=fast') == ({'preset': 'fast'}, {})
    assert parse_overrides('keep_aspect=false flip=true') == ({'keep_aspect': 'false', 'flip': 'true'}, {})
    args = build_parser().parse_args(['eval', '--annotations', 'a.json', '--images', '.', '--compare', 'preset=fast'])
    base = config_from_args(args)
    fast = base.replace(**parse_overrides(args.compare[0])[0])
    assert (base.preset, fast.preset) == ('default', 'fast') and fast.with_preset(True).scales == (0.9375,)
    explicit = config_from_args(build_parser().parse_args(['eval', '--annotations', 'a.json', '--images', '.',
                                                           '--precision', 'fp32', '--preset', 'fast']))
    assert explicit.with_preset(True).precision == 'fp32'


def test_mirror_tables_swap_sides_and_are_an_involution():
    assert PART_NAMES[mirror_part(PART_IDS['left_wrist'])] == 'right_wrist'
    assert mirror_part(PART_IDS['nose']) == PART_IDS['nose'] and mirror_part(PART_IDS['neck']) == PART_IDS['neck']
    source, sign, heat = mirror_tables()
    assert sorted(source) == list(range(57)) and heat[18] == 18
    maps = np.random.default_rng(0).random((2, 6, 8, 57)).astype(np.float32)
    np.testing.assert_array_equal(unmirror_maps(unmirror_maps(maps)), maps)


def _mirrored(person, width):
    """The person as the mirror image shows it: x mirrored, left and right parts swapped."""
    return {mirror_part(k.id): (width - k.x, k.y) for k in person.keypoints}


@pytest.fixture(scope='module')
def flip_estimator(mobilenet_thin_path):
    from tf_pose_ros.estimator import PoseEstimator

    # fp32, as before presets had a bf16 form: the mirror's arithmetic is checked, not the precision.
    return PoseEstimator('mobilenet_thin', device='cpu', backend='openvino', flip=True, precision='fp32')


def test_flip_tta_gives_mirrored_people_on_a_mirrored_image(flip_estimator, astronaut):
    image = astronaut
    mirror = np.ascontiguousarray(image[:, ::-1])
    people, mirrored = flip_estimator.infer(image).persons, flip_estimator.infer(mirror).persons
    assert len(people) == len(mirrored) >= 1
    width = image.shape[1]
    for person, other in zip(people, mirrored):
        theirs = _mirrored(other, width)
        ours = {k.id: (k.x, k.y) for k in person.keypoints}
        # The network is not exactly mirror-symmetric (stride-2 convolutions pad one side): a weak
        # part may be found on one side only, and positions agree within 2 pixels.
        assert len(set(ours) ^ set(theirs)) <= 1 and len(set(ours) & set(theirs)) >= 10
        for part in set(ours) & set(theirs):
            (x, y), (tx, ty) = ours[part], theirs[part]
            assert abs(x - tx) < 2.0 and abs(y - ty) < 2.0, PART_NAMES[part]


def test_flip_tta_changes_little_on_the_astronaut(flip_estimator, mobilenet_thin_path, astronaut):
    from tf_pose_ros.estimator import PoseEstimator

    plain = PoseEstimator('mobilenet_thin', device='cpu', backend='openvino', precision='fp32').infer(astronaut).persons
    flipped = flip_estimator.infer(astronaut).persons
    assert len(plain) == len(flipped) == 1
    nose = [p.keypoint(PART_IDS['nose']) for p in (plain[0], flipped[0])]
    assert abs(nose[0].x - nose[1].x) < 4 and abs(nose[0].y - nose[1].y) < 4


def test_a_new_frame_size_decides_the_input_again_without_recompiling_a_seen_size(mobilenet_thin_path, astronaut):
    import cv2

    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator('mobilenet_thin', device='cpu', backend='openvino')
    # The load compiled one input: the 4:3 one its warm-up frame (a 640x480 camera's shape) runs at.
    assert len(estimator.network._requests) == 1
    compiled = []
    original = estimator.network._compile

    def counting(xml, settings):
        compiled.append(xml)
        return original(xml, settings)

    estimator.network._compile = counting
    wide = cv2.resize(astronaut, (1280, 720))
    people = estimator.infer(wide).persons
    assert estimator.last_input == (528, 304) and len(compiled) == 1 and len(people) == 1
    estimator.infer(cv2.resize(astronaut, (640, 480)))
    assert estimator.last_input == (464, 352) and len(compiled) == 1
    estimator.infer(cv2.resize(astronaut, (480, 720)))
    assert estimator.last_input == (320, 496) and len(compiled) == 2
    for frame in ((1280, 720), (1920, 1080), (848, 480), (720, 1080), (640, 480)):
        estimator.infer(cv2.resize(astronaut, frame))
    assert len(compiled) == 2 and estimator.last_input == (464, 352)
    # Frames of several sizes in one call: each its own input.
    results = estimator.infer_batch([wide, cv2.resize(astronaut, (640, 480))])
    assert [r.image_size for r in results] == [(1280, 720), (640, 480)] and len(compiled) == 2
    squeezed = PoseEstimator('mobilenet_thin', device='cpu', backend='openvino', keep_aspect=False)
    squeezed.infer(wide)
    assert squeezed.last_input == (432, 368)


def _person(score, parts):
    return GroupedPerson(score, {PART_IDS[name]: (x, y, s) for name, (x, y, s) in parts.items()})


def test_ranking_scores_whole_people_above_fragments_and_drops_duplicates():
    whole = _person(0.5, {'nose': (10, 5, .8), 'neck': (10, 10, .8), 'right_shoulder': (6, 10, .7),
                          'left_shoulder': (14, 10, .7), 'right_hip': (7, 25, .6), 'left_hip': (13, 25, .6),
                          'right_knee': (7, 35, .6), 'left_knee': (13, 35, .6)})
    fragment = _person(0.9, {'nose': (10.3, 5.2, .9), 'neck': (10.2, 10.1, .9), 'right_eye': (9, 4, .9),
                             'left_eye': (11, 4, .9)})
    elsewhere = _person(0.9, {'nose': (60, 5, .9), 'neck': (60, 10, .9), 'right_eye': (59, 4, .9),
                              'left_eye': (61, 4, .9)})
    assert [p.score for p in rank_people([fragment, whole], 'mean')] == [0.9, 0.5]
    ranked = rank_people([fragment, whole, elsewhere], 'parts')
    assert ranked[0].parts == whole.parts and len(ranked) == 3
    assert oks(whole, fragment) > 0.9 and oks(whole, elsewhere) == 0.0 or oks(whole, elsewhere) < 0.01
    kept = rank_people([fragment, whole, elsewhere], 'parts', suppress_oks=0.5)
    assert [p.parts for p in kept] == [whole.parts, elsewhere.parts]


def test_letterbox_pads_to_the_aspect_and_maps_back():
    from tf_pose_ros.preprocess import letterbox_image, letterbox_size

    image = np.full((480, 640, 3), 7, np.uint8)
    padded, (dx, dy) = letterbox_image(image, 16 / 9)
    assert padded.shape == (480, 853, 3) and (dx, dy) == (106.0, 0.0)
    assert padded[:, :106].max() == 0 and padded[:, 106:746].min() == 7
    assert letterbox_size((427, 640), 16 / 9) == (1138, 640)
    assert letterbox_size((1280, 500), 16 / 9) == (1280, 720)


def test_mobilenet_v2_small_runs_the_same_settings_on_a_wide_frame(mobilenet_v2_small_path, astronaut):
    import cv2

    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator('mobilenet_v2_small', model_path=str(mobilenet_v2_small_path), device='cpu',
                              flip=True)
    people = estimator.infer(cv2.resize(astronaut, (1280, 720))).persons
    assert estimator.last_input == (528, 304) and len(people) == 1
