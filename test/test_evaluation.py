"""COCO keypoint evaluation on small annotated sets built from known geometry, with the real network."""

import json

import cv2
import numpy as np
import pytest

from tf_pose_ros.benchmarks.coco_eval import STAT_NAMES, EvalResult, evaluate, format_table, person_to_coco
from tf_pose_ros.cli import run_eval
from tf_pose_ros.config import parse_scales
from tf_pose_ros.parts import COCO17_NAMES
from tf_pose_ros.people import Keypoint, Person
from tf_pose_ros.samples import group_photo_bgr

# COCO's person skeleton (1-based keypoint indices), as in person_keypoints_*.json.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
                 [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
# COCO-17 slot of each slot's mirror image (left <-> right).
MIRROR_SLOT = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
GROUP_HEIGHT = 368
# The astronaut's body in the 512x512 photo (x, y, w, h), read off the image, and the share of that
# box the body covers: COCO's area is the segmentation's, and OKS scales its tolerance with it.
ASTRONAUT_BOX = (20.0, 12.0, 350.0, 500.0)
PERSON_FILL = 0.7


@pytest.fixture(scope='module')
def astronaut_truth(estimator, astronaut):
    """The astronaut's 17 COCO keypoints ((x, y) or None) from the network on the plain photo."""
    persons = estimator.infer(astronaut).persons
    assert len(persons) == 1
    truth = [None if k is None else (k[0], k[1]) for k in persons[0].coco17()]
    assert sum(k is not None for k in truth) >= 6  # enough parts for a meaningful OKS
    return truth


def _place(truth, scale, offset, mirror_width=None):
    """The astronaut resized by ``scale`` and pasted at ``offset`` (optionally mirrored first).

    Returns (17 keypoints, person box (x, y, w, h)) in the composite's pixels.
    """
    placed = [None if k is None else (k[0] * scale, k[1] * scale) for k in truth]
    x, y, w, h = (v * scale for v in ASTRONAUT_BOX)
    if mirror_width is not None:
        # A mirrored person's left parts are where its right ones were, reflected.
        placed = [None if placed[MIRROR_SLOT[i]] is None else (mirror_width - placed[MIRROR_SLOT[i]][0],
                                                                placed[MIRROR_SLOT[i]][1])
                  for i in range(17)]
        x = mirror_width - (x + w)
    keypoints = [None if k is None else (k[0] + offset[0], k[1] + offset[1]) for k in placed]
    return keypoints, (x + offset[0], y + offset[1], w, h)


def _composite(astronaut, scale, offset, canvas_size):
    width, height = canvas_size
    canvas = np.full((height, width, 3), 40, np.uint8)
    side = int(round(512 * scale))
    person = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    canvas[offset[1]:offset[1] + side, offset[0]:offset[0] + side] = person
    return canvas


def _annotation(person, ann_id, image_id, shift):
    keypoints, (x, y, w, h) = person
    flat = []
    for k in keypoints:
        flat += [0, 0, 0] if k is None else [float(k[0] + shift[0]), float(k[1] + shift[1]), 2]
    return {'id': ann_id, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0, 'keypoints': flat,
            'num_keypoints': sum(k is not None for k in keypoints),
            'bbox': [x + shift[0], y + shift[1], w, h], 'area': PERSON_FILL * w * h, 'segmentation': []}


def _write_set(directory, entries, shift=(0.0, 0.0)):
    """Write images and person_keypoints.json; entries are (file name, image, [_place(...), ...]).

    An image of None is not written (a missing file); bytes are written as they are. ``shift``
    displaces every ground-truth keypoint.
    """
    directory.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id, (name, image, people) in enumerate(entries, start=1):
        if isinstance(image, bytes):
            (directory / name).write_bytes(image)
            width, height = 640, 480
        else:
            if image is not None:
                cv2.imwrite(str(directory / name), image)
            height, width = (480, 640) if image is None else image.shape[:2]
        images.append({'id': image_id, 'file_name': name, 'width': width, 'height': height})
        for person in people:
            annotations.append(_annotation(person, len(annotations) + 1, image_id, shift))
    categories = [{'id': 1, 'name': 'person', 'supercategory': 'person', 'keypoints': list(COCO17_NAMES),
                   'skeleton': COCO_SKELETON}]
    path = directory / 'person_keypoints.json'
    path.write_text(json.dumps({'images': images, 'annotations': annotations, 'categories': categories}))
    return path


@pytest.fixture(scope='module')
def known_entries(astronaut, astronaut_truth):
    """Three images with four people whose keypoints follow from how the astronaut was placed."""
    entries = []
    for name, scale, offset, canvas in (('big.png', 1.0, (96, 24), (640, 560)),
                                        ('small.png', 0.7, (220, 80), (640, 480))):
        entries.append((name, _composite(astronaut, scale, offset, canvas),
                        [_place(astronaut_truth, scale, offset)]))
    # group_photo_bgr(2): the astronaut resized to GROUP_HEIGHT, then a mirrored copy beside it.
    s = GROUP_HEIGHT / 512.0
    entries.append(('group.png', group_photo_bgr(2, height=GROUP_HEIGHT),
                    [_place(astronaut_truth, s, (0, 0)),
                     _place(astronaut_truth, s, (GROUP_HEIGHT, 0), mirror_width=GROUP_HEIGHT)]))
    return entries


def test_person_to_coco_order_and_missing_parts():
    def kp(part_id, x, y):
        return Keypoint(part_id, 'p%d' % part_id, x, y, 0.9, 0.0, 0.0)

    # OpenPose ids: 0 nose, 1 neck (no COCO slot), 2 right shoulder, 5 left shoulder, 17 left ear.
    person = Person(1.5, (kp(0, 10.0, 11.0), kp(1, 1.0, 1.0), kp(2, 20.0, 21.0), kp(5, 30.0, 31.0),
                          kp(17, 40.0, 41.0)))
    flat = person_to_coco(person)
    assert len(flat) == 51
    slots = [flat[i:i + 3] for i in range(0, 51, 3)]
    assert slots[COCO17_NAMES.index('nose')] == [10.0, 11.0, 2]
    assert slots[COCO17_NAMES.index('left_shoulder')] == [30.0, 31.0, 2]
    assert slots[COCO17_NAMES.index('right_shoulder')] == [20.0, 21.0, 2]
    assert slots[COCO17_NAMES.index('left_ear')] == [40.0, 41.0, 2]
    assert sum(slot == [0.0, 0.0, 0] for slot in slots) == 13


def test_high_ap_on_known_keypoints(tmp_path, estimator, known_entries):
    result = evaluate(estimator, _write_set(tmp_path, known_entries), tmp_path, progress=False)
    print(format_table(result))
    assert result.image_count == 3 and not result.skipped and not result.message
    assert result.detections == 4
    # Every person is found (OKS > 0.5); the network places the suit's shoulders a little
    # differently at each scale, so OKS is about 0.8 to 0.96 and AP over the thresholds 0.5:0.95 < 1.
    assert result.stats['AP50'] == 1.0 and result.stats['AR50'] == 1.0
    assert result.stats['AP'] > 0.75 and result.stats['AR'] > 0.75
    assert result.mean_time_ms > 0


def test_displaced_ground_truth_scores_low(tmp_path, estimator, known_entries):
    path = _write_set(tmp_path, known_entries, shift=(120.0, 90.0))
    result = evaluate(estimator, path, tmp_path, progress=False)
    print(format_table(result))
    assert result.detections == 4
    assert result.stats['AP'] < 0.2 and result.stats['AR'] < 0.2


def test_missing_and_unreadable_images_are_skipped(tmp_path, estimator, known_entries, capsys, caplog):
    name, image, people = known_entries[0]
    path = _write_set(tmp_path, [('absent.jpg', None, people), (name, image, people),
                                 ('broken.jpg', b'not a jpeg', people)])
    result = evaluate(estimator, path, tmp_path, progress=True)
    err = capsys.readouterr().err
    assert '3/3' in err  # the progress bar counts every image, skipped or not
    assert result.image_count == 1
    assert [(s['file'].split('/')[-1], s['reason']) for s in result.skipped] == [
        ('absent.jpg', 'file not found'), ('broken.jpg', 'cannot read as an image')]
    # Library code logs what it skipped; the command line shows the log.
    assert 'absent.jpg' in caplog.text and 'broken.jpg' in caplog.text
    # Skipped images are not scored, so the one read image still scores well.
    assert result.stats['AP'] > 0.75
    assert '2 image(s) skipped' in format_table(result)


def test_no_detections_gives_zero_ap(tmp_path, estimator, astronaut_truth):
    blank = np.full((480, 640, 3), 40, np.uint8)
    path = _write_set(tmp_path, [('blank.png', blank, [_place(astronaut_truth, 0.8, (100, 40))])])
    result = evaluate(estimator, path, tmp_path, progress=False)
    assert result.detections == 0 and result.image_count == 1
    assert all(result.stats[name] == 0.0 for name in STAT_NAMES)
    assert 'no person detected' in result.message
    assert 'no person detected' in format_table(result)


def test_bad_inputs_raise_clear_errors(tmp_path, estimator, known_entries):
    with pytest.raises(FileNotFoundError, match='annotations file not found'):
        evaluate(estimator, tmp_path / 'nope.json', tmp_path)
    with pytest.raises(FileNotFoundError, match='images directory'):
        evaluate(estimator, tmp_path / 'nope.json', tmp_path / 'nodir')
    (tmp_path / 'bad.json').write_text('[1, 2]')
    with pytest.raises(ValueError, match='not a COCO annotation file'):
        evaluate(estimator, tmp_path / 'bad.json', tmp_path)


def test_format_table_original_columns():
    stats = dict(zip(STAT_NAMES, [0.28064, 0.5577, 0.2474, -1.0, 0.2843, 0.3214, 0.584, 0.2997, -1.0, 0.3587]))
    table = format_table(EvalResult(stats=stats, image_count=12, mean_time_ms=71.25, detections=30))
    header, rule, row = table.splitlines()
    assert [c.strip() for c in header.strip('|').split('|')] == [
        'AP', 'AP 50', 'AP 75', 'AP medium', 'AP large', 'AR', 'AR 50', 'AR 75', 'AR medium', 'AR large',
        'ms/image', 'images']
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells == ['0.2806', '0.5577', '0.2474', '-1.0000', '0.2843', '0.3214', '0.5840', '0.2997',
                     '-1.0000', '0.3587', '71.2', '12']


def _eval_parser():
    from tf_pose_ros.cli import build_parser

    return build_parser()


def test_cli_prints_table_and_writes_json(tmp_path, estimator, known_entries, capsys):
    path = _write_set(tmp_path / 'set', known_entries)
    out = tmp_path / 'reports' / 'eval.json'
    seen = []

    def make_estimator(args):
        seen.append(args)
        return estimator

    args = _eval_parser().parse_args(['eval', '--annotations', str(path), '--images', str(tmp_path / 'set'),
                                      '--max-images', '1', '--scales', '1.0', '--json', str(out),
                                      '--no-progress'])
    assert args.func is run_eval
    assert run_eval(args, make_estimator) == 0
    assert seen and seen[0].scales == '1.0' and seen[0].model == 'mobilenet_thin'
    printed = capsys.readouterr().out
    assert 'AP medium' in printed and 'AR large' in printed and 'ms/image' in printed
    report = json.loads(out.read_text())
    assert report['image_count'] == 1 and report['scales'] == [1.0]
    assert report['model'] == 'mobilenet_thin' and report['resolution'] == [432, 368]
    assert set(report['stats']) == set(STAT_NAMES) and report['stats']['AP'] > 0.75
    assert '%.4f' % report['stats']['AP'] in printed


def test_cli_exit_status_1_when_images_skipped(tmp_path, estimator, known_entries):
    name, image, people = known_entries[1]
    path = _write_set(tmp_path, [(name, image, people), ('absent.png', None, people)])
    args = _eval_parser().parse_args(['eval', '--annotations', str(path), '--images', str(tmp_path),
                                      '--no-progress'])
    assert run_eval(args, lambda _: estimator) == 1


@pytest.mark.parametrize('bad, message', [('1.0,abc', "'abc' is not a number"), ('0', 'must be in'),
                                          ('1.0,', "'' is not a number"), ('9', 'must be in')])
def test_cli_bad_scales(tmp_path, bad, message):
    from tf_pose_ros.cli import CliError

    path = _write_set(tmp_path, [])
    args = _eval_parser().parse_args(['eval', '--annotations', str(path), '--images', str(tmp_path),
                                      '--scales', bad])

    def never(_):
        raise AssertionError('the estimator must not be built for bad --scales')

    with pytest.raises(CliError, match=message):
        run_eval(args, never)


def test_parse_scales():
    assert parse_scales('1.0,0.5') == (1.0, 0.5)
    assert parse_scales(' 2 ') == (2.0,)


def test_cli_missing_annotations(tmp_path):
    from tf_pose_ros.cli import CliError

    args = _eval_parser().parse_args(['eval', '--annotations', str(tmp_path / 'x.json'), '--images',
                                      str(tmp_path)])
    with pytest.raises(CliError, match='--annotations file not found'):
        run_eval(args, lambda _: pytest.fail('no estimator for a missing annotation file'))


def test_an_image_of_another_size_than_annotated_is_skipped(tmp_path, estimator, known_entries):
    name, image, people = known_entries[0]
    path = _write_set(tmp_path, [(name, image, people), ('small.png', known_entries[1][1], known_entries[1][2])])
    # The second image is replaced by a half-size copy: its keypoints would be scored at wrong places.
    small = known_entries[1][1]
    cv2.imwrite(str(tmp_path / 'small.png'), cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2)))
    result = evaluate(estimator, path, tmp_path, progress=False)
    assert result.image_count == 1
    assert [(s['file'].split('/')[-1], s['reason']) for s in result.skipped] == [
        ('small.png', 'image is 320x240, its annotation says 640x480')]
    assert result.stats['AP'] > 0.75  # the other image alone is scored
    assert 'not the annotated size' in format_table(result)


def test_an_annotation_file_without_people_is_refused(tmp_path, estimator, known_entries):
    path = _write_set(tmp_path, known_entries[:1])
    data = json.loads(path.read_text())
    data['categories'] = [{'id': 1, 'name': 'dog', 'supercategory': 'animal'}]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r'has no "person" category \(it has: dog\)'):
        evaluate(estimator, path, tmp_path)


def test_other_categories_in_the_file_do_not_change_the_people_ap(tmp_path, estimator, known_entries):
    path = _write_set(tmp_path, known_entries)
    plain = evaluate(estimator, path, tmp_path, progress=False)
    data = json.loads(path.read_text())
    data['categories'].append({'id': 18, 'name': 'dog', 'supercategory': 'animal'})
    data['annotations'].append({'id': 99, 'image_id': 1, 'category_id': 18, 'iscrowd': 0, 'bbox': [5, 5, 50, 50],
                                'area': 2500.0, 'segmentation': [], 'num_keypoints': 0, 'keypoints': [0] * 51})
    path.write_text(json.dumps(data))
    mixed = evaluate(estimator, path, tmp_path, progress=False)
    assert mixed.stats == plain.stats


def test_evaluate_many_interleaves_configurations(tmp_path, estimator, known_entries, mobilenet_thin_path):
    from tf_pose_ros.benchmarks.coco_eval import evaluate_many, format_rows
    from tf_pose_ros.estimator import PoseEstimator

    refined = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', decoder='refined')
    try:
        path = _write_set(tmp_path, known_entries)
        first, second = evaluate_many([estimator, refined], path, tmp_path, progress=False)
        alone = evaluate(refined, path, tmp_path, progress=False)
    finally:
        refined.close()
    assert second.stats == alone.stats and first.stats == evaluate(estimator, path, tmp_path, progress=False).stats
    # The refined decoder adds the astronaut's partial second hypothesis (test_decoders.py) at a
    # lower score: it finds everyone, as precisely.
    assert first.detections == 4 and 4 <= second.detections <= 6
    assert second.stats['AP50'] == 1.0 and second.stats['AP'] > 0.75 and second.stats['AR'] > 0.75
    table = format_rows([('original', first), ('refined', second)])
    assert table.splitlines()[0].startswith('| configuration') and 'refined |' in table.splitlines()[-1]


@pytest.mark.parametrize('text, message', [('decoder', 'NAME=VALUE'), ('speed=3', 'NAME=VALUE'),
                                           ('threads=two', 'not a number'), ('decoder=fast', "decoder 'fast'"),
                                           ('refined.speed=3', 'refined.FIELD with FIELD one of smooth_sigma'),
                                           ('refined.extend=maybe', 'not true or false'),
                                           ('refined.min_parts=many', 'not a number'),
                                           ('refined.thresh_extend=0', 'thresholds must be positive'),
                                           ('decoder=original refined.extend=false', 'needs decoder=refined'),
                                           ('interpolation=bicubic', "interpolation 'bicubic'")])
def test_cli_compare_refuses_bad_settings(tmp_path, text, message):
    from tf_pose_ros.cli import CliError

    args = _eval_parser().parse_args(['eval', '--annotations', str(tmp_path / 'a.json'), '--images', str(tmp_path),
                                      '--compare', text])
    with pytest.raises(CliError, match=message):
        run_eval(args)


def test_cli_compare_takes_the_refined_decoders_fields():
    from tf_pose_ros.cli import parse_overrides

    assert parse_overrides('decoder=original upsample_ratio=4') == ({'decoder': 'original', 'upsample_ratio': 4.0}, {})
    assert parse_overrides('interpolation=cubic') == ({'interpolation': 'cubic'}, {})
    assert parse_overrides('precision=bf16 refined.extend=False refined.min_parts=3 refined.thresh_extend=0.01') == (
        {'precision': 'bf16'}, {'extend': False, 'min_parts': 3, 'thresh_extend': 0.01})
