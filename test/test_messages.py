"""The generated messages: a Persons message survives a real rclpy publish/subscribe unchanged.

Needs the package built (scripts/build_package.sh or colcon): tf_pose_ros.msg and its typesupport
libraries exist only in the installed copy. Skipped only where rclpy is not installed at all.
"""

import importlib.util
import os
import time

import pytest

if importlib.util.find_spec('rclpy') is None:
    pytest.skip('rclpy (ROS 2) is not importable', allow_module_level=True)

# Keep discovery on this machine. rcl reads it at init; a value set by the caller wins.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')

try:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
except ImportError as err:  # installed, but its C libraries are not found
    pytest.fail('rclpy is installed but does not import (%s): its libraries must be on LD_LIBRARY_PATH '
                '(the ros_wheels_bootstrapper .pth in the venv sets it)' % err, pytrace=False)

from builtin_interfaces.msg import Time  # noqa: E402
from geometry_msgs.msg import Point  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

try:
    from tf_pose_ros.msg import Keypoint, Person, Persons
except ImportError as err:
    pytest.fail('tf_pose_ros.msg does not import (%s): build the package first '
                '(scripts/build_package.sh VENV, or colcon build)' % err, pytrace=False)

from tf_pose_ros.parts import NUM_PARTS, PART_IDS, PART_NAMES  # noqa: E402

TOPIC = '/tf_pose_ros_test_messages_%d/persons' % os.getpid()
TIMEOUT = 20.0

pytestmark = pytest.mark.ros


def keypoint(part_id, x, y, confidence):
    return Keypoint(id=part_id, name=PART_NAMES[part_id], x=x, y=y, confidence=confidence)


def sample_persons():
    """Two people; values exactly representable in float32 so that equality is exact."""
    wrist = keypoint(Keypoint.RIGHT_WRIST, 12.5, 200.25, 0.75)
    wrist.has_position = True  # the 3D fields round-trip too
    wrist.position = Point(x=0.5, y=-1.25, z=3.0)
    first = Person(id=0, score=0.875, keypoints=[
        keypoint(Keypoint.NOSE, 320.0, 96.5, 0.9375),
        keypoint(Keypoint.NECK, 321.5, 140.0, 0.8125),
        wrist,
        keypoint(Keypoint.LEFT_EAR, 330.75, 90.0, 0.5),
    ], x_min=12.5, y_min=90.0, x_max=330.75, y_max=200.25)
    second = Person(id=1, score=0.4375, keypoints=[
        keypoint(Keypoint.LEFT_HIP, 100.0, 300.0, 0.625),
        keypoint(Keypoint.LEFT_ANKLE, 98.5, 420.5, 0.25),
    ])
    return Persons(
        header=Header(stamp=Time(sec=1700000123, nanosec=456789000), frame_id='camera_optical'),
        image_width=640, image_height=480, model='mobilenet_thin', persons=[first, second])


def spin_until(executor, condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.0f s waiting for %s' % (TIMEOUT, what))
        executor.spin_once(timeout_sec=0.05)


def keypoint_fields(k):
    return (k.id, k.name, k.x, k.y, k.confidence, k.has_position,
            (k.position.x, k.position.y, k.position.z))


def test_keypoint_constants_match_parts():
    # The generated class exposes the constants as upper-case int attributes (SLOT_TYPES is a tuple).
    constants = {name.lower(): getattr(Keypoint, name) for name in dir(Keypoint)
                 if name.isupper() and not name.startswith('_')
                 and isinstance(getattr(Keypoint, name), int)}
    assert constants == PART_IDS
    assert len(constants) == NUM_PARTS


def test_defaults():
    k = Keypoint()
    assert (k.id, k.name, k.x, k.y, k.confidence, k.has_position) == (0, '', 0.0, 0.0, 0.0, False)
    assert (k.position.x, k.position.y, k.position.z) == (0.0, 0.0, 0.0)
    msg = Persons()
    assert (msg.image_width, msg.image_height, msg.model, list(msg.persons)) == (0, 0, '', [])


def test_persons_round_trip(ros_context):
    sent = sample_persons()
    received = []
    node = rclpy.create_node('test_messages', context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    try:
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)
        publisher = node.create_publisher(Persons, TOPIC, qos)
        node.create_subscription(Persons, TOPIC, received.append, qos)
        executor.add_node(node)
        spin_until(executor, lambda: publisher.get_subscription_count() > 0, 'the subscription to match')
        # Publish again until one arrives: the first may go out before discovery has completed.
        deadline = time.monotonic() + TIMEOUT
        while not received:
            assert time.monotonic() < deadline, 'no Persons message arrived within %.0f s' % TIMEOUT
            publisher.publish(sent)
            for _ in range(10):
                executor.spin_once(timeout_sec=0.05)
                if received:
                    break
    finally:
        executor.shutdown(timeout_sec=5.0)
        node.destroy_node()

    got = received[0]
    assert got is not sent
    assert got == sent  # the generated __eq__ compares every field, recursively
    assert (got.header.stamp.sec, got.header.stamp.nanosec, got.header.frame_id) == (
        1700000123, 456789000, 'camera_optical')
    assert (got.image_width, got.image_height, got.model) == (640, 480, 'mobilenet_thin')
    assert [(p.id, p.score) for p in got.persons] == [(0, 0.875), (1, 0.4375)]
    for got_person, sent_person in zip(got.persons, sent.persons):
        assert [keypoint_fields(k) for k in got_person.keypoints] == [
            keypoint_fields(k) for k in sent_person.keypoints]
    wrist = got.persons[0].keypoints[2]
    assert (wrist.id, wrist.name) == (Keypoint.RIGHT_WRIST, 'right_wrist')
    assert wrist.has_position and (wrist.position.x, wrist.position.y, wrist.position.z) == (0.5, -1.25, 3.0)
    assert not got.persons[1].keypoints[0].has_position


def test_persons_msg_filters_people_and_keypoints_by_score():
    from tf_pose_ros.people import Keypoint as ResultKeypoint
    from tf_pose_ros.people import Person as ResultPerson
    from tf_pose_ros.people import PoseResult
    from tf_pose_ros.ros.messages import persons_msg

    def person(score, keypoint_scores):
        return ResultPerson(score, tuple(ResultKeypoint(i, PART_NAMES[i], 10.0 * i, 5.0 * i, s, 0.0, 0.0)
                                         for i, s in enumerate(keypoint_scores)))

    result = PoseResult([person(0.9, [0.8, 0.2, 0.5]), person(0.3, [0.9]), person(0.6, [0.1, 0.05])],
                        (640, 480), {})
    header = Header(frame_id='cam')
    msg = persons_msg(result, header, 'mobilenet_thin', min_person_score=0.5, min_keypoint_score=0.3)
    assert msg.header.frame_id == 'cam' and (msg.image_width, msg.image_height) == (640, 480)
    # The 0.3 person is left out; ids count the published people only.
    assert [(p.id, round(p.score, 3)) for p in msg.persons] == [(0, 0.9), (1, 0.6)]
    assert [k.id for k in msg.persons[0].keypoints] == [0, 2]
    assert msg.persons[0].keypoints[1].x == 20.0 and msg.persons[0].keypoints[1].confidence == pytest.approx(0.5)
    # The box is that of the keypoints the message carries: parts 0 and 2 at (0, 0) and (20, 10).
    first = msg.persons[0]
    assert (first.x_min, first.y_min, first.x_max, first.y_max) == (0.0, 0.0, 20.0, 10.0)
    assert msg.persons[1].keypoints == []  # a kept person may lose every keypoint to the threshold
    assert (msg.persons[1].x_min, msg.persons[1].x_max) == (0.0, 0.0)
    everyone = persons_msg(result, header, 'mobilenet_thin')
    assert [len(p.keypoints) for p in everyone.persons] == [3, 1, 2]
