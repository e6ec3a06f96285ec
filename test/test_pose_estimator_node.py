"""The pose_estimator node with real rclpy, real DDS traffic and the real mobilenet_thin weights."""

import os
import resource
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from node_harness import QOS, Harness  # noqa: E402
from processes import Executable  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tf_pose_ros.msg import Keypoint, Persons  # noqa: E402
from tf_pose_ros.ros.image_conversion import bgr8_to_compressed_msg, encode_image_msg  # noqa: E402
from tf_pose_ros.streams.stats import (  # noqa: E402
    DROPPED,
    INVALID,
    LOST,
    PROCESSED,
    RECEIVED,
    SKIPPED_NO_MODEL,
    SKIPPED_PAUSED,
)

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def harness(ros_context, mobilenet_thin_path):
    h = Harness(ros_context, '/raw', [Parameter('device', value='cpu'), Parameter('qos_reliability', value='reliable'),
                                     Parameter('qos_depth', value=1), Parameter('diagnostics_period', value=0.5)])
    yield h
    h.close()


def _nose(person):
    for keypoint in person.keypoints:
        if keypoint.id == Keypoint.NOSE:
            return keypoint
    raise AssertionError('no nose')


def test_persons_carry_the_image_header_and_plausible_keypoints(harness, astronaut):
    header = harness.header('head_camera_optical')
    persons = harness.send(encode_image_msg(astronaut, 'bgr8', header))
    assert persons.header.frame_id == 'head_camera_optical' and persons.header.stamp == header.stamp
    assert (persons.image_width, persons.image_height) == (512, 512)
    assert persons.model == 'mobilenet_thin'
    assert len(persons.persons) == 1
    person = persons.persons[0]
    assert person.id >= 0 and person.score > 0.3
    nose = _nose(person)
    assert nose.name == 'nose' and 180 < nose.x < 270 and 80 < nose.y < 170 and nose.confidence > 0.3
    assert len({k.id for k in person.keypoints}) == len(person.keypoints) >= 8
    assert person.x_min <= nose.x <= person.x_max and person.y_min <= nose.y <= person.y_max
    assert person.x_min == min(k.x for k in person.keypoints) and person.y_max == max(k.y for k in person.keypoints)


@pytest.mark.parametrize('encoding', ['bgr8', 'rgb8', 'bgra8', 'rgba8', 'mono8', 'mono16', '16UC1'])
def test_every_supported_encoding(harness, astronaut, encoding):
    persons = harness.send(encode_image_msg(astronaut, encoding, harness.header()))
    assert len(persons.persons) == 1
    assert 170 < _nose(persons.persons[0]).x < 280


def test_annotated_image(harness, astronaut):
    harness.watch_annotated()
    header = harness.header('annotated_check')
    harness.send(encode_image_msg(astronaut, 'bgr8', header))
    harness.wait_for(lambda: any(m.header.stamp == header.stamp for m in harness.annotated), what='annotated')
    image = [m for m in harness.annotated if m.header.stamp == header.stamp][-1]
    assert (image.width, image.height, image.encoding) == (512, 512, 'bgr8')
    pixels = np.frombuffer(bytes(image.data), np.uint8).reshape(512, 512, 3)
    assert np.count_nonzero(np.any(pixels != astronaut, axis=2)) > 500


def test_diagnostics(harness, astronaut):
    harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))
    harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))  # two arrivals give an input rate
    harness.diagnostics.clear()
    harness.wait_for(lambda: len(harness.diagnostics) >= 2, what='diagnostics')
    status = [s for m in harness.diagnostics for s in m.status if s.name.startswith('/raw/pose_estimator')][-1]
    values = {kv.key: kv.value for kv in status.values}
    assert values['model'] == 'mobilenet_thin' and values['device'] == '/CPU:0'
    from tf_pose_ros.engines import fast_bf16

    # The default preset runs bf16 where bf16 runs fast on the engine, fp32 elsewhere.
    assert values['backend'] == harness.node.estimator.backend
    assert values['precision'] == ('bf16' if fast_bf16(harness.node.estimator.requested) else 'fp32')
    assert int(values[PROCESSED]) >= 1 and float(values['pipeline_ms_mean']) > 0
    for key in (RECEIVED, DROPPED, INVALID, 'rate_hz', 'latency_ms_mean', 'latency_ms_p99'):
        assert key in values
    assert 0.0 < float(values['input_hz']) < 1000.0
    # With no frame coming, the node's idle time grows by about the time that passes (the frames took
    # a fraction of it at most).
    harness.wait_for(lambda: len(harness.diagnostics) >= 4, what='diagnostics')

    def idle_and_time(array):
        status = next(s for s in array.status if s.name.startswith('/raw/pose_estimator'))
        return float({kv.key: kv.value for kv in status.values}['idle_s']), array.header.stamp.sec + \
            1e-9 * array.header.stamp.nanosec

    (idle_then, then), (idle_now, now) = idle_and_time(harness.diagnostics[1]), idle_and_time(harness.diagnostics[-1])
    assert idle_now - idle_then >= 0.5 * (now - then) > 0
    # The latency's parts add up to it (means over the same results).
    parts = [float(values['latency_ms_%s' % p]) for p in ('transport', 'wait', 'decode', 'pipeline', 'message')]
    assert sum(parts) == pytest.approx(float(values['latency_ms_mean']), abs=0.05)
    assert float(values['latency_ms_pipeline']) > 5.0  # the network ran; the other parts vary with the machine


def test_person_ids_are_track_ids(harness, astronaut):
    def ids(image):
        return [p.id for p in harness.send(encode_image_msg(image, 'bgr8', harness.header())).persons]

    first = ids(astronaut)
    assert len(first) == 1
    assert ids(np.ascontiguousarray(np.roll(astronaut, 6, axis=1))) == first  # moved a little: same person
    assert ids(np.full_like(astronaut, 40)) == []
    assert _set(harness, 'track_max_age', 0).successful
    assert ids(np.full_like(astronaut, 40)) == []   # the track expires unseen
    again = ids(astronaut)
    assert again != first  # a new track: ids are never reused
    assert _set(harness, 'tracking', False).successful
    assert ids(astronaut) == [0]  # the index in the message
    assert _set(harness, 'tracking', True).successful and _set(harness, 'track_max_age', 15).successful


def test_enable_service_pauses_and_resumes_inference(harness, astronaut):
    from std_srvs.srv import SetBool

    client = harness.peer.create_client(SetBool, harness.node.get_fully_qualified_name() + '/enable')
    assert client.wait_for_service(timeout_sec=10.0)

    def enable(flag):
        future = client.call_async(SetBool.Request(data=flag))
        harness.wait_for(future.done, what='~/enable response')
        assert future.result().success
        return future.result().message

    loaded = harness.node.estimator
    assert enable(False) == 'inference paused'
    stats = harness.node.cameras[0].stats
    before = stats.snapshot()
    received = before.get(RECEIVED, 0)
    harness.image_pub.publish(encode_image_msg(astronaut, 'bgr8', harness.header()))
    harness.wait_for(lambda: stats.snapshot().get(SKIPPED_PAUSED, 0) > before.get(SKIPPED_PAUSED, 0),
                     what='the paused frame counted')
    after = stats.snapshot()
    assert after[RECEIVED] > received and after[PROCESSED] == before[PROCESSED]
    assert harness.node.estimator is loaded  # the model stays loaded
    assert enable(True) == 'inference running'
    assert len(harness.send(encode_image_msg(astronaut, 'bgr8', harness.header())).persons) == 1


def test_bad_messages_are_counted_and_the_node_keeps_working(harness, astronaut):
    before = harness.node.cameras[0].stats.snapshot().get(INVALID, 0)
    bad = [
        Image(header=harness.header(), height=10, width=10, encoding='nv21', step=20, data=bytes(200)),
        Image(header=harness.header(), height=10, width=10, encoding='bgr8', step=30, data=bytes(100)),
        Image(header=harness.header(), height=0, width=0, encoding='bgr8', step=0, data=b''),
        Image(header=harness.header(), height=10, width=10, encoding='bgr8', step=10, data=bytes(100)),
    ]
    for msg in bad:
        received = harness.node.cameras[0].stats.snapshot().get(RECEIVED, 0)
        harness.image_pub.publish(msg)
        # One at a time: the node keeps only the newest frame, and this test counts every one.
        harness.wait_for(lambda seen=received: harness.node.cameras[0].stats.snapshot().get(RECEIVED, 0) > seen,
                         what='the bad frame to arrive')
        harness.wait_for(lambda: not harness.node.cameras[0].slot.pending, what='the bad frame to be taken')
    harness.wait_for(lambda: harness.node.cameras[0].stats.snapshot().get(INVALID, 0) >= before + len(bad),
                     what='invalid count')
    persons = harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))
    assert len(persons.persons) == 1


def test_a_bad_frame_right_before_a_good_one_is_counted_and_displaces_nothing(ros_context, mobilenet_thin_path,
                                                                             astronaut):
    """Bad frames are refused as they arrive: in a stream none takes the slot from the good frame behind it
    (it would be counted as dropped, not invalid), and each is counted invalid."""
    # The default input depth (5), so two frames sent back to back both reach the callback.
    h = Harness(ros_context, '/burst', [Parameter('device', value='cpu'),
                                        Parameter('qos_reliability', value='reliable')])
    try:
        stats = h.node.cameras[0].stats
        h.send(encode_image_msg(astronaut, 'bgr8', h.header()))
        before = stats.snapshot()
        bad = [Image(header=h.header(), height=10, width=10, encoding='bgr8', step=30, data=bytes(100)),
               Image(header=h.header(), height=10, width=10, encoding='soak_unknown', step=30, data=bytes(300)),
               Image(header=h.header(), height=0, width=0, encoding='bgr8', step=0, data=b'')] * 3
        for msg in bad:
            received = stats.snapshot().get(RECEIVED, 0)
            h.image_pub.publish(msg)
            h.image_pub.publish(encode_image_msg(astronaut, 'bgr8', h.header()))  # at once behind it
            h.wait_for(lambda seen=received: stats.snapshot().get(RECEIVED, 0) >= seen + 2,
                       what='the bad frame and the good one to arrive')
        assert len(h.send(encode_image_msg(astronaut, 'bgr8', h.header())).persons) == 1
        grown = {key: stats.snapshot().get(key, 0) - before.get(key, 0) for key in (INVALID, PROCESSED, DROPPED)}
        assert grown[INVALID] == len(bad), grown
        assert grown[PROCESSED] + grown[DROPPED] == len(bad) + 1, grown  # every good frame, the last one too
    finally:
        h.close()


def test_a_1280x720_stream_runs_an_aspect_true_input(harness, astronaut):
    import cv2

    wide = cv2.resize(astronaut, (1280, 720))
    harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))  # the inference thread's warm-up is over
    compiled = harness.node.estimator.compile_seconds
    assert len(harness.send(encode_image_msg(wide, 'bgr8', harness.header())).persons) == 1
    # 16:9 is one of the usual camera shapes the inference thread made ready before any frame.
    assert harness.node.estimator.compile_seconds == compiled
    harness.diagnostics.clear()
    harness.wait_for(lambda: len(harness.diagnostics) >= 1, what='diagnostics')
    status = [s for m in harness.diagnostics for s in m.status if s.name.startswith('/raw/pose_estimator')][-1]
    values = {kv.key: kv.value for kv in status.values}
    from tf_pose_ros.decoders.original.maps import scale_resolutions

    # 528x304 is 16:9 at 432x368's pixel count; the preset's scale applies to it (bf16 form: 1.25).
    sizes = scale_resolutions((528, 304), harness.node.estimator.config.scales)
    assert (values['input'], values['resolution'], values['preset']) == (
        ', '.join('%dx%d' % size for size in sizes), '432x368', 'default')


def _set(harness, name, value):
    from rclpy.parameter_client import AsyncParameterClient

    client = AsyncParameterClient(harness.peer, harness.node.get_fully_qualified_name())
    assert client.wait_for_services(timeout_sec=10.0)
    # An empty list has no element type to tell: it takes the declared parameter's.
    parameter = (Parameter(name, harness.node.get_parameter(name).type_, []) if value == []
                 else Parameter(name, value=value))
    future = client.set_parameters([parameter])
    harness.wait_for(future.done, timeout=60.0, what='set_parameters response')
    return future.result().results[0]


def test_runtime_parameter_changes(harness, astronaut, tmp_path):
    result = _set(harness, 'resolution', '320x240')
    assert result.successful, result.reason
    assert harness.node.estimator.resolution == (320, 240)
    assert len(harness.send(encode_image_msg(astronaut, 'bgr8', harness.header())).persons) == 1

    for name, value, reason in [('resolution', '431x368', 'multiples of 16'), ('model', 'resnet', 'unknown model'),
                                ('device', 'tpu', 'device'), ('upsample_ratio', 9.0, 'out of range'),
                                ('decoder', 'fast', 'decoder'),
                                ('image_topic', 'other', 'read-only'), ('qos_depth', 5, 'read-only')]:
        result = _set(harness, name, value)
        assert not result.successful and reason in result.reason, (name, result.reason)

    corrupt = tmp_path / 'graph_opt.pb'
    corrupt.write_bytes(b'\x00not a graph')
    result = _set(harness, 'model_path', str(corrupt))
    assert not result.successful and 'not a TensorFlow frozen graph' in result.reason
    assert harness.node.get_parameter('resolution').value == '320x240'
    assert harness.node.get_parameter('model_path').value == ''
    # The running configuration keeps working after the rejections.
    assert len(harness.send(encode_image_msg(astronaut, 'bgr8', harness.header())).persons) == 1
    assert harness.node.get_parameter('decoder').value == 'refined'

    # The decoder reloads like every other estimator setting; ratio 0.0 runs the decoder's own.
    result = _set(harness, 'decoder', 'original')
    assert result.successful, result.reason
    assert harness.node.estimator.config.decoder == 'original' and harness.node.estimator.upsample_ratio == 4.0
    assert len(harness.send(encode_image_msg(astronaut, 'bgr8', harness.header())).persons) == 1

    assert _set(harness, 'min_person_score', 5.0).successful
    assert harness.send(encode_image_msg(astronaut, 'bgr8', harness.header())).persons == []
    assert _set(harness, 'min_person_score', 0.0).successful
    assert _set(harness, 'resolution', '432x368').successful


def test_backend_and_precision_reload_and_same_values_reload_nothing(harness, astronaut):
    loaded = harness.node.estimator
    # A differently written but equal resolution is no change: nothing reloads.
    assert _set(harness, 'resolution', ' 432 X 368 ').successful
    assert harness.node.estimator is loaded
    for backend in ('tensorflow', 'litert', 'openvino'):
        result = _set(harness, 'backend', backend)
        assert result.successful, result.reason
        assert harness.node.estimator.backend == backend
        persons = harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))
        assert len(persons.persons) == 1
    result = _set(harness, 'precision', 'int8')
    assert not result.successful and 'int8 is not offered' in result.reason
    result = _set(harness, 'backend', 'cuda')
    assert not result.successful and 'expected one of auto, tensorflow, openvino, litert, torch' in result.reason
    assert _set(harness, 'backend', 'auto').successful
    # Settings that resolve to what runs already reload nothing: the preset's scales and precision
    # written out, then left to the preset again.
    running = harness.node.estimator
    for name, value in (('scales', list(running.config.scales)), ('precision', running.precision),
                        ('precision', ''), ('scales', [])):
        assert _set(harness, name, value).successful
        assert harness.node.estimator is running, (name, value)


def test_a_reload_readies_the_frame_sizes_the_cameras_send_and_no_others(harness, astronaut):
    """The new network is made ready for the sizes the node's frames had (their next frame compiles nothing),
    its warm-up framed as the first of them, and for no usual camera size that no camera here sends."""
    from tf_pose_ros.estimator import plan_input

    wide = np.ascontiguousarray(cv2.resize(astronaut, (1280, 720)))
    assert len(harness.send(encode_image_msg(wide, 'bgr8', harness.header())).persons) == 1
    old = harness.node.estimator
    assert (1280, 720) in old.frame_sizes and old.backend == 'openvino'
    assert _set(harness, 'preset', 'fast').successful
    new = harness.node.estimator
    assert new is not old and new.frame_sizes == ()
    expected = {size for frame_size in old.frame_sizes for size in plan_input(new.config, frame_size).sizes}
    assert set(new.network._requests) == expected  # the engine's compiled input sizes
    assert len(harness.send(encode_image_msg(wide, 'bgr8', harness.header())).persons) == 1
    assert set(new.network._requests) == expected  # and the next frame compiled none
    assert _set(harness, 'preset', 'default').successful


def test_reloads_give_the_old_network_back(harness):
    # Alternating resolutions and engines: memory after many reloads stays near that after the first,
    # with the allocator tuned as the pose_estimator executable tunes it.
    from tf_pose_ros.runtime.allocator import keep_freed_memory

    keep_freed_memory()
    sequence = [('320x240', 'openvino'), ('432x368', 'litert'), ('320x240', 'tensorflow'),
                ('432x368', 'openvino')] * 3
    assert _set(harness, 'backend', 'tensorflow').successful  # every engine's libraries are loaded once
    assert _set(harness, 'backend', 'litert').successful
    first = None
    for resolution, backend in sequence:
        assert _set(harness, 'resolution', resolution).successful
        assert _set(harness, 'backend', backend).successful
        first = first or _rss_mb()
    grown = _rss_mb() - first
    assert grown < 150, 'RSS grew by %.0f MB over %d reloads' % (grown, len(sequence) * 2)
    assert _set(harness, 'backend', 'auto').successful


def _rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def test_burst_faster_than_inference_stays_current(harness, astronaut):
    frames = [encode_image_msg(np.ascontiguousarray(np.roll(astronaut, i, axis=1)), 'bgr8',
                               harness.header(sec=1000 + i)) for i in range(40)]
    harness.send(encode_image_msg(astronaut, 'bgr8', harness.header()))
    rss_before = _rss_mb()
    start = harness.node.cameras[0].stats.snapshot()
    for _ in range(3):
        for msg in frames:
            harness.image_pub.publish(msg)
            time.sleep(0.002)
        # The newest frame of each burst is always processed.
        harness.wait_for(lambda: any(p.header.stamp == frames[-1].header.stamp for p in harness.persons),
                         what='the last frame of the burst')
        harness.persons.clear()
    figures = harness.node.cameras[0].stats.snapshot()
    # Most of the 120 frames were skipped (by the node's slot, or by DDS's depth-1 history).
    assert figures[PROCESSED] - start[PROCESSED] < 60
    assert figures.get(DROPPED, 0) > start.get(DROPPED, 0)
    assert figures[RECEIVED] >= figures[PROCESSED] + figures[DROPPED]
    # Every frame is accounted for: received, or counted lost from the publisher's sequence gaps.
    published = 3 * len(frames)
    assert (figures[RECEIVED] - start[RECEIVED]) + (figures.get(LOST, 0) - start.get(LOST, 0)) == published
    assert _rss_mb() - rss_before < 60, 'memory grew during bursts'


def test_frames_arriving_during_a_reload_are_counted(ros_context, mobilenet_thin_path, astronaut, capfd):
    # As the pose_estimator executable spins: one thread, so a reload holds up frame intake.
    h = Harness(ros_context, '/reloading', [Parameter('device', value='cpu')],
                executor_type=lambda context: SingleThreadedExecutor(context=context))
    try:
        frame = encode_image_msg(astronaut, 'bgr8', h.header())
        h.send(frame)
        before = h.node.cameras[0].stats.snapshot()
        done = threading.Event()
        worker = threading.Thread(target=lambda: (_set(h, 'backend', 'tensorflow'), done.set()))
        worker.start()
        published = 0
        while not done.is_set():
            h.image_pub.publish(encode_image_msg(astronaut, 'bgr8', h.header()))
            published += 1
            time.sleep(1 / 30)
        worker.join()
        assert h.node.estimator.backend == 'tensorflow'
        h.send(encode_image_msg(astronaut, 'bgr8', h.header()))
        after = h.node.cameras[0].stats.snapshot()
        received, lost = after[RECEIVED] - before[RECEIVED], after.get(LOST, 0) - before.get(LOST, 0)
        assert received + lost == published + 1
        assert lost > 0, 'frames published during a %d-frame reload all arrived?' % published
        # rclpy's own refusals are logged as ours are.
        assert not _set(h, 'image_topic', 'elsewhere').successful
        h.wait_for(lambda: "rejected image_topic='elsewhere'" in capfd.readouterr().err, what='the log line')
    finally:
        h.close()


def test_compressed_input(ros_context, mobilenet_thin_path, astronaut):
    h = Harness(ros_context, '/compressed', [Parameter('device', value='cpu'),
                                            Parameter('use_compressed', value=True),
                                            Parameter('image_topic', value='camera/image'),
                                            Parameter('qos_reliability', value='reliable')])
    try:
        assert h.node.cameras[0].subscriptions.image.subscription.topic_name == '/compressed/camera/image/compressed'
        for fmt in ('jpeg', 'png'):
            persons = h.send(bgr8_to_compressed_msg(astronaut, h.header(), fmt=fmt))
            assert len(persons.persons) == 1
        h.image_pub.publish(CompressedImage(header=h.header(), format='jpeg', data=b'\xff\xd8garbage'))
        h.wait_for(lambda: h.node.cameras[0].stats.snapshot().get(INVALID, 0) >= 1, what='invalid compressed frame')
        # A small JPEG whose header declares 10240x10240 pixels is refused undecoded, and counted.
        bomb = bytearray(cv2.imencode('.jpg', astronaut[:8, :8])[1].tobytes())
        sof = bomb.index(b'\xff\xc0')
        bomb[sof + 5:sof + 9] = (10240).to_bytes(2, 'big') * 2
        h.image_pub.publish(CompressedImage(header=h.header(), format='jpeg', data=bytes(bomb)))
        h.wait_for(lambda: h.node.cameras[0].stats.snapshot().get(INVALID, 0) >= 2, what='the oversized frame counted')
    finally:
        h.close()


def test_missing_model_keeps_the_node_up_and_a_parameter_fixes_it(ros_context, mobilenet_thin_path, tmp_path,
                                                                  astronaut):
    h = Harness(ros_context, '/missing', [Parameter('model_path', value=str(tmp_path / 'absent.pb')),
                                         Parameter('qos_reliability', value='reliable'),
                                         Parameter('diagnostics_period', value=0.2)])
    try:
        assert h.node.estimator is None
        h.wait_for(lambda: any(s.level == s.ERROR and 'absent.pb' in s.message and s.name.startswith('/missing/')
                               for m in h.diagnostics for s in m.status), what='ERROR diagnostics')
        h.image_pub.publish(encode_image_msg(astronaut, 'bgr8', h.header()))
        h.wait_for(lambda: h.node.cameras[0].stats.snapshot().get(SKIPPED_NO_MODEL, 0) >= 1, what='skipped count')
        assert _set(h, 'model_path', str(mobilenet_thin_path)).successful
        assert len(h.send(encode_image_msg(astronaut, 'bgr8', h.header())).persons) == 1
    finally:
        h.close()


def test_a_resolution_read_as_an_integer_is_refused_and_the_node_stays_up(ros_context, mobilenet_thin_path,
                                                                           astronaut):
    """`-p resolution:=0x10` arrives as the integer 16: no network, a message naming the form and the quoting; the
    parameter keeps its default and every change but a resolution is refused until one is set."""
    h = Harness(ros_context, '/hex', [Parameter('resolution', value=16), Parameter('device', value='cpu'),
                                     Parameter('qos_reliability', value='reliable'),
                                     Parameter('diagnostics_period', value=0.2)])
    try:
        assert h.node.estimator is None and h.node.get_parameter('resolution').value == '432x368'
        status = h.wait_for_status('resolution is text')
        assert status.level == status.ERROR
        assert 'WIDTHxHEIGHT' in status.message and '-p "resolution:=\'432x368\'"' in status.message
        assert 'the integer 16 (0x... is a hexadecimal number to ROS)' in status.message
        refused = _set(h, 'tracking', False)
        assert not refused.successful and 'resolution is text' in refused.reason
        refused = _set(h, 'resolution', 0)  # at run time too: rclpy leaves the type to the node
        assert not refused.successful and 'the integer 0' in refused.reason, refused.reason
        assert h.node.estimator is None
        assert _set(h, 'resolution', '432x368').successful
        assert h.node.estimator is not None and h.node.estimator.resolution == (432, 368)
        assert len(h.send(encode_image_msg(astronaut, 'bgr8', h.header())).persons) == 1
        assert _set(h, 'tracking', False).successful
    finally:
        h.close()


def test_console_entry_point_keeps_running_after_a_hexadecimal_resolution():
    """The command line of the report: ROS's parser turns 0x0 into the integer 0 before the node sees it."""
    node = Executable('pose_estimator', '--ros-args', '-r', '__ns:=/hex_cli', '-p', 'device:=cpu',
                      '-p', 'resolution:=0x0')
    try:
        node.wait_for('listening on')  # subscribed after the refused load: the node stays up
        assert node.process.poll() is None
        status = node.stop()
    finally:
        node.kill()
    out = node.output
    assert status == 0 and 'Traceback' not in out and '[FATAL]' not in out and 'decimal point' not in out, out
    assert 'no model loaded: resolution is text' in out and 'the integer 0' in out
    assert '-p "resolution:=\'432x368\'"' in out


def test_console_entry_point_runs_the_node(ros_context, mobilenet_thin_path, astronaut):
    """The installed `pose_estimator` executable, as a separate process with --ros-args."""
    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
    if not os.path.exists(exe):
        pytest.fail('%s missing: run `make setup`' % exe)
    env = dict(os.environ)
    proc = subprocess.Popen([exe, '--ros-args', '-r', '__ns:=/robot', '-p', 'device:=cpu',
                             '-p', 'qos_reliability:=reliable', '-p', 'image_topic:=/robot/camera/image_raw'],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peer = Node('entry_point_peer', context=ros_context)
    received = []
    peer.create_subscription(Persons, '/robot/pose_estimator/persons', received.append, 10)
    pub = peer.create_publisher(Image, '/robot/camera/image_raw', QOS)
    executor = rclpy.executors.SingleThreadedExecutor(context=ros_context)
    executor.add_node(peer)
    try:
        deadline = time.monotonic() + 90
        while not received and time.monotonic() < deadline and proc.poll() is None:
            if pub.get_subscription_count() > 0:
                header = Header(frame_id='camera')
                header.stamp = peer.get_clock().now().to_msg()
                pub.publish(encode_image_msg(astronaut, 'bgr8', header))
            executor.spin_once(timeout_sec=0.5)
        assert received, 'no Persons from the entry point (exit code %s)' % proc.poll()
        assert len(received[0].persons) == 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        executor.shutdown()
        peer.destroy_node()
    assert 'loaded mobilenet_thin' in out


def test_console_entry_point_rejects_a_wrongly_typed_parameter_without_a_traceback():
    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
    if not os.path.exists(exe):
        pytest.fail('%s missing: run `make setup`' % exe)
    env = dict(os.environ)
    done = subprocess.run([exe, '--ros-args', '-p', 'upsample_ratio:=4'], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    assert done.returncode == 1, done.stdout
    assert 'Traceback' not in done.stdout and '[FATAL]' in done.stdout
    assert "'upsample_ratio'" in done.stdout and 'decimal point' in done.stdout


def test_console_entry_point_rejects_an_invalid_topic_name_without_a_traceback():
    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
    done = subprocess.run([exe, '--ros-args', '-p', 'device:=cpu', '-p', 'depth_topic:=not a topic!'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert done.returncode == 1, done.stdout
    assert 'Traceback' not in done.stdout and '[FATAL]' in done.stdout and 'not a topic!' in done.stdout


def test_a_second_ctrl_c_during_shutdown_still_exits_cleanly():
    """A terminal's Ctrl-C and `ros2 launch` each send SIGINT: the clean-up must survive the second."""
    import signal

    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
    proc = subprocess.Popen([exe, '--ros-args', '-r', '__ns:=/twice', '-p', 'device:=cpu'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = ''
    for line in proc.stdout:  # until the node is up
        out += line
        if 'listening on' in line:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.04)
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=30)
    out += rest
    assert proc.returncode == 0, out[-3000:]
    assert 'Traceback' not in out


def test_smoothing_steadies_a_track_and_a_parameter_change_starts_it_afresh(harness, astronaut):
    moved = np.ascontiguousarray(np.roll(astronaut, 10, axis=1))

    def nose_shift(start):
        before = harness.send(encode_image_msg(astronaut, 'bgr8', harness.header(sec=start)))
        after = harness.send(encode_image_msg(moved, 'bgr8', harness.header(sec=start + 1 / 30)))
        assert len(before.persons) == len(after.persons) == 1
        return _nose(after.persons[0]).x - _nose(before.persons[0]).x, after.persons[0].id

    try:
        assert _set(harness, 'smoothing', 'none').successful
        raw, _ = nose_shift(100.0)
        assert 7 < raw < 13  # the network follows the 10-pixel move
        assert _set(harness, 'smoothing', 'one_euro').successful
        smoothed, _ = nose_shift(200.0)
        assert 0 < smoothed < 0.5 * raw  # one frame of a move is followed partly
        # Tracking off: Person.id is the index, and the filter still follows the (internal) track.
        assert _set(harness, 'tracking', False).successful
        smoothed_untracked, index = nose_shift(300.0)
        assert index == 0 and 0 < smoothed_untracked < 0.5 * raw
    finally:
        assert _set(harness, 'tracking', True).successful and _set(harness, 'smoothing', 'one_euro').successful
