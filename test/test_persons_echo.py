"""persons_echo: a real Persons publisher, the command in its own process, its printed lines checked."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from builtin_interfaces.msg import Time  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tf_pose_ros.msg import Keypoint, Person, Persons  # noqa: E402
from tf_pose_ros.ros.persons_echo import format_persons, parse_args  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOPIC = '/persons_echo_test/pose_estimator/persons'

pytestmark = pytest.mark.ros


def _persons(i):
    """Message i: stamp 100 + i s (+ i ms) and i % 3 people; person j: id 10 * i + j, score 0.25 * (j + 1),
    j + 2 keypoints."""
    people = [Person(id=10 * i + j, score=0.25 * (j + 1),
                     keypoints=[Keypoint(id=k, name='part%d' % k, x=float(k), y=float(k), confidence=0.5)
                                for k in range(j + 2)])
              for j in range(i % 3)]
    header = Header(stamp=Time(sec=100 + i, nanosec=1000000 * i), frame_id='camera')
    return Persons(header=header, image_width=640, image_height=480, model='mobilenet_thin', persons=people)


def _expected_line(i):
    people = ''.join('  [id %d score %.2f keypoints %d]' % (10 * i + j, 0.25 * (j + 1), j + 2) for j in range(i % 3))
    return 'stamp %d.%09d  frame camera  people %d%s' % (100 + i, 1000000 * i, i % 3, people)


def test_one_line_per_message():
    assert format_persons(_persons(0)) == 'stamp 100.000000000  frame camera  people 0'
    assert format_persons(_persons(2)) == ('stamp 102.002000000  frame camera  people 2  '
                                           '[id 20 score 0.25 keypoints 2]  [id 21 score 0.50 keypoints 3]')
    assert parse_args([]).topic == '/pose_estimator/persons' and parse_args([]).count == 0


def test_prints_the_published_people_and_exits_after_count(ros_context):
    node = Node('persons_echo_test_publisher', context=ros_context)
    publisher = node.create_publisher(Persons, TOPIC, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    env = dict(os.environ, PYTHONPATH=str(REPO))  # ROS_DOMAIN_ID: the test run's (conftest)
    process = subprocess.Popen([sys.executable, '-m', 'tf_pose_ros.ros.persons_echo', TOPIC, '--count', '4'],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while publisher.get_subscription_count() == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # Keep publishing until the command has had its 4 messages and exited by itself.
        i = 0
        while process.poll() is None and time.monotonic() < deadline:
            publisher.publish(_persons(i))
            i += 1
            time.sleep(0.05)
        output, errors = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        node.destroy_node()
    assert process.returncode == 0, errors
    assert 'Traceback' not in errors
    lines = output.splitlines()
    assert len(lines) == 4, output
    stamps = []
    for line in lines:
        match = re.match(r'stamp (\d+)\.(\d{9})  ', line)
        assert match, line
        sent = int(match.group(1)) - 100  # which message this line is: its stamp says
        assert line == _expected_line(sent)
        stamps.append(sent)
    assert stamps == sorted(stamps) and len(set(stamps)) == 4  # in order, none twice


def test_help_names_the_options():
    done = subprocess.run([sys.executable, '-m', 'tf_pose_ros.ros.persons_echo', '--help'], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0 and done.stdout.startswith('usage: persons_echo')
    assert '--count N' in done.stdout and '/pose_estimator/persons' in done.stdout
