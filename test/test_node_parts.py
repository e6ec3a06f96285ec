"""The node's pure helpers: the one-frame slot, the statistics, parameter validation."""

import threading
import time

import pytest

from tf_pose_ros.ros.node_parameters import PARAMS, RELOAD_PARAMS, validate
from tf_pose_ros.streams.frame_slot import LatestFrameSlot
from tf_pose_ros.streams.stats import PipelineStats

pytestmark = pytest.mark.ros


def test_slot_keeps_only_the_newest_and_counts_replacements():
    slot = LatestFrameSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True and slot.put(3) is True
    assert slot.dropped == 2
    assert slot.take(timeout=0)[0] == 3
    assert slot.take(timeout=0.01) is None


def test_slot_hands_frames_across_threads_and_closes():
    slot = LatestFrameSlot()
    got = []

    def consumer():
        while True:
            entry = slot.take(timeout=1.0)
            if entry is None:
                return
            got.append(entry[0])

    thread = threading.Thread(target=consumer)
    thread.start()
    for i in range(1000):
        slot.put(i)
    slot.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert got == sorted(got) and got[-1] == 999
    assert len(got) + slot.dropped == 1000


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_slot_estimates_the_frame_period_and_ignores_pauses():
    clock = FakeClock()
    slot = LatestFrameSlot(clock)
    for _ in range(20):
        slot.put('f')
        slot.take(timeout=0)
        clock.now += 0.1
    assert slot.period == pytest.approx(0.1)
    clock.now += 30.0
    slot.put('after a pause')
    assert slot.period == pytest.approx(0.1)


def test_fresh_take_swaps_a_stale_frame_for_the_next_one():
    slot = LatestFrameSlot()
    for i in range(4):
        slot.put(i)
        slot.take(timeout=0)
        time.sleep(0.2)
    slot.put('stale')
    time.sleep(0.15)  # older than 2/3 of the 200 ms period; the next frame is due in 50 ms
    threading.Timer(0.02, slot.put, args=('next',)).start()
    frame, _ = slot.take(timeout=1.0, fresh=True)
    assert frame == 'next' and slot.dropped == 1


def test_fresh_take_keeps_a_young_frame_and_never_loses_the_last_one():
    slot = LatestFrameSlot()
    for i in range(5):
        slot.put(i)
        slot.take(timeout=0)
        time.sleep(0.05)
    slot.put('young')
    assert slot.take(timeout=1.0, fresh=True)[0] == 'young'
    slot.put('last')
    time.sleep(0.045)
    started = time.monotonic()
    assert slot.take(timeout=1.0, fresh=True)[0] == 'last'  # no newer frame came: the stale one is used
    assert time.monotonic() - started < 0.2


def test_stats_rate_latency_and_window():
    stats = PipelineStats(window=5.0)
    for i in range(11):
        stats.record(latency_s=0.1 + 0.01 * i, pipeline_s=0.08, now=100.0 + 0.5 * i)
    stats.count('received', 12)
    figures = stats.snapshot(now=105.0)
    assert figures['rate_hz'] == pytest.approx(2.0)
    assert figures['latency_ms_max'] == pytest.approx(200.0)
    assert figures['pipeline_ms_mean'] == pytest.approx(80.0)
    assert figures['received'] == 12
    later = stats.snapshot(now=200.0)
    assert later['rate_hz'] == 0.0 and 'latency_ms_mean' not in later


def test_every_parameter_default_is_valid():
    for param in PARAMS:
        assert validate(param.name, param.default) is None, param.name
    assert RELOAD_PARAMS <= {p.name for p in PARAMS}


@pytest.mark.parametrize('name, value, words', [
    ('model', 'resnet', 'unknown model'),
    ('resolution', '432x36', 'multiples of 16'),
    ('resolution', 432, 'resolution is text'),
    ('upsample_ratio', 9.0, 'within'),
    ('upsample_ratio', 'four', 'must be a float'),
    ('device', 'gpu:one', 'device'),
    ('qos_reliability', 'sometimes', 'qos_reliability'),
    ('qos_depth', 0, 'within'),
    ('qos_depth', True, 'must be a int'),
    ('min_keypoint_score', -0.1, 'within'),
    ('publish_annotated', 'yes', 'must be a bool'),
])
def test_invalid_parameter_values_have_reasons(name, value, words):
    reason = validate(name, value)
    assert reason is not None and words in reason


def test_integers_are_accepted_for_float_parameters():
    assert validate('upsample_ratio', 2) is None
    assert validate('resolution', '') is None


def test_config_yaml_documents_every_parameter_with_its_default():
    from pathlib import Path

    import yaml

    config = yaml.safe_load((Path(__file__).parent.parent / 'config' / 'tf_pose.yaml').read_text())
    values = config['/**/pose_estimator']['ros__parameters']
    assert set(values) == {p.name for p in PARAMS}
    for param in PARAMS:
        assert values[param.name] == param.default, param.name
        assert type(values[param.name]) is type(param.default), param.name


def test_enum_like_parameters_name_their_choices():
    by_name = {p.name: p.descriptor() for p in PARAMS}
    assert by_name['backend'].additional_constraints == 'one of: auto, tensorflow, openvino, litert, torch'
    assert by_name['precision'].additional_constraints == 'one of: fp32, bf16, fp16'
    assert by_name['qos_reliability'].additional_constraints == 'one of: auto, reliable, best_effort'
    assert 'mobilenet_thin' in by_name['model'].additional_constraints
    assert by_name['upsample_ratio'].floating_point_range[0].to_value == 8.0
    assert by_name['threads'].integer_range[0].to_value == 256 and by_name['qos_depth'].read_only


def test_diagnostics_status_levels_and_values():
    from diagnostic_msgs.msg import DiagnosticStatus

    from tf_pose_ros.ros.diagnostics import pose_status

    settings = {'model': 'mobilenet_thin', 'device': '/CPU:0', 'backend': 'openvino'}
    figures = {'received': 12, 'processed': 10, 'dropped': 2, 'rate_hz': 9.5, 'latency_ms_p99': 41.234}
    status, problems = pose_status('/pose: pose estimation', figures, settings, None, 0, 0.1)
    values = {kv.key: kv.value for kv in status.values}
    assert status.level == DiagnosticStatus.OK and status.message == 'running at 9.5 Hz' and problems == 0
    assert status.hardware_id == '/CPU:0' and values['backend'] == 'openvino'
    assert (values['received'], values['failed'], values['latency_ms_p99'], values['input_hz']) == \
        ('12', '0', '41.23', '10.00')
    worse = dict(figures, invalid=1, skipped_no_model=2)
    status, problems = pose_status('/pose: pose estimation', worse, settings, None, 0, None)
    assert status.level == DiagnosticStatus.WARN and problems == 3 and 'input_hz' not in \
        {kv.key for kv in status.values}
    assert pose_status('/pose', worse, settings, None, problems, None)[0].level == DiagnosticStatus.OK
    status, _ = pose_status('/pose', {}, {'device': 'none'}, 'weights not found', 0, None)
    assert status.level == DiagnosticStatus.ERROR and 'weights not found' in status.message


def test_sequence_gaps_count_what_each_publisher_lost():
    from tf_pose_ros.streams.sequence_gaps import SequenceGaps

    def info(gid, sequence):
        return {'publication_sequence_number': sequence, 'publisher_gid': {'data': gid}}

    gaps = SequenceGaps()
    assert gaps.missed(info(b'a', 7)) == 0          # the first frame only sets the baseline
    assert gaps.missed(info(b'a', 8)) == 0
    assert gaps.missed(info(b'a', 12)) == 3         # 9, 10 and 11 never arrived
    assert gaps.missed(info(b'b', 100)) == 0        # another publisher has its own numbers
    assert gaps.missed(info(b'b', 102)) == 1
    assert gaps.missed(info(b'a', 2)) == 0          # a restarted publisher starts again
    assert gaps.missed(info(b'a', 4)) == 1
    assert gaps.missed(None) == 0 and gaps.missed({'publication_sequence_number': None}) == 0


def test_a_camera_puts_the_gap_found_just_after_a_reload_down_to_the_reload():
    from sensor_msgs.msg import Image

    from tf_pose_ros.ros.camera_input import RELOAD_LOSS_WINDOW_S, CameraInput, CameraSpec
    from tf_pose_ros.streams.stats import LOST

    camera = CameraInput(CameraSpec('', '/image_raw'), track_max_age=5, depth=None)

    def arrive(sequence):
        info = {'publication_sequence_number': sequence, 'publisher_gid': {'data': b'cam'}}
        camera.on_image(Image(height=1, width=1, encoding='bgr8', step=3, data=bytes(3)), info)

    arrive(1)
    arrive(4)  # 2 and 3 lost on the way
    camera.network_reloaded()
    arrive(10)  # 5 to 9 went by while the network loaded
    camera.health.reloaded_at -= RELOAD_LOSS_WINDOW_S  # long after the reload
    arrive(12)
    assert camera.stats.counts[LOST] == 2 + 5 + 1  # every one counted lost
    assert camera.health.lost_in_reload == 5


def test_stats_split_the_latency_into_its_parts():
    stats = PipelineStats(window=10.0)
    parts = {'transport': 0.004, 'wait': 0.001, 'decode': 0.002, 'pipeline': 0.030, 'message': 0.0005}
    for i in range(4):
        stats.record(latency_s=sum(parts.values()), pipeline_s=0.033, now=10.0 + i, split=parts)
    stats.record(latency_s=0.05, pipeline_s=0.05, now=14.0)  # a result without a split still counts
    figures = stats.snapshot(now=14.0)
    assert figures['latency_ms_pipeline'] == pytest.approx(30.0)
    assert figures['latency_ms_transport'] == pytest.approx(4.0)
    assert sum(figures['latency_ms_%s' % p] for p in parts) == pytest.approx(37.5)
    assert figures['latency_ms_median'] == pytest.approx(37.5) and figures['latency_ms_p99'] == pytest.approx(50.0)


def test_readme_documents_every_parameter_with_its_default():
    """The parameter table moved from the README to docs/ros-node.md; this reads it there."""
    from pathlib import Path

    page = (Path(__file__).parent.parent / 'docs' / 'ros-node.md').read_text()
    rows = {line.split('|')[1].strip(): line for line in page.splitlines() if line.startswith('| `')}
    for param in PARAMS:
        row = rows.get('`%s`' % param.name)
        assert row is not None, '%s is not in the parameter table of docs/ros-node.md' % param.name
        cells = [cell.strip() for cell in row.split('|')]
        default = cells[3].strip('`')
        assert default in (repr(param.default), str(param.default).lower(), str(param.default)), param.name
        assert ('read-only' in cells[5]) == param.read_only, param.name


def test_frame_times_split_the_latency_into_the_reported_parts():
    from tf_pose_ros.ros.result_publisher import FrameTimes
    from tf_pose_ros.streams.stats import LATENCY_PARTS

    # Arrived at 10.0, batch taken 10 ms later, decoded in 5 ms, its network call began 5 ms after that
    # (an earlier frame of the batch went first), inferred at 10.05, published at 10.06.
    times = FrameTimes(arrived=10.0, started=10.01, decoded=10.015, began=10.02)
    split = times.split(latency=0.1, inferred=10.05, now=10.06)
    assert tuple(split.parts()) == LATENCY_PARTS
    assert split.parts() == pytest.approx({'transport': 0.04, 'wait': 0.015, 'decode': 0.005, 'pipeline': 0.03,
                                           'message': 0.01})
    assert sum(split.parts().values()) == pytest.approx(0.1)
    assert times.pipeline(now=10.06) == pytest.approx(0.045)


def test_diagnostics_settings_keep_the_order_readers_index_by():
    from tf_pose_ros.ros.node_diagnostics import Batching, CameraSettings, ModelSettings, status_settings

    config = {p.name: p.default for p in PARAMS}
    model = ModelSettings.of(None, config, enabled=True)
    batches = PipelineStats()
    batches.count('batches', 2)
    batches.count('batched', 3)
    shared = ['model', 'device', 'enabled', 'backend', 'precision', 'resolution', 'decoder', 'upsample_ratio']
    camera = ['depth', 'image_topic', 'qos', 'interpolation', 'input', 'preset']
    values = status_settings(model, Batching.of(batches, config),
                             CameraSettings('off', '/front/image_raw', 'reliable', 'front'))
    assert list(values) == shared + ['batches', 'batched', 'batch_size', 'batch_wait'] + camera + ['camera']
    assert (values['device'], values['enabled'], values['batches'], values['batched'], values['camera']) == \
        ('none', 'true', '2', '3', 'front')
    single = status_settings(model, None, CameraSettings('off', '/image_raw', 'reliable', ''))
    assert list(single) == shared + camera


def test_bodies_are_the_persons_a_persons_message_carries():
    from tf_pose_ros.people import Keypoint, Person, PoseResult
    from tf_pose_ros.ros.messages import confident

    def person(score, *keypoint_scores):
        return Person(score, tuple(Keypoint(i, 'p%d' % i, 1.0, 2.0, s, 0.1, 0.2)
                                   for i, s in enumerate(keypoint_scores)))
    result = PoseResult([person(0.9, 0.5, 0.05), person(0.3, 0.8), person(0.6, 0.01)], (640, 480))
    shown, tracks = confident(result, [7, 8, 9], min_person_score=0.5, min_keypoint_score=0.1)
    assert tracks == [7, 9] and shown.image_size == (640, 480)
    assert [[k.score for k in p.keypoints] for p in shown.persons] == [[0.5], []]
