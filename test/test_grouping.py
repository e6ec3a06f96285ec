"""PAF grouping: the original C++ results on real frames, hand-built scenes, bad input, threads."""

import threading

import numpy as np
import pytest

from tf_pose_ros.decoders.original.grouping import _std_sort_descending, group_people, warmup
from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, PART_IDS

H, W = 64, 96
PART_SCORE = np.float32(0.9)


# --- the original's results on real frames ---------------------------------------------------

@pytest.mark.parametrize('frame', ['apink2', 'ski'])
def test_same_people_as_the_original_cpp(paf_vectors, frame):
    frames, expected = paf_vectors
    maps = frames[frame]
    people = group_people(maps['peaks'], maps['heat'], maps['paf'])
    assert len(people) == len(expected[frame])
    for person, want in zip(people, expected[frame]):  # in the order the C++ leaves them
        assert person.score == pytest.approx(want['score'], abs=1e-4)
        assert sorted(person.parts) == sorted(int(k) for k in want['parts'])
        for part_id, (x, y, score) in want['parts'].items():
            got_x, got_y, got_score = person.parts[int(part_id)]
            assert (got_x, got_y) == (x, y)
            assert got_score == pytest.approx(score, abs=1e-4)


# --- hand-built scenes -----------------------------------------------------------------------

class Scene:
    """Heatmaps with a blob per part (its peak map marks only the centre) and PAFs holding the
    limb's unit vector in a 3-pixel band along each limb."""

    def __init__(self, h=H, w=W):
        self.heat = np.zeros((h, w, NUM_HEATMAPS), np.float32)
        self.peaks = np.zeros_like(self.heat)
        self.paf = np.zeros((h, w, NUM_PAFS), np.float32)

    def person(self, parts, reverse=(), score=PART_SCORE, field=1.0):
        """parts: {name: (x, y)}; paints every limb whose two parts are present (the limbs in
        ``reverse`` pointing the wrong way), with vectors of length ``field``."""
        ids = {PART_IDS[name]: xy for name, xy in parts.items()}
        for part_id, xy in ids.items():
            self.part(part_id, xy, score)
        for a, b in LIMBS:
            if a in ids and b in ids:
                start, end = (ids[b], ids[a]) if (a, b) in reverse else (ids[a], ids[b])
                self.limb((a, b), start, end, field)
        return self

    def part(self, part_id, xy, score=PART_SCORE):
        h, w = self.heat.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        blob = score * np.exp(-((xx - xy[0]) ** 2 + (yy - xy[1]) ** 2) / (2 * 1.5 ** 2))
        self.heat[:, :, part_id] = np.maximum(self.heat[:, :, part_id], blob)
        self.peaks[xy[1], xy[0], part_id] = self.heat[xy[1], xy[0], part_id]
        return self

    def limb(self, limb, start, end, field=1.0):
        cx, cy = LIMB_PAF_CHANNELS[LIMBS.index(limb)]
        start, end = np.asarray(start, float), np.asarray(end, float)
        direction = field * (end - start) / np.linalg.norm(end - start)
        for t in np.linspace(0, 1, 200):
            x, y = np.round(start + t * (end - start)).astype(int)
            self.paf[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2, cx] = direction[0]
            self.paf[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2, cy] = direction[1]
        return self

    def group(self):
        return group_people(self.peaks, self.heat, self.paf)


def _upper_body(dx=0, dy=0):
    base = {'nose': (10, 8), 'neck': (10, 16), 'right_shoulder': (4, 17), 'left_shoulder': (16, 17),
            'right_hip': (6, 40), 'left_hip': (14, 40)}
    return {name: (x + dx, y + dy) for name, (x, y) in base.items()}


def _xy(person):
    return {part_id: xyz[:2] for part_id, xyz in person.parts.items()}


def _ids(body):
    return {PART_IDS[name]: xy for name, xy in body.items()}


def _find(people, part_name, xy):
    matches = [p for p in people if p.parts.get(PART_IDS[part_name], (None, None))[:2] == xy]
    assert len(matches) == 1, 'no single person with %s at %s' % (part_name, xy)
    return matches[0]


def _limb_score(start, end):
    """Score of a limb in a perfect field: 1, less the length prior past H / 2."""
    return 1.0 + min(0.0, 0.5 * H / np.hypot(*np.subtract(end, start)) - 1.0)


def _tree_score(n_parts, limb_scores):
    """Person score of a tree of parts: every part's score once, every limb's score once."""
    return (n_parts * float(PART_SCORE) + sum(limb_scores)) / n_parts


def test_two_people_side_by_side():
    left, right = _upper_body(), _upper_body(dx=40)
    people = Scene().person(left).person(right).group()
    assert len(people) == 2
    for body in (left, right):
        person = _find(people, 'neck', body['neck'])
        assert _xy(person) == _ids(body)
        assert all(score == pytest.approx(PART_SCORE) for _, _, score in person.parts.values())
        # Perfect fields along limbs shorter than H / 2 score 1 each; 6 parts, 5 limbs.
        assert person.score == pytest.approx(_tree_score(6, [1.0] * 5), abs=1e-4)


def test_a_crowd_with_more_candidate_limbs_than_the_first_buffers_hold():
    # One field covers the whole map for the neck-nose limb, so every neck pairs with every nose
    # nearer than half the map height: 12 x 12 candidates, more than the buffers start with.
    bodies = [_upper_body(dx=20 * i, dy=100) for i in range(12)]
    scene = Scene(h=256, w=260)
    for body in bodies:
        scene.person(body)
    limb = next(pair for pair in LIMBS if set(pair) == {PART_IDS['neck'], PART_IDS['nose']})
    by_id = _ids(bodies[0])
    direction = np.subtract(by_id[limb[1]], by_id[limb[0]]) / 8.0
    cx, cy = LIMB_PAF_CHANNELS[LIMBS.index(limb)]
    scene.paf[:, :, cx], scene.paf[:, :, cy] = direction
    people = scene.group()
    assert len(people) == 12
    for body in bodies:  # the aligned pairs win: each nose stays with its own neck
        assert _xy(_find(people, 'neck', body['neck'])) == _ids(body)


def test_limbs_longer_than_half_the_map_pay_the_length_prior():
    body = _upper_body(dx=30)
    body.update(right_hip=(34, 58), left_hip=(42, 58))   # neck-hip limbs longer than H / 2
    people = Scene().person(body).group()
    assert len(people) == 1 and _xy(people[0]) == _ids(body)
    limbs = [1.0] * 3 + [_limb_score(body['neck'], body[hip]) for hip in ('right_hip', 'left_hip')]
    assert max(limbs[3:]) < 0.9
    assert people[0].score == pytest.approx(_tree_score(6, limbs), abs=1e-4)


def test_crossing_limbs_follow_their_fields():
    a = dict(_upper_body(dx=5), right_elbow=(45, 40))
    b = dict(_upper_body(dx=45), right_elbow=(12, 40))
    # a's upper arm runs from (9, 17) to (45, 40), b's from (49, 17) to (12, 40): they cross,
    # and each field points along its own arm.
    people = Scene().person(a).person(b).group()
    assert len(people) == 2
    assert _xy(_find(people, 'neck', a['neck'])) == _ids(a)
    assert _xy(_find(people, 'neck', b['neck'])) == _ids(b)


def test_empty_maps_give_nobody():
    assert Scene().group() == []


def test_fewer_than_four_parts_is_not_a_person():
    three = {'neck': (40, 20), 'right_shoulder': (34, 21), 'left_shoulder': (46, 21)}
    assert Scene().person(three).group() == []
    four = dict(three, nose=(40, 12))
    people = Scene().person(four).group()
    assert len(people) == 1 and _xy(people[0]) == _ids(four)


def test_a_weak_person_is_dropped():
    # Parts just above the peak threshold, fields just above the vector threshold: the mean
    # (4 * 0.06 + 3 * 0.1) / 4 = 0.135 is below the 0.3 a person needs.
    four = {'nose': (40, 12), 'neck': (40, 20), 'right_shoulder': (34, 21), 'left_shoulder': (46, 21)}
    assert Scene().person(four, score=0.06, field=0.1).group() == []
    assert len(Scene().person(four, score=0.06, field=0.5).group()) == 1


def test_a_field_pointing_the_wrong_way_does_not_connect():
    body = _upper_body(dx=30)
    people = Scene().person(body, reverse={(PART_IDS['neck'], PART_IDS['right_hip'])}).group()
    assert len(people) == 1
    expected = _ids(body)
    del expected[PART_IDS['right_hip']]
    assert _xy(people[0]) == expected


def test_the_merge_quirk_on_peak_id_zero_is_reproduced():
    # Person A (neck, shoulders and the first nose peak, global id 0) and a head B (nose id 1,
    # right eye, right ear) are joined by an ear-shoulder limb. The C++'s "shares no part" test
    # reads "> 0", so A's nose id 0 goes unnoticed, and its merge sum gives the nose
    # 0 + 1 + 1 = 2: the id of A's neck, which the original then reports as the nose.
    a = {'nose': (20, 8), 'neck': (20, 16), 'right_shoulder': (14, 17), 'left_shoulder': (26, 17)}
    b = {'nose': (60, 10), 'right_eye': (58, 8), 'right_ear': (54, 9)}
    scene = Scene().person(a).person(b)
    scene.limb((PART_IDS['right_shoulder'], PART_IDS['right_ear']), a['right_shoulder'], b['right_ear'])
    people = scene.group()
    assert len(people) == 1
    want = {**_ids(a), **_ids(b)}
    want[PART_IDS['nose']] = a['neck']
    assert _xy(people[0]) == want
    # The merged row counts 4 + 3 parts and 3 + 2 + 1 limbs, the last one long.
    ear_limb = _limb_score(a['right_shoulder'], b['right_ear'])
    assert people[0].score == pytest.approx(_tree_score(7, [1.0] * 5 + [ear_limb]), abs=1e-4)


def test_candidate_sort_replays_libstdcxx():
    # Up to 16 candidates std::sort is an insertion sort, so ties keep their order ...
    scores = np.array([(i * 7) % 4 for i in range(16)], np.float32)
    order = np.arange(16)
    _std_sort_descending(order, scores)
    assert order.tolist() == np.argsort(-scores, kind='stable').tolist()
    # ... beyond, libstdc++'s partitioning reorders them: this is what g++ 12's std::sort
    # leaves for these 20 scores under "greater than".
    scores = np.array([i % 3 for i in range(20)], np.float32)
    order = np.arange(20)
    _std_sort_descending(order, scores)
    assert order.tolist() == [2, 17, 5, 14, 8, 11, 10, 19, 16, 13, 7, 4, 1, 0, 9, 12, 6, 15, 3, 18]
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 9, 500).astype(np.float32)
    order = np.arange(500)
    _std_sort_descending(order, scores)
    assert sorted(order.tolist()) == list(range(500))
    assert np.all(np.diff(scores[order]) <= 0)


# --- bad input -------------------------------------------------------------------------------

def _maps(h=H, w=W, peaks=NUM_HEATMAPS, heat=NUM_HEATMAPS, paf=NUM_PAFS):
    return (np.zeros((h, w, peaks), np.float32), np.zeros((h, w, heat), np.float32),
            np.zeros((h, w, paf), np.float32))


@pytest.mark.parametrize('maps, words', [
    (_maps(peaks=18), r'peaks must be H x W x 19'),
    (_maps(heat=38), r'heatmap must be H x W x 19'),
    (_maps(paf=19), r'paf must be H x W x 38'),
    ((np.zeros(H * W * 19, np.float32),) + _maps()[1:], 'peaks must be H x W x 19'),
    (_maps()[:2] + (np.zeros((1, H, W, 38), np.float32),), 'paf must be H x W x 38'),
    ((_maps()[0], np.zeros((H, W + 1, 19), np.float32), _maps()[2]), 'share H x W'),
    (([[0.0]],) + _maps()[1:], 'numpy array'),
    (_maps(h=0), 'empty'),
])
def test_bad_maps_are_rejected(maps, words):
    with pytest.raises(ValueError, match=words):
        group_people(*maps)


@pytest.mark.parametrize('which, name', [(0, 'peaks'), (1, 'heatmap'), (2, 'paf')])
@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_maps_are_rejected(which, name, bad):
    scene = Scene().person(_upper_body())
    maps = [scene.peaks, scene.heat, scene.paf]
    maps[which][H - 1, W - 1, 3] = bad   # the last block: the scan's tail handles it
    with pytest.raises(ValueError, match='%s contains NaN or infinity' % name):
        group_people(*maps)
    maps[which][H - 1, W - 1, 3] = 0.0
    maps[which][1, 2, 3] = bad
    with pytest.raises(ValueError, match='%s contains NaN or infinity' % name):
        group_people(*maps)


def test_other_dtypes_and_layouts_are_converted(paf_vectors):
    frames, _ = paf_vectors
    maps = frames['ski']
    want = group_people(maps['peaks'], maps['heat'], maps['paf'])
    assert want
    assert group_people(maps['peaks'].astype(np.float64), maps['heat'].astype(np.float64),
                        np.asfortranarray(maps['paf'])) == want
    assert group_people(maps['peaks'][:, ::-1][:, ::-1], maps['heat'], maps['paf']) == want


# --- threads ---------------------------------------------------------------------------------

def test_concurrent_calls_give_the_serial_results(paf_vectors):
    warmup()
    frames, _ = paf_vectors
    inputs = [(f['peaks'], f['heat'], f['paf']) for f in frames.values()]
    serial = [group_people(*maps) for maps in inputs]
    assert all(serial)
    results, errors = {}, []
    start = threading.Barrier(4)

    def worker(index):
        try:
            start.wait()
            for _ in range(25):
                results.setdefault(index, []).append(group_people(*inputs[index % 2]))
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [0, 1, 2, 3]
    for index, runs in results.items():
        assert len(runs) == 25 and all(run == serial[index % 2] for run in runs)
