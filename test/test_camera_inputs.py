"""Cameras at their default settings reach the node at its defaults (qos_reliability auto), and
/diagnostics names the cause when frames do not arrive.

The camera drivers are real processes (tf_pose_ros.benchmarks.stand_in_camera: plain rclpy with Fast DDS
at its defaults, reliable like usb_cam or sensor-data QoS like many drivers); the pose node is the
real node in this process.
"""

import json
import os
import subprocess
import time

import pytest
from diagnostic_msgs.msg import DiagnosticStatus
from node_harness import Harness, NodeProcess, wait_for
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from tf_pose_ros.benchmarks.stand_in_camera import driver_command
from tf_pose_ros.ros.adaptive_subscription import PublisherInfo, reliability_for
from tf_pose_ros.ros.fastdds_profile import PROFILE_ENV
from tf_pose_ros.streams.stats import INCOMPATIBLE_QOS

pytestmark = pytest.mark.ros

BEST_EFFORT_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT)


def run_driver(topic, qos, size, rate, count, profile=False):
    """Run a stand-in camera driver process to its end; its JSON summary."""
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}  # Fast DDS as a user's driver has it
    # The driver waits for the node's subscription (a busy machine discovers slowly), then publishes.
    done = subprocess.run(driver_command(topic, qos, size, rate, count, profile, wait_subscriber=60.0), env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary['subscribed'] and summary['published'] == count
    return summary


def delivered(node, qos, size, rate, count, profile=False):
    """Frames of one driver run that reached the node (its 'received' counter on /diagnostics)."""
    before = node.settle()
    run_driver(node.topic, qos, size, rate, count, profile)
    return node.settle() - before


def test_auto_takes_reliable_only_when_every_publisher_is_reliable():
    reliable, best_effort = PublisherInfo('a', 'reliable'), PublisherInfo('b', 'best_effort')
    assert reliability_for([]) is None
    assert reliability_for([reliable]) == 'reliable'
    assert reliability_for([reliable, reliable]) == 'reliable'
    assert reliability_for([reliable, best_effort]) == 'best_effort'
    assert reliability_for([best_effort]) == 'best_effort'


@pytest.fixture(scope='module')
def auto_node(ros_context, mobilenet_thin_path):
    """The node at its default QoS (auto) as a process of its own, as a robot runs it: the test process's
    threads and interpreter do not share its CPU time; nothing of the test publishes on its image topic."""
    node = NodeProcess(ros_context, '/cams', ['device:=cpu', 'publish_annotated:=false',
                                             # One inference thread: with both of a 2-core machine's cores busy,
                                             # the node's own DDS threads starve and best-effort frames are lost
                                             # even with the profile (docs/cameras.md); here the transport is
                                             # under test, not the CPU share.
                                             'threads:=1', 'diagnostics_period:=0.5'])
    yield node
    node.close()


def test_a_reliable_1280x720_driver_at_defaults_gets_through_in_full(auto_node):
    """The issue's headline: 2 of 150 such frames reached the old best-effort default."""
    # A second try where the first lost frames: on a shared 2-core VM a stall of the whole machine
    # (steal time) overflows the node's UDP receive buffer and Fast DDS repairs late; the old
    # default lost 148 of 150 every time.
    counts = []
    for _ in range(2):
        counts.append(delivered(auto_node, 'reliable', '1280x720', 15, 60))
        if counts[-1] >= 57:
            break
    assert counts[-1] >= 57, 'frames received of 60, per try: %s' % counts
    assert 'reliable' in auto_node.counters()['qos']


def test_a_best_effort_driver_is_matched_and_a_reliable_one_is_taken_back(ros_context, auto_node, astronaut):
    from tf_pose_ros.ros.image_conversion import encode_image_msg

    reliable_pub = auto_node.peer.create_publisher(Image, auto_node.topic, 10)
    try:
        auto_node.wait_for(lambda: auto_node.counters().get('qos', '').startswith('reliable')
                           and reliable_pub.get_subscription_count() > 0, what='a reliable subscription')
        # Small frames (230 KB) mostly fit Fast DDS's default shared memory even best effort; a reliable
        # subscription would get none of them (incompatible QoS).
        received = delivered(auto_node, 'sensor_data', '320x240', 15, 45)
        assert received >= 10, '%d of 45 best-effort frames received' % received
        # The best-effort driver is gone: back to reliable, and the reliable publisher's frames arrive.
        auto_node.wait_for(lambda: auto_node.counters().get('qos', '').startswith('reliable'), timeout=10,
                           what='reliable again')
        auto_node.image_pub = reliable_pub
        # The new reader is matched by the publisher a moment after it exists: send until answered.
        header = Header(frame_id='camera')
        for _ in range(10):
            header.stamp = auto_node.peer.get_clock().now().to_msg()
            try:
                persons = auto_node.send(encode_image_msg(astronaut, 'bgr8', header), timeout=2.0)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError('the reliable publisher never reached the node again')
        assert len(persons.persons) == 1
    finally:
        auto_node.peer.destroy_publisher(reliable_pub)
        auto_node.image_pub = None


def test_large_best_effort_frames_are_explained_and_the_profile_fixes_them(auto_node):
    # The same run's baseline: what a best-effort stream that fits Fast DDS's default shared memory
    # (320x240, 230 KB) gets to the node now, on this machine under this load.
    baseline = delivered(auto_node, 'sensor_data', '320x240', 15, 90)
    reports = len(auto_node.statuses())
    # 12 s, as a camera that keeps running: Fast DDS may pass a few frames early and then none at all
    # (frames 31 and 32 of 90 here, none after), which only the silent-publisher warning can name,
    # after NO_PUBLISHER_WARN_S of silence while the driver is still there.
    # Frames that stop less than NO_PUBLISHER_WARN_S before the driver ends, with no gap before, are
    # not countable: a second run (a camera that keeps running) then shows the gaps or the silence.
    without = []
    for _ in range(2):
        without.append(delivered(auto_node, 'sensor_data', '640x480', 15, 180))
        try:
            auto_node.wait_for_status('FASTDDS_DEFAULT_PROFILES_FILE', since=reports, timeout=7.0)
            break
        except AssertionError:
            continue
    assert max(without) < 120, without  # Fast DDS at its defaults drops most of them on the driver's side
    without = max(without)
    # Whether frames arrived with gaps (lost frames) or stopped (a silent publisher), the WARN names the cause.
    status = auto_node.wait_for_status('FASTDDS_DEFAULT_PROFILES_FILE', since=reports)
    assert status.level == DiagnosticStatus.WARN
    assert 'best' in status.message and 'use_compressed' in status.message, status.message

    # The remedy the message gives: the driver with the package's Fast DDS profile. Per 90 frames it gets as
    # many through as the small stream did (at least 2/3 of it: best effort through a busy machine loses
    # some either way), and clearly more than the driver at its defaults.
    with_profile = delivered(auto_node, 'sensor_data', '640x480', 15, 90, profile=True)
    assert with_profile >= 2 * baseline / 3 and with_profile >= without / 2 + 30, (baseline, without, with_profile)


def test_no_publisher_names_the_image_topics_that_have_one(ros_context, mobilenet_thin_path):
    h = Harness(ros_context, '/nopub', [Parameter('device', value='cpu'), Parameter('diagnostics_period', value=0.5),
                                        Parameter('image_topic', value='nothing_here')], image_qos=None)
    try:
        h.peer.create_publisher(Image, '/nopub/camera/color/image_raw', 10)

        status = h.wait_for_status('no publisher')
        assert status.level == DiagnosticStatus.WARN
        assert '/nopub/nothing_here' in status.message
        assert '/nopub/camera/color/image_raw (peer)' in status.message
        assert '/nopub/pose_estimator/image_annotated' not in status.message  # its own output is no camera
        # Auto subscribes best effort from the start: the input is in the graph before any publisher.
        assert h.node.cameras[0].subscriptions.image.subscription is not None
        assert h.peer.count_subscribers('/nopub/nothing_here') == 1
        values = {v.key: v.value for v in status.values}
        assert values['qos'] == 'best_effort (auto: no publisher, matches any)'
    finally:
        h.close()


def test_fixed_reliable_against_a_best_effort_publisher_is_reported(ros_context, mobilenet_thin_path):
    h = Harness(ros_context, '/fixed', [Parameter('device', value='cpu'), Parameter('diagnostics_period', value=0.5),
                                        Parameter('qos_reliability', value='reliable')], image_qos=BEST_EFFORT_QOS)
    try:
        h.wait_for(lambda: h.node.cameras[0].stats.snapshot().get(INCOMPATIBLE_QOS, 0) >= 1, timeout=15,
                   what='the incompatible QoS count')

        assert 'offers best effort' in h.wait_for_status('QoS mismatch').message
    finally:
        h.close()


def test_an_unreadable_encoding_is_named_on_diagnostics(ros_context, mobilenet_thin_path):
    h = Harness(ros_context, '/enc', [Parameter('device', value='cpu'), Parameter('diagnostics_period', value=0.5)])
    try:
        h.image_pub.publish(Image(header=h.header(), height=4, width=4, encoding='nv21', step=4, data=bytes(24)))

        message = h.wait_for_status('unreadable frames').message
        assert "'nv21'" in message and 'bgr8' in message, message
    finally:
        h.close()


def test_input_warnings_name_a_matched_but_silent_best_effort_publisher():
    from tf_pose_ros.ros.input_health import InputFacts, input_warnings

    facts = InputFacts(topic='/image_raw', reliability='best_effort', seconds_without_publisher=0.0,
                       seconds_silent=6.0, frame_bytes=0, lost=0, profile_path='/x/fastdds_large_frames.xml')
    (warning,) = input_warnings(facts)
    assert warning.kind == 'silent_best_effort'
    assert 'no frame arrived for 6 s' in warning.text and 'FASTDDS_DEFAULT_PROFILES_FILE=/x/' in warning.text
    quiet = input_warnings(InputFacts(topic='/image_raw', reliability='reliable',
                                      seconds_without_publisher=0.0, seconds_silent=6.0, frame_bytes=0, lost=0))
    assert [w.kind for w in quiet] == ['silent_reliable'] and 'on demand' in quiet[0].text
    assert not input_warnings(InputFacts(topic='/image_raw', reliability='reliable',
                                         seconds_without_publisher=0.0, seconds_silent=1.0, frame_bytes=0, lost=0))


def test_a_client_that_waits_for_the_subscription_in_the_graph_gets_its_answer(ros_domain_id, mobilenet_thin_path):
    """A client of its own DDS participant finds the node's input in the graph, publishes one photo, gets Persons.

    The photo (512x512 bgr8, 786 KB) is larger than Fast DDS's default shared-memory segment, and the
    client publishes reliable (rclpy's default), so auto moves the subscription to reliable meanwhile.
    """
    from node_harness import separate_participants
    from rclpy.node import Node

    from tf_pose_ros.msg import Persons
    from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg
    from tf_pose_ros.ros.pose_estimator_node import PoseEstimatorNode
    from tf_pose_ros.samples import astronaut_bgr

    with separate_participants(ros_domain_id) as graph:
        pose = graph.add(PoseEstimatorNode(context=graph.contexts[0], namespace='/graph',
                                           parameter_overrides=[Parameter('device', value='cpu')]))
        client = graph.add(Node('client', namespace='/graph', context=graph.contexts[1]))
        answers = []
        client.create_subscription(Persons, '/graph/pose_estimator/persons', answers.append, 10)
        graph.spin()

        wait_for(lambda: client.get_subscriptions_info_by_topic('/graph/image_raw'), timeout=10,
                 what="the node's Image subscription in the graph")
        wait_for(lambda: client.count_publishers('/graph/pose_estimator/persons') > 0, timeout=10,
                 what='the Persons publisher')
        # Only now the client publishes: before that the node's input must be there on its own.
        publisher = client.create_publisher(Image, '/graph/image_raw', 10)
        wait_for(lambda: publisher.get_subscription_count() > 0, timeout=10, what='the match')
        msg = bgr8_to_image_msg(astronaut_bgr())
        msg.header.frame_id = 'camera'
        msg.header.stamp = client.get_clock().now().to_msg()
        publisher.publish(msg)  # at once, as a client that saw the subscriber does

        wait_for(lambda: any(p.header.stamp == msg.header.stamp for p in answers), timeout=30,
                 what='the Persons answer')
        assert [p for p in answers if p.header.stamp == msg.header.stamp][0].persons  # the astronaut
        assert pose.cameras[0].subscriptions.image.subscription is not None


def test_a_switch_while_frames_flow_loses_none(ros_context):
    """auto starts best effort and switches to reliable once it sees a reliable driver; the switch comes while
    the driver (a process of its own) already sends. Every frame arrives, once: the best-effort subscription
    stays until the reliable one is matched. Unsubscribing at once lost the frames of that moment (a
    test_multi_camera frame in CI)."""
    import threading

    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    from tf_pose_ros.ros.adaptive_subscription import AUTO, BEST_EFFORT, RELIABLE, AdaptiveSubscription

    node = Node('switching_input', context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    got = []
    adaptive = AdaptiveSubscription(node, Image, '/switching/image_raw', lambda msg: got.append(msg.header.stamp),
                                    AUTO, 5)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    # Small frames: best effort delivers them all, so any loss is the switch's.
    driver = subprocess.Popen(driver_command('/switching/image_raw', 'reliable', '160x120', 30.0, 90,
                                             wait_subscriber=60.0), env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert adaptive.reliability == BEST_EFFORT
        wait_for(lambda: len(got) >= 5, timeout=60.0, what='frames through the best-effort subscription')
        assert adaptive.poll() and adaptive.reliability == RELIABLE  # the switch, while frames flow
        assert adaptive.switching  # the best-effort subscription stays until the reliable one is matched
        while driver.poll() is None:
            adaptive.poll()  # as the node's timer does
            time.sleep(0.1)
        assert not adaptive.switching
        summary = json.loads(driver.stdout.read().strip().splitlines()[-1])
        wait_for(lambda: len(got) >= summary['published'], timeout=10.0,
                 what='%d frames (%d so far)' % (summary['published'], len(got)))
        time.sleep(0.3)
        assert len(got) == summary['published'] == 90
        assert len(set((t.sec, t.nanosec) for t in got)) == 90  # none twice
    finally:
        driver.kill()
        driver.wait()
        stop.set()
        spinner.join()
        adaptive.destroy()
        executor.shutdown()
        node.destroy_node()
