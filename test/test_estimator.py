"""End to end with the real mobilenet_thin weights on real photos."""

import numpy as np
import pytest

from tf_pose_ros.decoders.original.grouping import group_people
from tf_pose_ros.decoders.original.maps import postprocess, upsampled_size
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork
from tf_pose_ros.estimator import STAGES, PoseEstimator
from tf_pose_ros.parts import PART_IDS
from tf_pose_ros.samples import group_photo_bgr


def test_full_pipeline_finds_the_original_people(mobilenet_thin_path, paf_vectors):
    # Network + our post-processing + our grouping on the frames the original processed.
    frames, expected = paf_vectors
    network = FrozenGraphNetwork(mobilenet_thin_path, device='cpu')
    for name, frame in frames.items():
        output = network(frame['net_input'][None].astype(np.float32))[0]
        people = group_people(*postprocess(output, upsampled_size((432, 368), 4.0)))
        assert len(people) == len(expected[name])
        for person, want in zip(people, expected[name]):
            assert person.score == pytest.approx(want['score'], abs=1e-4)
            assert sorted(person.parts) == sorted(int(k) for k in want['parts'])
            for part_id, (x, y, score) in want['parts'].items():
                got = person.parts[int(part_id)]
                assert (got[0], got[1]) == (x, y)
                assert got[2] == pytest.approx(score, abs=1e-4)


def _kp(person, name):
    keypoint = person.keypoint(PART_IDS[name])
    assert keypoint is not None, 'missing %s' % name
    return keypoint


def test_astronaut(estimator, astronaut):
    result = estimator.infer(astronaut)
    assert result.image_size == (512, 512)
    assert len(result.persons) == 1
    person = result.persons[0]
    assert person.score > 0.3
    nose, neck = _kp(person, 'nose'), _kp(person, 'neck')
    # The face is around (222, 125) in the 512x512 photo; shoulders either side of the neck.
    assert 180 < nose.x < 270 and 80 < nose.y < 170
    assert neck.y > nose.y + 20
    right, left = _kp(person, 'right_shoulder'), _kp(person, 'left_shoulder')
    assert right.x < neck.x < left.x
    assert right.y > nose.y and left.y > nose.y
    for eye in ('right_eye', 'left_eye'):
        assert _kp(person, eye).y < nose.y + 5
    for keypoint in person.keypoints:
        assert 0 <= keypoint.x < 512 and 0 <= keypoint.y < 512 and 0 < keypoint.score <= 1.5
        assert keypoint.x == pytest.approx(keypoint.x_norm * 512)
    assert set(result.timings_ms) == set(STAGES)


def test_group_photo_people_in_their_own_tiles(estimator):
    count = 3
    image = group_photo_bgr(count)
    tile = image.shape[0]
    result = estimator.infer(image)
    assert len(result.persons) == count
    tiles = sorted(int(_kp(p, 'nose').x // tile) for p in result.persons)
    assert tiles == list(range(count))
    for person in result.persons:
        column = int(_kp(person, 'nose').x // tile)
        for keypoint in person.keypoints:
            assert column * tile - 5 <= keypoint.x <= (column + 1) * tile + 5


def test_coco17_conversion(estimator, astronaut):
    person = estimator.infer(astronaut).persons[0]
    coco = person.coco17()
    assert len(coco) == 17
    nose = _kp(person, 'nose')
    assert coco[0] == (nose.x, nose.y, nose.score)
    left_shoulder = _kp(person, 'left_shoulder')
    assert coco[5] == (left_shoulder.x, left_shoulder.y, left_shoulder.score)


def test_other_resolution_and_ratio(mobilenet_thin_path, astronaut):
    estimator = PoseEstimator('mobilenet_thin', resolution='320x240', upsample_ratio=2.0, device='cpu')
    assert estimator.map_size == (80, 60)
    result = estimator.infer(astronaut)
    assert len(result.persons) == 1
    assert 150 < _kp(result.persons[0], 'nose').x < 290


def test_mobilenet_v2_small(mobilenet_v2_small_path, astronaut):
    estimator = PoseEstimator('mobilenet_v2_small', model_path=str(mobilenet_v2_small_path), device='cpu')
    result = estimator.infer(astronaut)
    assert len(result.persons) == 1
    nose = _kp(result.persons[0], 'nose')
    assert 170 < nose.x < 280 and 70 < nose.y < 180


def test_drawing_marks_keypoints_in_original_colours(estimator, astronaut):
    result = estimator.infer(astronaut)
    canvas = draw_persons(astronaut, result.persons)
    assert canvas.shape == astronaut.shape and not np.shares_memory(canvas, astronaut)
    nose = _kp(result.persons[0], 'nose')
    x, y = int(nose.x_norm * 512 + 0.5), int(nose.y_norm * 512 + 0.5)
    # The nose is part 0, drawn with tf-pose's first colour triple (limbs drawn later cover its centre).
    window = canvas[y - 5:y + 6, x - 5:x + 6].reshape(-1, 3)
    assert any(tuple(pixel) == (255, 0, 0) for pixel in window)
    assert np.count_nonzero(np.any(canvas != astronaut, axis=2)) > 500


def test_fast_postprocessing_gives_todays_people(estimator, astronaut, paf_vectors):
    # The estimator reads the maps at network size (ratio 4 is replication); today's path upsamples.
    from tf_pose_ros.people import persons_from_grouping
    from tf_pose_ros.preprocess import resize_for_network

    frames, _ = paf_vectors
    images = [astronaut, group_photo_bgr(3), group_photo_bgr(5)[:, ::-1].copy()]
    images += [frame['net_input'].astype(np.uint8) for frame in frames.values()]
    for image in images:
        result = estimator.infer(image)
        output = estimator.network(resize_for_network(image, estimator.resolution)[None])[0]
        grouped = group_people(*postprocess(output, estimator.map_size))
        expected = persons_from_grouping(grouped, estimator.map_size, (image.shape[1], image.shape[0]))
        assert result.persons == expected


@pytest.mark.slow
@pytest.mark.parametrize('backend', ['tensorflow', 'openvino'])
def test_infer_batch_gives_each_frame_its_own_people(mobilenet_thin_path, astronaut, backend):
    # tensorflow runs the batch at once, openvino (compiled for batch 1) one frame after another;
    # frames of different sizes, one without people.
    estimator = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', backend=backend)
    frames = [astronaut, group_photo_bgr(3), np.zeros((240, 320, 3), np.uint8), astronaut[:, ::-1]]
    results = estimator.infer_batch(frames)
    assert [len(r.persons) for r in results] == [1, 3, 0, 1]
    for frame, result in zip(frames, results):
        single = estimator.infer(frame)
        assert result.image_size == single.image_size == (frame.shape[1], frame.shape[0])
        assert [p.keypoints for p in result.persons] == [p.keypoints for p in single.persons]
        assert set(result.timings_ms) == set(STAGES)
    assert estimator.infer_batch([]) == []
    estimator.close()


def test_the_frame_sizes_inferred_are_remembered_and_warm_ups_are_not(estimator, astronaut):
    before = estimator.frame_sizes
    estimator.warm_up_thread()
    assert estimator.frame_sizes == before
    odd = np.ascontiguousarray(astronaut[:200, :336])
    estimator.infer(odd)
    estimator.infer(astronaut)
    estimator.infer(odd)
    assert (336, 200) in estimator.frame_sizes
    assert len(estimator.frame_sizes) == len(set(estimator.frame_sizes))  # each size once, in order of arrival
