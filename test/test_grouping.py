"""PAF grouping: the original C++ results on real frames, hand-built scenes, bad input, threads."""

import threading

import numpy as np
import pytest

from tf_pose_ros.grouping import group_people, warmup
from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, PART_IDS
from tf_pose_ros.postprocess import find_peaks

H, W = 60, 80


@pytest.mark.parametrize('frame', ['apink2', 'ski'])
def test_same_people_as_the_original_cpp(paf_vectors, frame):
    frames, expected = paf_vectors
    maps = frames[frame]
    people = group_people(maps['peaks'], maps['heat'], maps['paf'])
    assert len(people) == len(expected[frame])
    for person, want in zip(people, expected[frame]):  # same order as the C++ leaves them
        assert person.score == pytest.approx(want['score'], abs=1e-4)
        assert sorted(person.parts) == sorted(int(k) for k in want['parts'])
        for part_id, (x, y, score) in want['parts'].items():
            got_x, got_y, got_score = person.parts[int(part_id)]
            assert (got_x, got_y) == (x, y)
            assert got_score == pytest.approx(score, abs=1e-4)


class Scene:
    """Hand-built heatmaps, peaks and PAFs: blobs at parts, unit vectors along limbs."""

    def __init__(self):
        self.heat = np.zeros((H, W, NUM_HEATMAPS), np.float32)
        self.paf = np.zeros((H, W, NUM_PAFS), np.float32)

    def person(self, parts, reverse=()):
        """parts: {name: (x, y)}; paints every limb whose two parts are present."""
        ids = {PART_IDS[name]: xy for name, xy in parts.items()}
        yy, xx = np.mgrid[0:H, 0:W]
        for part_id, (x, y) in ids.items():
            blob = 0.9 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5 ** 2))
            self.heat[:, :, part_id] = np.maximum(self.heat[:, :, part_id], blob)
        for (a, b), (cx, cy) in zip(LIMBS, LIMB_PAF_CHANNELS):
            if a in ids and b in ids:
                start, end = np.array(ids[a], float), np.array(ids[b], float)
                if (a, b) in reverse:
                    start, end = end, start
                self._paint(start, end, cx, cy)
        return self

    def _paint(self, start, end, cx, cy):
        direction = (end - start) / np.linalg.norm(end - start)
        for t in np.linspace(0, 1, 200):
            x, y = np.round(start + t * (end - start)).astype(int)
            self.paf[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2, cx] = direction[0]
            self.paf[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2, cy] = direction[1]

    def group(self):
        return group_people(find_peaks(self.heat), self.heat, self.paf)


def _upper_body(dx=0, dy=0):
    base = {'nose': (10, 8), 'neck': (10, 16), 'right_shoulder': (4, 17), 'left_shoulder': (16, 17),
            'right_hip': (6, 40), 'left_hip': (14, 40)}
    return {name: (x + dx, y + dy) for name, (x, y) in base.items()}


def _find(people, part, xy):
    matches = [p for p in people if part in p.parts and p.parts[part][:2] == xy]
    assert len(matches) == 1, 'no person with %s at %s' % (part, xy)
    return matches[0]


def test_two_people_side_by_side():
    left, right = _upper_body(), _upper_body(dx=40)
    people = Scene().person(left).person(right).group()
    assert len(people) == 2
    for body in (left, right):
        person = _find(people, PART_IDS['neck'], body['neck'])
        assert {p: person.parts[p][:2] for p in person.parts} == {PART_IDS[n]: xy for n, xy in body.items()}
        # Score: mean of part scores plus limb scores over the part count, all near 0.9 and 1.
        assert 1.4 < person.score < 2.0


def test_crossing_limbs_follow_their_fields():
    a = dict(_upper_body(dx=5), right_elbow=(45, 40))
    b = dict(_upper_body(dx=45), right_elbow=(12, 40))
    # a's upper arm runs from (9, 17) to (45, 40), b's from (49, 17) to (12, 40): they cross.
    people = Scene().person(a).person(b).group()
    assert len(people) == 2
    elbow = PART_IDS['right_elbow']
    assert _find(people, PART_IDS['neck'], a['neck']).parts[elbow][:2] == (45, 40)
    assert _find(people, PART_IDS['neck'], b['neck']).parts[elbow][:2] == (12, 40)


def test_empty_maps_give_nobody():
    scene = Scene()
    assert scene.group() == []


def test_fewer_than_four_parts_is_not_a_person():
    three = {'neck': (40, 20), 'right_shoulder': (34, 21), 'left_shoulder': (46, 21)}
    assert Scene().person(three).group() == []
    four = dict(three, nose=(40, 12))
    assert len(Scene().person(four).group()) == 1


def test_a_field_pointing_the_wrong_way_does_not_connect():
    body = _upper_body(dx=30)
    neck_to_rhip = (PART_IDS['neck'], PART_IDS['right_hip'])
    people = Scene().person(body, reverse={neck_to_rhip}).group()
    assert len(people) == 1
    assert PART_IDS['right_hip'] not in people[0].parts
    assert PART_IDS['left_hip'] in people[0].parts


@pytest.mark.parametrize('peaks, heat, paf, words', [
    (np.zeros((H, W, 18), np.float32), np.zeros((H, W, 19), np.float32), np.zeros((H, W, 38), np.float32), 'x 19'),
    (np.zeros((H, W, 19), np.float32), np.zeros((H, W, 19), np.float32), np.zeros((H, W, 19), np.float32), 'x 38'),
    (np.zeros((H, W, 19), np.float32), np.zeros((H, W + 1, 19), np.float32), np.zeros((H, W, 38), np.float32),
     'share'),
    (np.zeros((H * W * 19,), np.float32), np.zeros((H, W, 19), np.float32), np.zeros((H, W, 38), np.float32),
     'H x W'),
    ([[0.0]], np.zeros((H, W, 19), np.float32), np.zeros((H, W, 38), np.float32), 'numpy array'),
    (np.zeros((0, W, 19), np.float32), np.zeros((0, W, 19), np.float32), np.zeros((0, W, 38), np.float32),
     'empty'),
])
def test_bad_maps_are_rejected(peaks, heat, paf, words):
    with pytest.raises(ValueError, match=words):
        group_people(peaks, heat, paf)


@pytest.mark.parametrize('which', [0, 1, 2])
@pytest.mark.parametrize('bad', [np.nan, np.inf])
def test_non_finite_maps_are_rejected(which, bad):
    maps = [np.zeros((H, W, 19), np.float32), np.zeros((H, W, 19), np.float32), np.zeros((H, W, 38), np.float32)]
    maps[which][5, 7, 3] = bad
    with pytest.raises(ValueError, match='NaN or infinity'):
        group_people(*maps)


def test_other_dtypes_are_converted(paf_vectors):
    frames, expected = paf_vectors
    maps = frames['ski']
    people = group_people(maps['peaks'].astype(np.float64), maps['heat'].astype(np.float64),
                          np.asfortranarray(maps['paf']))
    assert len(people) == len(expected['ski'])


def test_concurrent_calls_give_the_serial_results(paf_vectors):
    warmup()
    frames, _ = paf_vectors
    inputs = [(f['peaks'], f['heat'], f['paf']) for f in frames.values()]
    serial = [group_people(*maps) for maps in inputs]
    results, errors = {}, []

    def worker(index):
        try:
            for _ in range(20):
                results.setdefault(index, []).append(group_people(*inputs[index % 2]))
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index, runs in results.items():
        assert all(run == serial[index % 2] for run in runs)
