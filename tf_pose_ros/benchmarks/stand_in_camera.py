"""A stand-in for a third-party camera driver: plain rclpy, Fast DDS at its defaults, the driver's QoS.

Unlike ``image_source`` (which uses the package's Fast DDS profile), this process touches no DDS
setting unless ``--fastdds-profile`` is given, so it behaves like usb_cam, v4l2_camera or a
RealSense driver started as a user would: ``reliable`` is rclpy's default (reliable, keep last 10;
image_transport publishers), ``sensor_data`` is rclpy's sensor-data profile (best effort, keep
last 5). It publishes ``--count`` bgr8 frames of ``--size`` at ``--rate`` Hz, each a photo of three
people moving a little, then prints one JSON line with what it published and exits::

    python -m tf_pose_ros.benchmarks.stand_in_camera --qos sensor_data --size 1280x720 --rate 15 --count 150
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import List, Optional

import numpy as np

from tf_pose_ros.ros.fastdds_profile import PROFILE_ENV, profile_path

#: --qos value -> how the driver publishes.
DRIVER_QOS = ('reliable', 'sensor_data')


def driver_frames(width: int, height: int, count: int = 8) -> List[np.ndarray]:
    """``count`` BGR frames of ``width`` x ``height``: the warm-up photo of three people, shifted a little each."""
    import cv2

    from tf_pose_ros.runtime.warmup import warmup_image

    photo = warmup_image()
    scale = min(width / photo.shape[1], height / photo.shape[0])
    photo = cv2.resize(photo, (max(1, int(photo.shape[1] * scale)), max(1, int(photo.shape[0] * scale))))
    frames = []
    for i in range(count):
        frame = np.full((height, width, 3), 60, np.uint8)
        x = min(width - photo.shape[1], i * 4)
        y = (height - photo.shape[0]) // 2
        frame[y:y + photo.shape[0], x:x + photo.shape[1]] = photo
        frames.append(frame)
    return frames


def driver_qos(name: str):
    """The QoS profile a driver of kind ``name`` publishes with."""
    from rclpy.qos import QoSProfile, qos_profile_sensor_data

    if name == 'sensor_data':
        return qos_profile_sensor_data
    if name == 'reliable':
        return QoSProfile(depth=10)  # rclpy's default: reliable, keep last 10, volatile
    raise ValueError('driver QoS must be one of %s, got %r' % (', '.join(DRIVER_QOS), name))


def driver_message(node, frame: np.ndarray):
    """``frame`` as the bgr8 Image a camera driver publishes now: frame_id 'camera', stamped by ``node``'s clock."""
    from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg

    msg = bgr8_to_image_msg(frame)
    msg.header.frame_id = 'camera'
    msg.header.stamp = node.get_clock().now().to_msg()
    return msg


def driver_command(topic: str, qos: str, size: str, rate: float, count: int, profile: bool = False,
                   wait_subscriber: Optional[float] = None, report_every: float = 0.0) -> List[str]:
    """The command line that runs this driver as a process of its own."""
    command = [sys.executable, '-m', 'tf_pose_ros.benchmarks.stand_in_camera', '--topic', topic, '--qos', qos,
               '--size', size, '--rate', str(rate), '--count', str(count)]
    if wait_subscriber is not None:
        command += ['--wait-subscriber', str(wait_subscriber)]
    if report_every > 0:
        command += ['--report-every', str(report_every)]
    return command + (['--fastdds-profile'] if profile else [])


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: publish the frames, print a JSON summary, exit."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--topic', default='/image_raw')
    parser.add_argument('--qos', default='reliable', choices=DRIVER_QOS)
    parser.add_argument('--size', default='640x480', help='WIDTHxHEIGHT (default: %(default)s)')
    parser.add_argument('--rate', type=float, default=15.0, help='frames per second (default: %(default)s)')
    parser.add_argument('--count', type=int, default=150, help='frames to publish (default: %(default)s)')
    parser.add_argument('--wait-subscriber', type=float, default=20.0,
                        help='seconds to wait for a subscriber before publishing (default: %(default)s)')
    parser.add_argument('--report-every', type=float, default=0.0,
                        help='print a JSON line with the frames published so far every this many seconds (0: never)')
    parser.add_argument('--fastdds-profile', action='store_true',
                        help="start with the package's config/fastdds_large_frames.xml, as docs/cameras.md advises")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split('x'))
    if args.fastdds_profile:
        path = profile_path()
        if path is None:
            parser.error('config/fastdds_large_frames.xml not found')
        os.environ[PROFILE_ENV] = str(path)

    import rclpy
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import Image

    frames = driver_frames(width, height)
    # Python's own handlers end the run: rclpy's signal thread races the clean-up (see ros/spinning.py).
    rclpy.init(args=[], signal_handler_options=SignalHandlerOptions.NO)
    node = Node('stand_in_camera')
    publisher = node.create_publisher(Image, args.topic, driver_qos(args.qos))
    deadline = time.monotonic() + args.wait_subscriber
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    subscribed = publisher.get_subscription_count() > 0
    time.sleep(0.5)  # let discovery finish on the subscriber's side as well
    started = time.monotonic()
    published = 0
    next_report = started + args.report_every
    # SIGTERM ends the run as Ctrl-C does: the summary line is printed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for i in range(args.count):
            due = started + i / args.rate
            while time.monotonic() < due:
                time.sleep(min(0.005, max(0.0, due - time.monotonic())))
            publisher.publish(driver_message(node, frames[i % len(frames)]))
            published += 1
            if args.report_every > 0 and time.monotonic() >= next_report:
                next_report += args.report_every
                print(json.dumps({'published': published, 'seconds': round(time.monotonic() - started, 3)}),
                      flush=True)
        time.sleep(1.0)  # a reliable writer repairs what the reader still lacks
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(json.dumps({'published': published, 'subscribed': subscribed, 'qos': args.qos, 'size': args.size,
                      'rate': args.rate, 'fastdds_profile': bool(args.fastdds_profile),
                      'frame_bytes': width * height * 3}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
