"""How soon a freshly started ``pose_estimator`` gives poses: seconds to the first Persons with people.

A camera stand-in (this process, rclpy at Fast DDS defaults, reliable like usb_cam) publishes a photo
of three people at ``--rate`` Hz; then the installed ``pose_estimator`` executable starts with its
defaults. Printed: seconds from starting the executable to the first Persons with people, and the
first result's stamp-to-receipt latency against the median of the next ``--frames`` (target: at most
5 s and 3x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: ``python -m tf_pose_ros.benchmarks.startup_bench`` (``make bench-startup``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rate', type=float, default=15.0, help='camera rate in Hz (default: %(default)s)')
    parser.add_argument('--size', default='640x480', help='camera frame size (default: %(default)s)')
    parser.add_argument('--frames', type=int, default=20, help='results compared with the first (default: 20)')
    parser.add_argument('--timeout', type=float, default=120.0, help='give up after this many seconds')
    parser.add_argument('--json', action='store_true', help='print JSON')
    parser.add_argument('node_args', nargs='*', help='extra `-p name:=value` for the node, after --')
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split('x'))

    import rclpy
    from rclpy.node import Node
    from rclpy.qos import QoSProfile
    from sensor_msgs.msg import Image

    from tf_pose_ros.benchmarks.stand_in_camera import driver_frames, driver_message
    from tf_pose_ros.msg import Persons

    domain = int(os.environ.get('ROS_DOMAIN_ID', 80 + os.getpid() % 10))
    rclpy.init(args=[], domain_id=domain)
    node = Node('startup_bench')
    frames = driver_frames(width, height)
    camera = node.create_publisher(Image, '/image_raw', QoSProfile(depth=10))
    results = []  # (receipt monotonic, latency s, people)

    def on_persons(msg) -> None:
        latency = (node.get_clock().now().nanoseconds - rclpy.time.Time.from_msg(msg.header.stamp).nanoseconds) * 1e-9
        results.append((time.monotonic(), latency, len(msg.persons)))

    node.create_subscription(Persons, '/pose_estimator/persons', on_persons, 10)
    sent = [0]

    def publish() -> None:
        camera.publish(driver_message(node, frames[sent[0] % len(frames)]))
        sent[0] += 1

    node.create_timer(1.0 / args.rate, publish)
    node_args = [a for pair in args.node_args for a in ('-p', pair)]
    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    started = time.monotonic()
    proc = subprocess.Popen([exe, '--ros-args'] + node_args, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    first_people = None
    try:
        deadline = started + args.timeout
        while time.monotonic() < deadline and proc.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.01)
            with_people = [r for r in results if r[2] > 0]
            if with_people and first_people is None:
                first_people = with_people[0][0] - started
            if len(results) > args.frames:
                break
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=30)
        node.destroy_node()
        rclpy.try_shutdown()
    if first_people is None or len(results) <= args.frames:
        print('the node gave %d results in %.0f s; its log:\n%s' % (len(results), args.timeout, log), file=sys.stderr)
        return 1
    following = statistics.median(r[1] for r in results[1:args.frames + 1])
    row = {'seconds_to_first_poses': first_people, 'first_latency_ms': results[0][1] * 1e3,
           'following_latency_ms_median': following * 1e3, 'first_over_following': results[0][1] / following,
           'camera': '%s at %g Hz' % (args.size, args.rate),
           'node_log': [line for line in log.splitlines() if 'loaded' in line or 'cached' in line
                        or 'subscribed' in line or 'convert' in line or 'first frame' in line]}
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        print('first Persons with people %.2f s after starting pose_estimator (target <= 5 s)'
              % row['seconds_to_first_poses'])
        print('first result latency %.0f ms, next %d median %.0f ms: %.2f x (target <= 3)' % (
            row['first_latency_ms'], args.frames, row['following_latency_ms_median'], row['first_over_following']))
        for line in row['node_log']:
            print('  node: %s' % line.strip())
    return 0


if __name__ == '__main__':
    sys.exit(main())
