"""The ``persons_echo`` command: print the people of a tf_pose_ros/Persons topic, one line a message.

This repository's environment has no ros2cli, so no ``ros2 topic echo``; this shows what the pose node
publishes::

    persons_echo                                   # /pose_estimator/persons until Ctrl-C
    persons_echo /robot1/pose_estimator/persons --count 5
    python -m tf_pose_ros.ros.persons_echo --count 1

Each line: the header's stamp (seconds) and frame_id, the number of people, then per person its id (a
track id while the node's ``tracking`` is on, else its index in the message), its score and how many
keypoints it has::

    stamp 1764201600.250000000  frame camera  people 2  [id 3 score 0.84 keypoints 17] [id 5 score 0.61 keypoints 9]
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from tf_pose_ros.ros.spinning import run

DEFAULT_TOPIC = '/pose_estimator/persons'


def format_persons(msg) -> str:
    """One line for a Persons message: stamp, frame, number of people, then id, score and keypoints of each."""
    stamp = msg.header.stamp
    line = 'stamp %d.%09d  frame %s  people %d' % (stamp.sec, stamp.nanosec, msg.header.frame_id or '-',
                                                   len(msg.persons))
    people = ['[id %d score %.2f keypoints %d]' % (person.id, person.score, len(person.keypoints))
              for person in msg.persons]
    return '  '.join([line] + people) if people else line


class PersonsEcho(Node):
    """Subscribes to a Persons topic and prints each message; ``done`` once ``count`` were printed."""

    def __init__(self, topic: str = DEFAULT_TOPIC, count: int = 0, **kwargs):
        super().__init__('persons_echo', **kwargs)
        from tf_pose_ros.msg import Persons

        self.count = count
        self.printed = 0
        # Reliable, as the pose node publishes; keep 10 so a burst is not lost while a line prints.
        self.subscription = self.create_subscription(
            Persons, topic, self._on_persons, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        self.get_logger().info('listening on %s%s' % (
            self.subscription.topic_name, ' for %d message(s)' % count if count else ''))

    @property
    def done(self) -> bool:
        return bool(self.count) and self.printed >= self.count

    def _on_persons(self, msg) -> None:
        if self.done:
            return
        print(format_persons(msg), flush=True)
        self.printed += 1


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='persons_echo',
        description='Print one line per tf_pose_ros/Persons message: stamp, frame, number of people, and per '
                    'person its id, score and keypoint count.',
        epilog='ROS arguments go after --ros-args, e.g. --ros-args -r __ns:=/robot1.')
    parser.add_argument('topic', nargs='?', default=DEFAULT_TOPIC,
                        help='Persons topic (default: %(default)s)')
    parser.add_argument('--count', type=int, default=0, metavar='N',
                        help='exit after N messages (default: 0, run until Ctrl-C)')
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error('--count must be 0 or more')
    return args


def main(args: Optional[List[str]] = None) -> int:
    """Entry point of ``persons_echo``; exits 0 after ``--count`` messages or on Ctrl-C."""
    from rclpy.utilities import remove_ros_args

    argv = sys.argv if args is None else args
    options = parse_args(remove_ros_args(argv)[1:])  # exits with the usage on --help or a bad flag
    return run('persons_echo', lambda: PersonsEcho(options.topic, options.count), argv,
               finished=lambda node: node.done)


if __name__ == '__main__':
    sys.exit(main())
