"""What tracking, 3D keypoints and RViz markers add to a frame, with six people in view.

Six people are found once by the real network on a photo; then, frame after frame, they walk (their
keypoints move a few pixels) while the same per-frame work as the pose node is timed: the plain
Persons message (what every frame costs anyway) against tracking + depth pairing and lifting (a
real 16UC1 depth message) + the message with ids and positions + the MarkerArray. The two are
interleaved frame by frame; medians and 90th percentiles are printed (target: at most 1 ms extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import Dict, List

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.people import PoseResult
from tf_pose_ros.people.tracking import PoseTracker
from tf_pose_ros.ros.depth_input import DepthInput
from tf_pose_ros.ros.image_conversion import depth_array_to_msg
from tf_pose_ros.ros.markers import skeleton_markers
from tf_pose_ros.ros.messages import persons_msg
from tf_pose_ros.samples import six_people_bgr
from tf_pose_ros.streams.stats import nearest_rank

PEOPLE = 6


def _walked(result: PoseResult, frame: int) -> PoseResult:
    """The result with everyone moved on by ``frame`` steps: alternate people pace left and right."""
    persons = []
    stride = abs(frame % 40 - 20) - 10  # 2 px a frame, back and forth within 20 px of the start
    for index, person in enumerate(result.persons):
        dx = (2.0 if index % 2 else -2.0) * stride
        persons.append(dataclasses.replace(person, keypoints=tuple(
            dataclasses.replace(k, x=k.x + dx) for k in person.keypoints)))
    return PoseResult(persons, result.image_size)


def _depth_msg(header: Header, width: int, height: int) -> Image:
    millimetres = np.repeat(1500 + 3 * np.arange(height)[:, None], width, axis=1)  # a floor-like ramp
    return depth_array_to_msg(millimetres, '16UC1', header)


def _camera_info(header: Header, width: int, height: int) -> CameraInfo:
    info = CameraInfo(header=header, width=width, height=height)
    info.k = [500.0, 0.0, (width - 1) / 2, 0.0, 500.0, (height - 1) / 2, 0.0, 0.0, 1.0]
    return info


def measure(frames: int, model: str = 'mobilenet_thin') -> Dict[str, List[float]]:
    """Milliseconds per frame of each step, over ``frames`` frames (see the module docstring)."""
    # On the two rows of three the squeezed input finds exactly the six (the aspect-true one also a small
    # figure in the background); what is timed here comes after the network, so either input serves.
    estimator = PoseEstimator(model, device='cpu', keep_aspect=False)
    found = estimator.infer(six_people_bgr())
    estimator.close()
    if len(found.persons) != PEOPLE:
        raise RuntimeError('expected %d people on the photo, the network found %d' % (PEOPLE, len(found.persons)))
    width, height = found.image_size
    tracker, depth = PoseTracker(), DepthInput()
    times: Dict[str, List[float]] = {name: [] for name in ('plain', 'tracking', '3d', 'message', 'markers', 'extra')}
    for frame in range(frames):
        result = _walked(found, frame)
        header = Header(frame_id='camera_color_optical_frame')
        header.stamp.sec, header.stamp.nanosec = 1000 + frame // 30, (frame % 30) * 33_000_000
        depth.on_camera_info(_camera_info(header, width, height))
        depth.on_depth(_depth_msg(header, width, height))
        start = time.perf_counter()
        persons_msg(result, header, model)
        plain = time.perf_counter()
        ids = tracker.update(result.persons)
        tracked = time.perf_counter()
        lifted = depth.lift(header, result.image_size, result.persons)
        lifted_at = time.perf_counter()
        msg = persons_msg(result, header, model, ids=ids, positions=lifted.positions)
        built = time.perf_counter()
        markers = skeleton_markers(msg)
        done = time.perf_counter()
        if lifted.positions is None or len(markers.markers) != 1 + 3 * PEOPLE:
            raise RuntimeError('frame %d: no 3D (%s) or %d markers' % (frame, lifted.problem, len(markers.markers)))
        for name, seconds in (('plain', plain - start), ('tracking', tracked - plain), ('3d', lifted_at - tracked),
                              ('message', built - lifted_at), ('markers', done - built)):
            times[name].append(seconds * 1e3)
        times['extra'].append((done - plain - (plain - start)) * 1e3)
    return times


def main(argv=None) -> int:
    """Entry point: ``python -m tf_pose_ros.benchmarks.perception_bench [--frames N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=300, help='frames to time (default 300)')
    args = parser.parse_args(argv)
    times = measure(args.frames)
    # The first frames pay for imports and first calls; they are not the steady state.
    steady = {name: values[min(10, len(values) // 2):] for name, values in times.items()}
    print('%d people, %d frames (first %d left out), ms per frame:' % (PEOPLE, args.frames,
                                                                    args.frames - len(steady['plain'])))
    print('%-44s %8s %8s' % ('step', 'median', 'p90'))
    labels = (('plain', 'Persons message (every frame, baseline)'), ('tracking', 'tracking (PoseTracker.update)'),
              ('3d', '3D: pair depth, decode, median, project'), ('message', 'message with ids and positions'),
              ('markers', 'MarkerArray'),
              ('extra', 'extra: all of the above minus the baseline'))
    for name, label in labels:
        print('%-44s %8.3f %8.3f' % (label, statistics.median(steady[name]), nearest_rank(sorted(steady[name]), 0.9)))
    extra = statistics.median(steady['extra'])
    print('tracking + 3D + markers: %.3f ms extra per frame (target <= 1 ms): %s'
          % (extra, 'met' if extra <= 1.0 else 'NOT met'))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
