"""Faces blurred from keypoints: the face boxes, the pixelation, the faint people, and the coverage measure."""

import json
import math

import cv2
import numpy as np
import pytest

from tf_pose_ros.benchmarks.privacy_eval import annotated_face_box, covered_share, evaluate_privacy
from tf_pose_ros.cli import main
from tf_pose_ros.parts import PART_IDS
from tf_pose_ros.people import Keypoint, Person
from tf_pose_ros.privacy import Box, anonymize, blur_mask, blurred_people, face_boxes, pixelate
from tf_pose_ros.privacy import face_regions as regions
from tf_pose_ros.privacy.pixelation import BLOCKS_ACROSS

PHOTO = 'tf_pose_ros/data/warmup_people.jpg'


def person(**points):
    """A Person with keypoints at the given part names: nose=(x, y), ..."""
    keypoints = tuple(Keypoint(PART_IDS[name], name, float(x), float(y), 0.9, x / 640, y / 480)
                      for name, (x, y) in sorted(points.items(), key=lambda item: PART_IDS[item[0]]))
    return Person(0.9, keypoints)


@pytest.fixture(scope='module')
def default_estimator(mobilenet_thin_path):
    """The default configuration (refined decoder, default preset): the one docs/privacy.md measures."""
    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator()
    yield estimator
    estimator.close()


# --- face boxes --------------------------------------------------------------------------------------
def test_a_frontal_face_box_holds_the_head_and_is_sized_by_it():
    face = person(nose=(320, 200), right_eye=(310, 190), left_eye=(330, 190), right_ear=(300, 195),
                  left_ear=(340, 195), neck=(320, 240))
    (box,) = face_boxes([face], (640, 480))
    head = regions.head_height({k.id: (k.x, k.y) for k in face.keypoints})
    assert head == pytest.approx(max(40 * 1.6, 20 * 3.6, 40 * 0.9, math.dist((300, 195), (320, 240)) * 1.1))
    assert box.y1 - box.y0 == pytest.approx(regions.HEAD_SCALE * head, abs=2)
    assert box.x0 < 300 and box.x1 > 340 and box.y0 < 190 and box.y1 > 200  # every head keypoint inside
    assert abs((box.x0 + box.x1) / 2 - 320) <= 1  # centred on them


def test_a_turned_away_head_is_sized_by_the_body():
    # Seen from behind: one ear, no face; the shoulders are 100 px apart, so the head is about 60 px tall.
    back = person(right_ear=(320, 150), right_shoulder=(270, 200), left_shoulder=(370, 200), neck=(320, 200))
    (box,) = face_boxes([back], (640, 480))
    assert box.y1 - box.y0 >= regions.HEAD_SCALE * 0.6 * 100 - 1
    assert box.x0 < 320 < box.x1 and box.y0 < 150 < box.y1


def test_a_person_without_head_keypoints_gets_the_region_above_the_shoulders():
    headless = person(neck=(320, 300), right_shoulder=(280, 300), left_shoulder=(360, 300),
                      right_hip=(300, 420), left_hip=(340, 420))
    (box,) = face_boxes([headless], (640, 480))
    assert box.y1 <= 300 + 5 and box.y0 < 300 - 40  # above the shoulder line, a head's height up
    assert box.x0 < 320 < box.x1


def test_a_person_lying_down_gets_the_region_along_the_body():
    # Hips to the right of the neck: the head is to the left, not above.
    lying = person(neck=(300, 240), right_shoulder=(300, 200), left_shoulder=(300, 280), right_hip=(420, 220),
                   left_hip=(420, 260))
    (box,) = face_boxes([lying], (640, 480))
    assert box.x1 <= 300 + 5 and box.y0 < 240 < box.y1


def test_legs_alone_give_no_box_and_boxes_stay_in_the_image():
    assert face_boxes([person(right_knee=(100, 400), right_ankle=(100, 460))], (640, 480)) == []
    (box,) = face_boxes([person(nose=(2, 3), right_eye=(6, 1), neck=(4, 40))], (640, 480))
    assert box.x0 == 0 and box.y0 == 0 and box.x1 > 6 and box.y1 > 3


# --- pixelation --------------------------------------------------------------------------------------
def test_pixelation_fills_flat_blocks_inside_and_keeps_every_pixel_outside(astronaut):
    box = Box(150, 40, 350, 260)
    out = pixelate(astronaut, [box])
    outside = ~blur_mask(astronaut.shape[:2], [box])
    assert np.array_equal(out[outside], astronaut[outside])
    region = out[box.y0:box.y1, box.x0:box.x1].astype(int)
    # A few flat blocks across: no more distinct colours than blocks, and nothing of the face's detail.
    assert len(np.unique(region.reshape(-1, 3), axis=0)) <= BLOCKS_ACROSS ** 2 + 2 * BLOCKS_ACROSS
    assert np.abs(region - astronaut[box.y0:box.y1, box.x0:box.x1]).mean() > 10
    assert not np.shares_memory(out, astronaut)


@pytest.mark.parametrize('dtype', ['u1', '<u2', '>u2', '<f4'])
@pytest.mark.parametrize('channels', [1, 2, 4, 5])
def test_pixelation_takes_any_pixel_type_and_channel_count(dtype, channels):
    image = np.random.default_rng(3).integers(0, 250, (40, 60, channels)).astype(dtype)
    box = Box(10, 5, 50, 35)
    out = pixelate(image, [box])
    assert out.dtype == image.dtype and out.shape == image.shape
    outside = ~blur_mask(image.shape[:2], [box])
    assert np.array_equal(out[outside], image[outside])
    block = out[5:13, 10:18]  # the first block (40 wide / 5 blocks = 8 px) is one value per channel
    assert (block == block[0, 0]).all()
    assert np.abs(out[5:35, 10:50].astype(float) - image[5:35, 10:50]).mean() > 10


def test_anonymize_blurs_the_faces_the_network_finds_and_nothing_far_from_them(default_estimator):
    photo = cv2.imread(PHOTO)
    result = default_estimator.infer(photo, faint=True)
    assert len(result.persons) == 3
    out = anonymize(photo, blurred_people(result))
    assert np.array_equal(photo, cv2.imread(PHOTO))  # the input is left alone
    for found in result.persons:
        nose = found.keypoint(PART_IDS['nose'])
        x, y = int(nose.x), int(nose.y)
        face = (slice(max(0, y - 15), y + 15), slice(x - 15, x + 15))
        assert np.abs(out[face].astype(int) - photo[face]).mean() > 8, 'the face at %d, %d is not blurred' % (x, y)
    # The lower quarter (helmets, suits) is far from every head: not a pixel changed.
    assert np.array_equal(out[-64:], photo[-64:])


# --- faint people ------------------------------------------------------------------------------------
def _two_part_scene():
    """Network-size maps with one neck-shoulder pair joined by its PAF: a person of two parts."""
    from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS

    output = np.zeros((12, 12, NUM_HEATMAPS + 38), np.float32)
    (part_a, part_b), (channel_x, _) = LIMBS[0], LIMB_PAF_CHANNELS[0]
    output[2, 2, part_a] = output[2, 9, part_b] = 0.9
    output[2, 2:10, NUM_HEATMAPS + channel_x] = 1.0
    return output, (part_a, part_b)


def test_the_refined_decoder_keeps_people_too_small_to_publish_as_faint():
    from tf_pose_ros.decoders.refined.decoder import RefinedDecoder, RefinedSettings

    output, parts = _two_part_scene()
    decoder = RefinedDecoder()
    found = decoder.find_parts([output], (96, 96), (12, 12))
    assert decoder.group(found) == []  # two parts: below min_parts
    (faint,) = decoder.group_faint(found)
    assert set(faint.parts) == set(parts)
    # A person group() publishes is never faint as well.
    relaxed = RefinedDecoder(RefinedSettings(min_parts=2))
    assert len(relaxed.group(found)) == 1 and relaxed.group_faint(found) == []
    assert RefinedDecoder(RefinedSettings(faint_min_parts=3)).group_faint(found) == []


def test_faint_people_come_only_when_asked(default_estimator, estimator):
    photo = cv2.imread(PHOTO)
    cropped = cv2.resize(photo[:, :256], (64, 85), interpolation=cv2.INTER_AREA)  # one small person
    assert default_estimator.infer(cropped).faint == []
    asked = default_estimator.infer(cropped, faint=True)
    assert asked.persons == default_estimator.infer(cropped).persons  # the persons do not change
    assert estimator.infer(cropped, faint=True).faint == []  # the original decoder keeps none


# --- coverage ------------------------------------------------------------------------------------------
def test_the_annotated_face_box_is_the_visible_face_keypoints_grown_by_half():
    keypoints = [0.0] * 51
    keypoints[0:3] = [100, 100, 2]  # nose
    keypoints[3:6] = [90, 90, 2]  # left eye
    keypoints[6:9] = [110, 90, 1]  # right eye: labelled, not visible
    # Their box, 90..100 both ways, grown to 15 px about its centre: 87.5..102.5, whole pixels outward.
    assert annotated_face_box(keypoints, (640, 480)) == Box(87, 87, 103, 103)
    keypoints[3 * 1 + 2] = 1
    assert annotated_face_box(keypoints, (640, 480)) is None  # one visible face keypoint is not enough
    mask = np.zeros((480, 640), bool)
    mask[80:110, 80:95] = True
    assert covered_share(mask, Box(87, 87, 103, 103)) == pytest.approx(0.5)


def _coco_set(tmp_path, default_estimator):
    """Two group photos annotated with the faces the network finds there, and one face where nobody is."""
    from tf_pose_ros.samples import group_photo_bgr

    images, annotations = [], []
    photo = group_photo_bgr(3)
    canvas = np.full((photo.shape[0] + 200, photo.shape[1], 3), 40, np.uint8)
    canvas[:photo.shape[0]] = photo
    for image_id, image in ((1, photo), (2, canvas)):
        cv2.imwrite(str(tmp_path / ('%d.png' % image_id)), image)
        images.append({'id': image_id, 'file_name': '%d.png' % image_id, 'width': image.shape[1],
                       'height': image.shape[0]})
        for found in default_estimator.infer(image).persons:
            keypoints = []
            for value in found.coco17():
                keypoints += [0, 0, 0] if value is None else [value[0], value[1], 2]
            annotations.append({'id': len(annotations) + 1, 'image_id': image_id, 'category_id': 1, 'iscrowd': 0,
                                'keypoints': keypoints, 'num_keypoints': sum(v > 0 for v in keypoints[2::3]),
                                'bbox': [0, 0, 10, 10], 'area': 100.0})
    nobody = [0] * 51
    nobody[0:6] = [500, 500, 2, 510, 495, 2]  # a "face" in the empty strip below the photo
    annotations.append({'id': len(annotations) + 1, 'image_id': 2, 'category_id': 1, 'iscrowd': 0,
                        'keypoints': nobody, 'num_keypoints': 2, 'bbox': [490, 480, 30, 30], 'area': 900.0})
    path = tmp_path / 'person_keypoints.json'
    path.write_text(json.dumps({'images': images, 'annotations': annotations,
                                'categories': [{'id': 1, 'name': 'person'}]}))
    return path, len(annotations)


def test_privacy_coverage_counts_the_faces_blurred_and_the_pixels(tmp_path, default_estimator):
    annotations, count = _coco_set(tmp_path, default_estimator)
    both, persons_only, small, _ = evaluate_privacy(default_estimator, annotations, tmp_path, progress=False,
                                                    head_scales=(regions.HEAD_SCALE, 0.3))
    assert (both.people, persons_only.people, small.head_scale) == ('persons and faint', 'persons only', 0.3)
    assert both.faces == count == 7 and both.covered == 6  # all but the face where nobody is
    assert both.image_count == 2 and both.persons_found == 6 and both.boxes >= 6
    assert 0.05 < both.blurred_share < 0.5
    # Smaller boxes blur fewer pixels; still around the head keypoints, these faces stay covered.
    assert small.blurred_share < both.blurred_share / 2 and small.covered == 6
    assert persons_only.covered == 6 and persons_only.faint_found == both.faint_found


def test_eval_privacy_on_the_command_line(tmp_path, default_estimator, capsys):
    annotations, _ = _coco_set(tmp_path, default_estimator)
    out = tmp_path / 'privacy.json'
    assert main(['eval', '--privacy', '--annotations', str(annotations), '--images', str(tmp_path), '--no-progress',
                 '--json', str(out)]) == 0
    table = capsys.readouterr().out
    assert '7 faces in 2 images' in table and '| %g (default) | persons and faint' % regions.HEAD_SCALE in table
    assert '| 6 | 85.7% |' in table
    rows = json.loads(out.read_text())['rows']
    assert [row['people'] for row in rows] == ['persons and faint', 'persons only']
    assert rows[0]['covered_share'] == pytest.approx(6 / 7)
    assert main(['eval', '--privacy', '--compare', 'decoder=original', '--annotations', str(annotations),
                 '--images', str(tmp_path)]) == 2
    assert '--privacy measures' in capsys.readouterr().err


# --- infer --anonymize ------------------------------------------------------------------------------------
def test_infer_anonymize_writes_blurred_images_and_video(tmp_path, capsys):
    from tf_pose_ros.samples import demo_frames

    photo = cv2.imread(PHOTO)
    assert main(['infer', PHOTO, '--anonymize', '--json', str(tmp_path / 'people.json')]) == 2
    assert '--anonymize writes the blurred images to --overlay-dir' in capsys.readouterr().err
    assert main(['infer', PHOTO, '--anonymize', '--overlay-dir', str(tmp_path), '--json',
                 str(tmp_path / 'people.json')]) == 0
    blurred = cv2.imread(str(tmp_path / 'warmup_people_anonymized.png'))
    people = json.loads((tmp_path / 'people.json').read_text())['images'][0]['persons']
    assert len(people) == 3
    for found in people:
        nose = next(k for k in found['keypoints'] if k['name'] == 'nose')
        face = (slice(int(nose['y']) - 12, int(nose['y']) + 12), slice(int(nose['x']) - 12, int(nose['x']) + 12))
        assert np.abs(blurred[face].astype(int) - photo[face]).mean() > 8
    assert np.array_equal(blurred[-64:], photo[-64:])
    overlay = cv2.imread(str(tmp_path / 'warmup_people_pose.png'))
    assert np.any(overlay != blurred, axis=2).mean() < 0.15  # the skeletons, drawn over the blurred photo

    clip = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*'mp4v'), 10, (640, 480))
    for frame in demo_frames(640, 480, 6):
        writer.write(frame)
    writer.release()
    outputs = {}
    for flag in ('', '--anonymize'):
        out = tmp_path / ('out%s.mp4' % flag)
        argv = ['infer', '--video', str(clip), '--output', str(out), '--no-tracking']
        assert main(argv + ([flag] if flag else [])) == 0
        capture = cv2.VideoCapture(str(out))
        outputs[flag] = [capture.read()[1] for _ in range(6)]
        capture.release()
    plain, anonymized = outputs[''][0].astype(int), outputs['--anonymize'][0].astype(int)
    assert np.abs(plain[40:200] - anonymized[40:200]).mean() > 8  # the astronaut's head, frame top
    assert np.abs(plain[400:] - anonymized[400:]).mean() < 2  # the helmet and suit, far below it
