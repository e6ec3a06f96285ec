"""The soak benchmark's schedule and verdicts (the runs themselves take minutes: docs/benchmarks.md)."""

import argparse

import pytest

from tf_pose_ros.benchmarks.soak_bench import (
    CORRUPT_BURST,
    Minute,
    collapse_onsets,
    corrupt_messages,
    fault_schedule,
    longest_gap,
    summarize,
    warning_onsets,
)


def test_each_round_of_faults_has_every_kind_in_order():
    faults = fault_schedule(600.0, 300.0)
    assert [f.kind for f in faults] == ['corrupt', 'preset', 'preset', 'join', 'leave', 'restart'] * 2
    assert [f.value for f in faults if f.kind == 'preset'] == ['fast', 'default'] * 2
    assert all(a.at < b.at for a, b in zip(faults, faults[1:])) and faults[-1].at < 600.0
    assert fault_schedule(200.0, 300.0) == []  # no round that does not fit


def test_gaps_leave_out_the_settling_windows():
    times = [0.1 * i for i in range(100)] + [15.0 + 0.1 * i for i in range(50)]  # a 5.1 s gap from 9.9 s
    assert abs(longest_gap(times, 0.0, 20.0, []) - 5.1) < 1e-6
    assert longest_gap(times, 0.0, 20.0, [(9.0, 16.0)]) < 0.2 + 1e-6
    assert abs(longest_gap([], 0.0, 60.0, []) - 60.0) < 1e-9  # nothing at all is one long gap


def test_the_collapse_starts_where_five_seconds_of_frames_fall_below_the_floor():
    # The node's received counter, reported once a second: 30 frames a second for 100 s, then 11.
    received = [(float(t), 30 * t if t <= 100 else 3000 + 11 * (t - 100)) for t in range(161)]
    (onset,) = collapse_onsets(received, 0.0, 161.0, 30.0)
    assert 96.0 <= onset <= 100.0
    assert collapse_onsets(received[:101], 0.0, 101.0, 30.0) == []
    assert collapse_onsets(received, 0.0, 161.0, 11.0) == []  # a driver that only sends 11 a second


def counter(rates):
    """The node's received counter once a second over phases of (seconds, frames per second)."""
    points, t, count = [], 0, 0
    for seconds, hz in rates:
        for _ in range(seconds):
            points.append((float(t), count))
            t, count = t + 1, count + hz
    return points


def test_each_collapse_after_a_recovery_is_a_collapse_of_its_own():
    # Collapsed, recovered for a minute, collapsed again: as a default driver did over 30 minutes.
    received = counter([(100, 30), (60, 20), (60, 30), (60, 20), (20, 30)])
    onsets = collapse_onsets(received, 0.0, 300.0, 30.0)
    assert len(onsets) == 2
    assert 96.0 <= onsets[0] <= 100.0 and 216.0 <= onsets[1] <= 220.0
    # A recovery shorter than 30 s is the same collapse going on.
    flicker = counter([(100, 30), (60, 20), (10, 30), (60, 20), (20, 30)])
    assert len(collapse_onsets(flicker, 0.0, 250.0, 30.0)) == 1


def test_the_record_keeps_where_each_warning_began_not_every_report():
    fell = 'delivery fell to %.1f of the 30.0 frames/s'
    warnings = ([(100.0 + i, 1, 'cam', fell % (20 + i / 10)) for i in range(10)]  # one collapse, reported each second
                + [(110.0, 1, 'cam', '3 frames lost on the way')]
                + [(200.0 + i, 1, 'cam', fell % 21) for i in range(3)])  # the next collapse, after a quiet stretch
    assert [(at, text[:13]) for at, _, text in warning_onsets(warnings, 90.0)] == [
        (10.0, 'delivery fell'), (20.0, '3 frames lost'), (110.0, 'delivery fell')]


def test_with_the_profile_a_minute_fails_when_the_node_waited_for_frames_not_when_the_machine_slowed(capsys):
    args = argparse.Namespace(minutes=3, faults=False, driver_profile=True, rate=30.0, json='')

    def verdict(minutes, gap=0.2, status=None):  # (Persons, idle %) of each minute, every frame reaching the node
        rows = [Minute(i + 1, 1800, 1800, persons, 70.0, 120.0, gap, 400.0, 390.0, 1.8, idle)
                for i, (persons, idle) in enumerate(minutes)]
        code = summarize(args, rows, [], 0.0, [], {'idle_s': '9.0'} if status is None else status, True, None, 0, 0, 0)
        return code, capsys.readouterr().out

    # A slower host: 80% of the first minute's Persons, the node never short of a frame.
    assert verdict([(1000, 0.2), (800, 0.3), (950, 0.1)])[0] == 0
    # A node faster than the camera waits for every frame, and answers them all.
    assert verdict([(1795, 60.0), (1790, 61.0), (1799, 60.0)])[0] == 0
    # Frames that reach the node late: it waited 8% of minute 2.
    code, out = verdict([(1000, 0.2), (960, 8.0), (990, 0.1)])
    assert code == 1 and 'minutes [2] in which the node waited for frames' in out
    # An inference thread that stalls is not idle, and leaves a gap.
    code, out = verdict([(1000, 0.2), (0, 0.0), (990, 0.1)], gap=60.0)
    assert code == 1 and 'a gap of 60.00 s in Persons' in out
    # A node that does not report its idle time cannot pass.
    code, out = verdict([(1000, 0.2), (990, 0.1), (990, 0.1)], status={})
    assert code == 1 and 'reports no idle_s' in out


@pytest.mark.ros
def test_corrupt_frames_are_each_unreadable(ros_context):
    from tf_pose_ros.ros.image_conversion import image_problem

    messages = corrupt_messages(CORRUPT_BURST)
    assert len(messages) == CORRUPT_BURST
    reasons = [image_problem(msg) for msg in messages]
    assert all(reasons)
    assert {'too short' in r for r in reasons} == {True, False}
    assert any('unsupported image encoding' in r for r in reasons) and any('empty' in r for r in reasons)
