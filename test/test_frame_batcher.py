"""Several cameras' frames batched for one network call (no ROS), and the cameras' names."""

import threading
import time

import pytest

from tf_pose_ros.streams.frame_batcher import FrameBatcher, infer_frames
from tf_pose_ros.streams.frame_slot import FRESH_FRACTION


def _prime(batcher, period, rounds=5):
    """Every camera has published ``rounds`` frames ``period`` apart, all taken: the batcher knows their rates."""
    for _ in range(rounds):
        for slot in batcher.slots:
            slot.put('old')
        batcher.take(timeout=0)
        while any(s.pending for s in batcher.slots):
            batcher.take(timeout=0)
        time.sleep(period)


def test_one_camera_is_the_slot_as_before():
    batcher = FrameBatcher(1, max_size=4, wait=0.5)
    batcher.slots[0].put('a')
    started = time.monotonic()
    (index, frame, arrived), = batcher.take(timeout=1.0)
    assert (index, frame) == (0, 'a') and arrived <= time.monotonic()
    assert time.monotonic() - started < 0.1  # no batch wait with one camera
    assert batcher.take(timeout=0.01) == []


def test_frames_arriving_together_are_one_batch():
    batcher = FrameBatcher(3, max_size=4, wait=0.05)
    _prime(batcher, 0.1)  # the next frames are due now
    # Camera 0 first; 1 and 2 a few milliseconds later, as cameras in step do.
    batcher.slots[0].put('a0')
    threading.Timer(0.005, batcher.slots[1].put, args=('a1',)).start()
    threading.Timer(0.010, batcher.slots[2].put, args=('a2',)).start()
    batch = batcher.take(timeout=1.0)
    assert [(i, f) for i, f, _ in batch] == [(0, 'a0'), (1, 'a1'), (2, 'a2')]


def test_a_camera_that_never_publishes_delays_nobody():
    batcher = FrameBatcher(2, max_size=4, wait=0.2)
    for _ in range(5):  # camera 0 runs at 20 Hz, camera 1 never published
        batcher.slots[0].put('f')
        batcher.take(timeout=0)
        time.sleep(0.05)
    batcher.slots[0].put('now')
    started = time.monotonic()
    assert [f for _, f, _ in batcher.take(timeout=1.0)] == ['now']
    assert time.monotonic() - started < 0.05, 'waited for a camera that never published'


def test_a_camera_that_stops_delays_the_others_at_most_the_bound():
    wait = 0.05
    batcher = FrameBatcher(2, max_size=4, wait=wait)
    _prime(batcher, 0.1)
    time.sleep(0.095)  # camera 1's next frame is due within the wait, but it has stopped
    batcher.slots[0].put('a')
    started = time.monotonic()
    assert [f for _, f, _ in batcher.take(timeout=1.0)] == ['a']
    assert time.monotonic() - started < wait + 0.03
    # Silent for more than two of its periods: no longer waited for at all.
    time.sleep(0.2)
    batcher.slots[0].put('b')
    started = time.monotonic()
    assert [f for _, f, _ in batcher.take(timeout=1.0)] == ['b']
    assert time.monotonic() - started < 0.02


def test_batch_size_bounds_a_batch_and_the_oldest_go_first():
    batcher = FrameBatcher(3, max_size=2, wait=0.0)
    for index in (2, 0, 1):
        batcher.slots[index].put('f%d' % index)
        time.sleep(0.002)
    assert [i for i, _, _ in batcher.take(timeout=0)] == [2, 0]
    assert [i for i, _, _ in batcher.take(timeout=0)] == [1]


def test_close_wakes_the_taker():
    batcher = FrameBatcher(2)
    threading.Timer(0.05, batcher.close).start()
    started = time.monotonic()
    assert batcher.take(timeout=5.0) == [] and batcher.closed
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize('cameras', [1, 2])
def test_idle_time_counts_waits_with_no_frame_and_not_frames_that_wait(cameras):
    batcher = FrameBatcher(cameras, wait=0.0, idle_s=1.5)  # carried on from a batcher it replaces
    for _ in range(5):  # the node is the bottleneck: a frame is always waiting when it takes one
        batcher.slots[0].put('f')
        assert batcher.take(timeout=1.0)
        time.sleep(0.15)
    assert batcher.idle_s == 1.5
    # A stale frame waits and the next is due soon: one camera waits for it, which is not idle time.
    batcher.slots[0].put('stale')
    time.sleep(FRESH_FRACTION * batcher.slots[0].period + 0.01)
    fresh = threading.Timer(0.005, batcher.slots[0].put, args=('fresh',))
    fresh.start()
    assert [f for _, f, _ in batcher.take(timeout=1.0)] == ['fresh' if cameras == 1 else 'stale']
    fresh.join()
    assert batcher.idle_s == 1.5
    started = time.monotonic()
    while batcher.take(timeout=0):  # the fresh frame, where the stale one went
        pass
    assert batcher.take(timeout=0.05) == []  # nothing came
    late = threading.Timer(0.05, batcher.slots[0].put, args=('late',))
    late.start()
    assert [f for _, f, _ in batcher.take(timeout=5.0)] == ['late']  # waited for it
    waited = time.monotonic() - started
    late.join()
    assert 0.08 <= batcher.idle_s - 1.5 <= waited


class _Engine:
    def __init__(self):
        self.calls = []

    def infer(self, image):
        self.calls.append([image])
        return 'r%s' % image


class _BatchEngine(_Engine):
    def infer_batch(self, images):
        self.calls.append(list(images))
        return ['r%s' % image for image in images]


def test_one_network_call_per_batch_where_the_estimator_has_one():
    engine = _BatchEngine()
    results = list(infer_frames(engine, [1, 2, 3]))
    assert [r for r, _ in results] == ['r1', 'r2', 'r3'] and engine.calls == [[1, 2, 3]]
    assert len({began for _, began in results}) == 1  # one call: one start for all
    plain = _Engine()
    assert [r for r, _ in infer_frames(plain, [1, 2])] == ['r1', 'r2'] and plain.calls == [[1], [2]]
    # An engine that runs images one by one anyway: each result as soon as it is ready.
    one_by_one = _BatchEngine()
    one_by_one.network = type('Network', (), {'batches': False})()
    assert [r for r, _ in infer_frames(one_by_one, [1, 2])] == ['r1', 'r2'] and one_by_one.calls == [[1], [2]]


@pytest.mark.ros  # camera_input imports the ROS message types
def test_camera_names_from_topics_and_entries():
    from tf_pose_ros.ros.camera_input import camera_name_for, parse_cameras

    assert camera_name_for('/front/image_raw') == 'front'
    assert camera_name_for('/camera/color/image_raw') == 'camera_color'
    assert camera_name_for('left_rgb') == 'left_rgb'
    assert camera_name_for('image_raw') == 'image_raw'
    cameras = parse_cameras(['/front/image_raw', 'rear=/cam2/color/image_raw'], ['', '/cam2/depth'])
    assert [(c.name, c.image_topic, c.depth_topic, c.camera_info_topic) for c in cameras] == [
        ('front', '/front/image_raw', '', ''),
        ('rear', '/cam2/color/image_raw', '/cam2/depth', '/cam2/color/camera_info')]


@pytest.mark.parametrize('topics, depth, words', [
    (['/a/image_raw', '/a/image'], [], "two cameras named 'a'"),
    (['x=/a/image_raw', 'x=/b/image_raw'], [], "two cameras named 'x'"),
    (['/a/image_raw', 'b=/a/image_raw'], [], 'given twice'),
    (['2cam=/a/image_raw'], [], 'not a ROS name token'),
    (['/my-cam/image_raw'], [], 'not a ROS name token'),
    (['front='], [], 'has no topic'),
    (['/a/image_raw', '/b/image_raw'], ['/a/depth'], 'depth_topics has 1 entries for 2'),
])
@pytest.mark.ros
def test_bad_camera_lists_are_refused_with_the_reason(topics, depth, words):
    from tf_pose_ros.ros.camera_input import parse_cameras

    with pytest.raises(ValueError, match=words):
        parse_cameras(topics, depth)
