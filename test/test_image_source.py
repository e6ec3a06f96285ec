"""The image_source node with real rclpy and DDS traffic: frames, compressed frames, count, bad sources."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from rclpy.exceptions import InvalidParameterValueException  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from tf_pose_ros.ros.image_conversion import compressed_msg_to_bgr8, image_msg_to_bgr8  # noqa: E402
from tf_pose_ros.ros.image_source_node import ImageSource, SourceError, open_source, parse_camera  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEADLINE_S = 20.0

pytestmark = pytest.mark.ros


class Rig:
    """An image_source node and a subscriber node on one executor that only runs when asked."""

    def __init__(self, ros_context, overrides, compressed=False, qos=None):
        self.source = ImageSource(context=ros_context, parameter_overrides=[Parameter(k, value=v)
                                                                        for k, v in overrides.items()])
        self.peer = Node('image_source_test_peer', context=ros_context)
        self.images, self.compressed = [], []
        qos = qos or QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.peer.create_subscription(Image, 'image_raw', self.images.append, qos)
        if compressed:
            self.peer.create_subscription(CompressedImage, 'image_raw/compressed', self.compressed.append, qos)
        self.executor = SingleThreadedExecutor(context=ros_context)
        self.executor.add_node(self.source)
        self.executor.add_node(self.peer)
        # Timers only fire while the executor spins: wait for discovery first so no frame is lost.
        self.spin_until(lambda: self.source.image_pub.get_subscription_count() > 0, 'discovery', spin=False)

    def spin_until(self, condition, what, timeout=DEADLINE_S, spin=True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if spin:
                self.executor.spin_once(timeout_sec=0.05)
            else:
                time.sleep(0.02)
        raise AssertionError('timed out after %gs waiting for %s' % (timeout, what))

    def spin_for(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)

    def close(self):
        self.executor.shutdown()
        self.source.destroy_node()
        self.peer.destroy_node()


@pytest.fixture
def rig(ros_context):
    rigs = []

    def make(**kwargs):
        rigs.append(Rig(ros_context, **kwargs))
        return rigs[-1]

    yield make
    for made in rigs:
        made.close()


def stamp_ns(msg):
    return msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec


def test_demo_clip_frames(rig):
    r = rig(overrides={'source': 'demo', 'rate': 50.0, 'width': 320, 'height': 240, 'frame_id': 'test_cam'})
    r.spin_until(lambda: len(r.images) >= 6, '6 frames')
    for msg in r.images:
        assert (msg.width, msg.height, msg.encoding, msg.step) == (320, 240, 'bgr8', 960)
        assert msg.header.frame_id == 'test_cam' and len(msg.data) == 960 * 240
    stamps = [stamp_ns(m) for m in r.images]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps
    now = r.source.get_clock().now().nanoseconds
    assert 0 < now - stamps[-1] < 5 * 10 ** 9  # stamped from the node clock, not from zero
    first, second = image_msg_to_bgr8(r.images[0]), image_msg_to_bgr8(r.images[1])
    assert first.shape == (240, 320, 3) and not np.array_equal(first, second)  # the clip moves
    assert r.source.published >= len(r.images)


@pytest.mark.parametrize('encoding', ['mono16', 'rgba8'])
def test_other_encodings(rig, encoding):
    r = rig(overrides={'rate': 50.0, 'encoding': encoding, 'width': 64, 'height': 48})
    r.spin_until(lambda: len(r.images) >= 2, '2 frames')
    msg = r.images[0]
    assert msg.encoding == encoding and msg.step == 64 * (2 if encoding == 'mono16' else 4)
    assert image_msg_to_bgr8(msg).shape == (48, 64, 3)


def test_compressed_topic(rig):
    r = rig(overrides={'rate': 50.0, 'publish_compressed': True, 'width': 160, 'height': 120}, compressed=True)
    r.spin_until(lambda: len(r.compressed) >= 3 and len(r.images) >= 3, '3 compressed frames')
    msg = r.compressed[0]
    assert msg.format == 'bgr8; jpeg compressed bgr8' and msg.header.frame_id == 'camera'
    assert compressed_msg_to_bgr8(msg).shape == (120, 160, 3)
    assert {stamp_ns(m) for m in r.compressed[:3]} <= {stamp_ns(m) for m in r.images}


def test_count_stops_publishing(rig):
    r = rig(overrides={'rate': 50.0, 'count': 3, 'width': 64, 'height': 48})
    r.spin_until(lambda: r.source.done, 'the count to be reached')
    r.spin_for(0.5)
    assert r.source.published == 3 and len(r.images) == 3
    # A higher count at run time resumes publishing.
    assert r.source.set_parameters([Parameter('count', value=5)])[0].successful
    r.spin_until(lambda: len(r.images) == 5 and r.source.done, '2 more frames')
    r.spin_for(0.3)
    assert len(r.images) == 5


def test_best_effort_qos_and_rate_change(rig):
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    r = rig(overrides={'rate': 2.0, 'qos_reliability': 'best_effort', 'qos_depth': 1, 'width': 64, 'height': 48},
            qos=qos)
    assert r.source.image_pub.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
    assert r.source.image_pub.qos_profile.depth == 1
    assert r.source.set_parameters([Parameter('rate', value=50.0)])[0].successful
    start = time.monotonic()
    r.spin_until(lambda: len(r.images) >= 10, '10 frames at the new rate')
    assert time.monotonic() - start < 2.0  # 10 frames at 2 Hz would take 5 s


def test_runtime_parameter_checks(rig):
    r = rig(overrides={'width': 64, 'height': 48})
    assert not r.source.set_parameters([Parameter('encoding', value='nv21')])[0].successful
    assert not r.source.set_parameters([Parameter('source', value='group')])[0].successful  # read-only
    assert not r.source.set_parameters([Parameter('rate', value=500.0)])[0].successful  # out of range
    assert r.source.set_parameters([Parameter('encoding', value='mono8')])[0].successful
    r.spin_until(lambda: any(m.encoding == 'mono8' for m in r.images), 'a mono8 frame')


def _write_video(path, frames=5, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
    writer.release()


def test_video_file_without_loop_stops_at_its_end(rig, tmp_path):
    video = tmp_path / 'clip.avi'
    _write_video(video)
    r = rig(overrides={'source': str(video), 'rate': 50.0, 'loop': False})
    r.spin_until(lambda: r.source.done, 'the end of the video')
    r.spin_for(0.3)
    assert len(r.images) == r.source.published == 5
    assert (r.images[0].width, r.images[0].height) == (96, 64)
    means = [image_msg_to_bgr8(m).mean() for m in r.images]
    assert means == sorted(means) and means[-1] > means[0] + 100


def test_looping_directory_of_images(rig, tmp_path):
    for i, shade in enumerate((10, 120, 250)):
        cv2.imwrite(str(tmp_path / ('frame_%d.png' % i)), np.full((30, 40, 3), shade, np.uint8))
    (tmp_path / 'notes.txt').write_text('not an image')
    r = rig(overrides={'source': str(tmp_path), 'rate': 50.0, 'count': 7})
    r.spin_until(lambda: r.source.done, '7 frames')
    r.spin_for(0.3)
    shades = [int(image_msg_to_bgr8(m)[0, 0, 0]) for m in r.images]
    assert shades == [10, 120, 250, 10, 120, 250, 10]


def test_single_image_and_group_photo(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'one.png'), image)
    frames = list(open_source(str(tmp_path / 'one.png'))())
    assert len(frames) == 1 and np.array_equal(frames[0], image)
    group = list(open_source('group')())
    assert len(group) == 1 and group[0].shape == (368, 3 * 368, 3)
    demo = list(open_source('demo', 200, 100)())
    assert len(demo) > 1 and demo[0].shape == (100, 200, 3)


@pytest.mark.parametrize('make, pattern', [
    (lambda tmp: str(tmp / 'missing.mp4'), 'no such file or directory'),
    (lambda tmp: str(tmp), 'holds no images'),
    (lambda tmp: (tmp / 'fake.mp4').write_bytes(b'not a video at all' * 50) and str(tmp / 'fake.mp4'),
     'cannot read frames from .*fake.mp4'),
])
def test_bad_sources_raise_a_clear_error(ros_context, tmp_path, make, pattern):
    with pytest.raises(SourceError, match=pattern):
        ImageSource(context=ros_context, parameter_overrides=[Parameter('source', value=make(tmp_path))])
    assert ros_context.ok()  # the half-built node was cleaned up, the context still works
    Node('still_usable', context=ros_context).destroy_node()


@pytest.mark.parametrize('source, device', [
    ('camera:0', 0), ('camera:12', 12), ('/dev/video0', '/dev/video0'), ('/dev/video10', '/dev/video10'),
    (' camera:3 ', 3), ('demo', None), ('group', None), ('/dev/videos/clip.mp4', None), ('clip.mp4', None),
    ('/dev/video', None),
])
def test_camera_sources_are_parsed(source, device):
    assert parse_camera(source) == device


@pytest.mark.parametrize('source', ['camera:', 'camera:front', 'camera:-1', 'camera:0.5'])
def test_a_misspelt_camera_is_a_clear_error(source):
    with pytest.raises(SourceError, match="a camera is 'camera:N'"):
        parse_camera(source)


@pytest.mark.parametrize('source, pattern', [
    ('/dev/video57', 'camera /dev/video57: no such device'),
    ('camera:57', r'camera camera:57 \(/dev/video57\) cannot be opened or delivers no frame: it is missing, or busy'),
])
def test_an_absent_camera_is_an_error_that_names_it(ros_context, source, pattern):
    with pytest.raises(SourceError, match=pattern):
        ImageSource(context=ros_context, parameter_overrides=[
            Parameter('source', value=source), Parameter('camera_width', value=1280),
            Parameter('camera_height', value=720), Parameter('camera_fps', value=30.0)])
    assert ros_context.ok()


@pytest.mark.parametrize('name, value, error, pattern', [
    ('encoding', 'nv21', SourceError, "unknown encoding 'nv21'; use one of bgr8"),
    ('qos_reliability', 'sometimes', SourceError, 'best_effort or reliable'),
    ('rate', 0.0, InvalidParameterValueException, 'out of range'),
    ('qos_depth', 0, InvalidParameterValueException, 'out of range'),
])
def test_bad_parameters_raise_a_clear_error(ros_context, name, value, error, pattern):
    with pytest.raises(error, match=pattern):
        ImageSource(context=ros_context, parameter_overrides=[Parameter(name, value=value)])


def _run_main(*ros_args, interrupt_after=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, '-m', 'tf_pose_ros.ros.image_source_node', '--ros-args', *ros_args],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, output


@pytest.mark.parametrize('ros_args, pattern', [
    (('-p', 'source:=/no/such/video.mp4'), "source '/no/such/video.mp4': no such file"),
    (('-p', 'encoding:=nv21'), "unknown encoding 'nv21'"),
    (('-p', 'rate:=10'), 'needs a decimal point'),
    (('-p', 'frame_id:=0x10'), r'''expecting type 'STRING': frame_id \(quote text that ROS would read as a number'''),
    (('-p', 'source:=/dev/video63'), 'camera /dev/video63: no such device'),
])
def test_main_exits_non_zero_with_a_message_not_a_traceback(ros_args, pattern):
    code, output = _run_main(*ros_args)
    assert code == 1, output
    assert 'Traceback' not in output and '[FATAL]' in output
    assert re.search(pattern, output), output


def test_main_runs_until_interrupted_and_exits_cleanly():
    code, output = _run_main('-p', 'rate:=20.0', interrupt_after=4.0)
    assert code == 0, output
    assert 'Traceback' not in output
    assert 'publishing demo as bgr8 at 20 Hz on /image_raw' in output


@pytest.mark.parametrize('ros_args, why', [(('-p', 'count:=3'), 'count reached: published 3 frames'),
                                           (('-p', 'source:=group', '-p', 'loop:=false'), 'end of the source')])
def test_main_exits_by_itself_when_done(ros_args, why):
    started = time.monotonic()
    code, output = _run_main('-p', 'rate:=20.0', *ros_args)
    assert code == 0, output
    assert why in output and 'Traceback' not in output
    assert time.monotonic() - started < 30


@pytest.mark.parametrize('executable', ['image_source', 'pose_estimator', 'tf_pose_demo', 'tf-pose-ros'])
def test_every_executable_prints_help_and_exits(executable):
    exe = os.path.join(os.path.dirname(sys.executable), executable)
    if not os.path.exists(exe):
        pytest.fail('%s missing: run `make setup`' % exe)
    started = time.monotonic()
    done = subprocess.run([exe, '--help'], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('usage: ') and 'Traceback' not in done.stderr
    assert 'publishing' not in done.stdout + done.stderr and 'listening' not in done.stdout + done.stderr
    if executable in ('image_source', 'pose_estimator'):
        assert 'qos_reliability' in done.stdout  # the parameters, with defaults and help
        assert 'need a decimal point' in done.stdout and "needs quotes (-p \"frame_id:='0x10'\")" in done.stdout
    assert time.monotonic() - started < 30


def test_the_demo_runs_source_node_and_listener_to_the_end(tmp_path, ros_domain_id):
    exe = os.path.join(os.path.dirname(sys.executable), 'tf_pose_demo')
    if not os.path.exists(exe):
        pytest.fail('%s missing: run `make setup`' % exe)
    (tmp_path / 'frame_0099.jpg').write_bytes(b'from an earlier, longer run')
    done = subprocess.run([exe, '--frames', '3', '--rate', '10', '--out-dir', str(tmp_path), '--timeout', '90'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and 'Traceback' not in done.stderr, done.stdout[-2000:] + done.stderr[-2000:]
    summary = [line for line in done.stdout.splitlines() if line.startswith('received ')]
    assert summary and ' 0 Persons messages' not in summary[0], done.stdout[-2000:]
    frames = sorted(p.name for p in tmp_path.glob('frame_*.jpg'))
    assert frames and 'frame_0099.jpg' not in frames  # the earlier run's images are gone


def _best_effort_stream(ros_context, width, height, rate, count):
    """Run image_source best effort (depth 1) for ``count`` frames; (its output, the sequence numbers received)."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    node = Node('best_effort_listener', context=ros_context)
    sequences = []
    # The listener keeps 60 frames: a test process slowed by a busy machine must not lose frames from its own
    # queue, which would be counted against the transport under test (the publisher's side).
    node.create_subscription(Image, '/best_effort_test/image_raw', lambda msg, info: sequences.append(
        info['publication_sequence_number']), QoSProfile(depth=60, reliability=ReliabilityPolicy.BEST_EFFORT))
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name in ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_BUILTIN_TRANSPORTS'):
        env.pop(name, None)  # the executable's own defaults, as on a robot
    source = subprocess.Popen(
        [sys.executable, '-m', 'tf_pose_ros.ros.image_source_node', '--ros-args', '-r', '__ns:=/best_effort_test',
         '-p', 'rate:=%f' % rate, '-p', 'width:=%d' % width, '-p', 'height:=%d' % height, '-p', 'count:=%d' % count,
         '-p', 'qos_reliability:=best_effort', '-p', 'qos_depth:=1'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 40
        while source.poll() is None and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.02)
        for _ in range(20):
            executor.spin_once(timeout_sec=0.02)
    finally:
        if source.poll() is None:
            source.kill()
        output = source.communicate(timeout=20)[0]
        executor.shutdown()
        node.destroy_node()
    return output, sequences


@pytest.mark.parametrize('width, height, rate', [(640, 480, 15.0), (1280, 720, 30.0)])
def test_best_effort_camera_frames_arrive(ros_context, width, height, rate):
    # The image_source executable as a camera driver in its own process, best effort, depth 1: with
    # Fast DDS's built-in transports about half of such a stream was lost (8 of 15 Hz at 640x480).
    # A second try where the first lost frames: a stall of a shared VM (50 of 60 once) loses best-effort
    # frames whatever the transport.
    # 6 s of stream: discovery between two processes on a busy machine took up to 2.7 s (the first 41 of 60
    # frames at 15 Hz went out before the listener was matched); at least 2 s of frames must then arrive.
    count = int(rate * 6)
    tries = []
    for _ in range(2):
        output, sequences = _best_effort_stream(ros_context, width, height, rate, count)
        assert 'published %d frames' % count in output, output
        # Frames sent once the subscription was discovered: those from the first received to the last.
        assert len(sequences) >= rate * 2, 'only %d of %d frames arrived' % (len(sequences), count)
        tries.append((len(sequences), sequences[-1] - sequences[0] + 1))
        if tries[-1][0] >= 0.95 * tries[-1][1]:
            break
    assert tries[-1][0] >= 0.95 * tries[-1][1], 'frames arrived of those sent, per try: %s' % tries
