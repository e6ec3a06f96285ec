"""The main job without a camera or ros2cli: image source -> pose_estimator -> printed people.

Runs three nodes in one process (as a component container would): the image source playing a
built-in clip, the pose estimator, and a listener that prints the persons of each frame and writes
the annotated frames it receives.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.image_conversion import image_msg_to_bgr8
from tf_pose_ros.ros.image_source_node import ImageSource
from tf_pose_ros.ros.pose_estimator_node import PoseEstimatorNode
from tf_pose_ros.ros.spinning import SPIN_PERIOD_S, StopSignals, init_rclpy, quiet_interrupted_finalizers
from tf_pose_ros.runtime.allocator import keep_freed_memory
from tf_pose_ros.streams.stats import DROPPED, INVALID, RECEIVED


class PoseListener(Node):
    """Prints every Persons message and saves annotated frames."""

    def __init__(self, out_dir: Path):
        super().__init__('pose_listener')
        self.out_dir = out_dir
        self.frames = 0
        self.images = 0
        self.last_message = time.monotonic()
        self.create_subscription(Persons, '/pose_estimator/persons', self._on_persons, 10)
        self.create_subscription(Image, '/pose_estimator/image_annotated', self._on_image, 10)

    def _on_persons(self, msg: Persons) -> None:
        self.frames += 1
        self.last_message = time.monotonic()
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        print('frame %3d  stamp %.3f  %dx%d  %d person(s)' % (self.frames, stamp, msg.image_width,
                                                               msg.image_height, len(msg.persons)))
        for person in msg.persons:
            parts = ', '.join('%s (%.0f, %.0f)' % (k.name, k.x, k.y) for k in person.keypoints[:4])
            print('    person %d  score %.2f  %d keypoints: %s%s' % (
                person.id, person.score, len(person.keypoints), parts, ', ...' if len(person.keypoints) > 4 else ''))

    def _on_image(self, msg: Image) -> None:
        self.images += 1
        cv2.imwrite(str(self.out_dir / ('frame_%04d.jpg' % self.images)), image_msg_to_bgr8(msg))


def main(argv=None) -> int:
    """Entry point of ``tf_pose_demo`` and ``make demo``."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=20, help='frames the source publishes (default: %(default)s)')
    parser.add_argument('--rate', type=float, default=5.0, help='source rate in Hz (default: %(default)s)')
    parser.add_argument('--source', default='demo', help="'demo', 'group', or a video/image path")
    parser.add_argument('--model', default='mobilenet_thin')
    parser.add_argument('--resolution', default='432x368')
    parser.add_argument('--out-dir', default='out/demo', help='annotated frames go here (default: %(default)s)')
    parser.add_argument('--timeout', type=float, default=120.0, help='give up after this many seconds')
    args = parser.parse_args(argv)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob('frame_*.jpg'):  # a shorter run must not leave the last run's frames behind
        stale.unlink()
    source = estimator = listener = None
    stop = StopSignals().install()  # Ctrl-C or SIGTERM, while the model loads as well
    quiet_interrupted_finalizers()
    try:
        init_rclpy()
        keep_freed_memory()  # as the pose_estimator executable does
        source = ImageSource(parameter_overrides=[
            Parameter('source', value=args.source), Parameter('rate', value=float(args.rate)),
            Parameter('count', value=args.frames), Parameter('loop', value=True)])
        estimator = PoseEstimatorNode(parameter_overrides=[
            Parameter('model', value=args.model), Parameter('resolution', value=args.resolution),
            Parameter('image_topic', value='image_raw')])  # the node's defaults: QoS follows the source
        listener = PoseListener(out_dir)
        stop.started()
        _spin_until_quiet((source, estimator, listener), listener, args.timeout, stop)
    except BaseException:
        if not stop.requested:  # a stop while starting interrupts it: the KeyboardInterrupt or what it caused
            raise
    finally:
        figures = estimator.cameras[0].stats.snapshot() if estimator is not None else {}
        for node in (source, estimator, listener):
            if node is not None:
                node.destroy_node()
        rclpy.try_shutdown()
    frames, images = (listener.frames, listener.images) if listener is not None else (0, 0)
    print('\nreceived %d frames, %d Persons messages, %d annotated frames in %s; dropped %d, invalid %d; '
          'pipeline %.1f ms' % (figures.get(RECEIVED, 0), frames, images, args.out_dir, figures.get(DROPPED, 0),
                                figures.get(INVALID, 0), figures.get('pipeline_ms_mean', float('nan'))))
    return 0 if frames or stop.requested else 1


def _spin_until_quiet(nodes, listener: PoseListener, timeout: float, stop: StopSignals) -> None:
    """Spin ``nodes`` until the source has sent its frames and the estimator has gone quiet, ``timeout``, or a
    stop request."""
    executor = SingleThreadedExecutor()  # as each executable spins its node
    try:
        for node in nodes:
            executor.add_node(node)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.requested:
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
            if listener.frames and time.monotonic() - listener.last_message > 3.0:
                break
    finally:
        executor.shutdown()


if __name__ == '__main__':
    sys.exit(main())
