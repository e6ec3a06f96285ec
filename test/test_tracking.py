"""The tracker: stable ids for moving people, new ids for new people, never an id twice."""

import numpy as np
import pytest

from tf_pose_ros.parts import PART_NAMES
from tf_pose_ros.people import Keypoint, Person
from tf_pose_ros.people.tracking import PoseTracker, similarity

# A standing person's parts (nose, neck, shoulders, elbows, hips), relative to the neck.
_BODY = {0: (0, -40), 1: (0, 0), 2: (-30, 5), 5: (30, 5), 3: (-40, 60), 6: (40, 60), 8: (-20, 110),
         11: (20, 110)}


def _person(x, y, parts=_BODY):
    keypoints = tuple(Keypoint(p, PART_NAMES[p], x + dx, y + dy, 0.8, 0.0, 0.0) for p, (dx, dy) in sorted(
        parts.items()))
    return Person(1.0, keypoints)


def test_similarity_is_one_for_the_same_pose_and_falls_with_distance():
    a = {k.id: (k.x, k.y) for k in _person(100, 100).keypoints}
    near = {k.id: (k.x, k.y) for k in _person(108, 100).keypoints}
    far = {k.id: (k.x, k.y) for k in _person(400, 100).keypoints}
    assert similarity(a, a) == pytest.approx(1.0)
    assert 0.5 < similarity(a, near) < 1.0
    assert similarity(a, far) < 0.01
    assert similarity(a, {}) == 0.0


def test_people_walking_past_each_other_keep_their_ids():
    tracker = PoseTracker()
    seen = []
    for step in range(30):
        left, right = _person(100 + 12 * step, 200), _person(600 - 12 * step, 200)
        order = [left, right] if step % 2 else [right, left]  # the grouping's order may change
        ids = tracker.update(order)
        seen.append(ids if step % 2 else ids[::-1])
    assert all(ids == seen[0] for ids in seen) and len(set(seen[0])) == 2


def test_a_person_hidden_briefly_keeps_the_id_and_keeps_walking():
    tracker = PoseTracker(max_age=5)
    first, = tracker.update([_person(100, 200)])
    for step in range(1, 4):
        tracker.update([_person(100 + 10 * step, 200)])
    for _ in range(4):  # hidden for 4 frames, still walking at 10 px a frame
        assert tracker.update([]) == []
    assert tracker.update([_person(180, 200)]) == [first]


def test_new_people_get_new_ids_and_ids_are_never_reused():
    tracker = PoseTracker(max_age=1)
    a, = tracker.update([_person(100, 200)])
    a2, b = tracker.update([_person(102, 200), _person(500, 200)])
    assert a2 == a and b != a
    tracker.update([])
    tracker.update([])  # both expired
    assert tracker.active_ids == []
    c, = tracker.update([_person(100, 200)])
    assert c not in (a, b)
    tracker.reset()
    d, = tracker.update([_person(100, 200)])
    assert d not in (a, b, c)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        PoseTracker(max_age=-1)
    with pytest.raises(ValueError):
        PoseTracker(min_similarity=2.0)


@pytest.mark.slow
def test_walking_clip_with_real_poses(estimator):
    from tf_pose_ros.benchmarks.tracking_eval import evaluate_tracking

    counts = evaluate_tracking(estimator, PoseTracker(), frames=40)
    assert counts.ground_truth > 80 and counts.matched > 0.8 * counts.ground_truth
    # The front walker is never lost; switches happen only around the crossing.
    assert len(counts.ids_per_person[0]) == 1
    assert counts.id_switches <= 3 and counts.mota > 0.7, counts


def test_video_overlay_labels_track_ids(estimator, tmp_path):
    import cv2

    from tf_pose_ros.samples import demo_frames
    from tf_pose_ros.video import annotate_video

    source = tmp_path / 'clip.mp4'
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'mp4v'), 10.0, (640, 480))
    for frame in demo_frames(640, 480, 8):
        writer.write(frame)
    writer.release()
    stats = annotate_video(estimator, str(source), str(tmp_path / 'out.mp4'), tracker=PoseTracker())
    assert stats['written'] == 8 and stats['tracks'] == 1  # one person, one id over the clip
    plain = annotate_video(estimator, str(source), str(tmp_path / 'plain.mp4'))
    labelled, unlabelled = (cv2.VideoCapture(str(tmp_path / n)) for n in ('out.mp4', 'plain.mp4'))
    differs = [np.any(labelled.read()[1] != unlabelled.read()[1]) for _ in range(plain['written'])]
    assert all(differs)  # the label is drawn on every frame
