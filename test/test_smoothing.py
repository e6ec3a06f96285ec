"""The One Euro keypoint smoother: per-track state, resets, jitter removed, motion followed."""

import numpy as np
import pytest

from tf_pose_ros.people import Keypoint, Person, PoseResult
from tf_pose_ros.people.smoothing import KeypointSmoother, make_smoother

SIZE = (640, 480)


def result(*people):
    """A PoseResult of people given as {part_id: (x, y)} in pixels."""
    persons = [Person(1.0, tuple(Keypoint(i, 'p%d' % i, x, y, 0.8, x / SIZE[0], y / SIZE[1])
                                 for i, (x, y) in sorted(parts.items()))) for parts in people]
    return PoseResult(persons, SIZE)


def xy(res, person=0, part=0):
    keypoint = res.persons[person].keypoint(part)
    return keypoint.x, keypoint.y


def test_first_frame_of_a_track_passes_unchanged_and_norms_follow():
    smoother = KeypointSmoother()
    out = smoother.smooth(result({0: (100.0, 200.0), 5: (120.0, 220.0)}), [7], 1.0)
    assert xy(out) == (100.0, 200.0)
    moved = smoother.smooth(result({0: (110.0, 200.0), 5: (120.0, 220.0)}), [7], 1.0 + 1 / 30)
    x, y = xy(moved)
    assert 100.0 < x < 110.0 and y == pytest.approx(200.0)
    kp = moved.persons[0].keypoint(0)
    assert kp.x_norm == pytest.approx(x / SIZE[0]) and kp.score == 0.8


def test_jitter_on_a_still_point_at_least_halved():
    rng = np.random.default_rng(0)
    smoother = KeypointSmoother()
    raw, out = [], []
    for i in range(300):
        point = (300 + rng.normal(0, 2.0), 200 + rng.normal(0, 2.0))
        raw.append(point)
        out.append(xy(smoother.smooth(result({1: point}), [0], i / 30), part=1))
    raw_std, out_std = np.std(raw[30:], axis=0).mean(), np.std(out[30:], axis=0).mean()
    assert out_std < raw_std / 2, (raw_std, out_std)


def test_a_moving_point_is_followed_with_little_lag():
    smoother = KeypointSmoother()
    errors = []
    for i in range(60):
        x = 100 + 8.0 * i  # 240 px/s at 30 fps: a person walking across a 640 px frame
        errors.append(abs(xy(smoother.smooth(result({2: (x, 240.0)}), [0], i / 30), part=2)[0] - x))
    assert max(errors[10:]) < 16.0, errors  # under two frames of motion behind


def test_tracks_are_independent_and_a_new_track_starts_fresh():
    smoother = KeypointSmoother()
    smoother.smooth(result({0: (100.0, 100.0)}, {0: (400.0, 100.0)}), [0, 1], 0.0)
    out = smoother.smooth(result({0: (105.0, 100.0)}, {0: (300.0, 300.0)}), [0, 2], 1 / 30)
    assert 100.0 < xy(out, 0)[0] < 105.0
    assert xy(out, 1) == (300.0, 300.0)  # track 2 is new: no pull towards track 1's point
    assert smoother.tracked() == [0, 1, 2]
    smoother.reset()
    assert smoother.tracked() == []


def test_a_part_that_was_missing_starts_fresh():
    smoother = KeypointSmoother()
    smoother.smooth(result({0: (100.0, 100.0), 4: (50.0, 50.0)}), [0], 0.0)
    smoother.smooth(result({0: (100.0, 100.0)}), [0], 1 / 30)
    out = smoother.smooth(result({0: (100.0, 100.0), 4: (200.0, 60.0)}), [0], 2 / 30)
    assert xy(out, part=4) == (200.0, 60.0)


def test_repeated_stamps_still_filter_and_bad_input_is_refused():
    smoother = KeypointSmoother()
    smoother.smooth(result({0: (100.0, 100.0)}), [0], 0.0)
    x, _ = xy(smoother.smooth(result({0: (110.0, 100.0)}), [0], 0.0))
    assert 100.0 < x < 110.0
    with pytest.raises(ValueError, match='2 track ids for 1 persons'):
        smoother.smooth(result({0: (1.0, 1.0)}), [0, 1], 1.0)
    with pytest.raises(ValueError, match='min_cutoff'):
        KeypointSmoother(min_cutoff=0)
    assert make_smoother('none') is None
    assert isinstance(make_smoother('one_euro', 0.5, 1.0), KeypointSmoother)
    with pytest.raises(ValueError, match='none, one_euro'):
        make_smoother('kalman')
