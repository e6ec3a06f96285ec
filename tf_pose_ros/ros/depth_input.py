"""Depth frames and the colour camera's calibration, paired with colour frames for 3D keypoints.

Subscription callbacks store depth messages (undecoded) and the newest camera_info; the inference
thread asks for the depth frame nearest its colour frame's stamp, so nothing waits on anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.people.depth import DepthError, PinholeCamera, lift_persons
from tf_pose_ros.ros.image_conversion import ImageConversionError, depth_msg_to_array
from tf_pose_ros.streams.stamp_buffer import StampBuffer

#: Depth frames kept for pairing: at 30 Hz about a third of a second, more than a colour frame waits.
DEPTH_BUFFER_FRAMES = 10


def camera_info_topic_for(image_topic: str) -> str:
    """The camera_info topic beside an image topic (image_transport's convention)."""
    head, _, _ = image_topic.rstrip('/').rpartition('/')
    return head + '/camera_info' if head or image_topic.startswith('/') else 'camera_info'


@dataclass(frozen=True)
class DepthSettings:
    """How depth is read: metres per integer unit, median window, pairing slop, valid range."""

    scale: float = 0.001
    window: int = 5
    slop_s: float = 0.02
    min_m: float = 0.1
    max_m: float = 20.0


@dataclass(frozen=True)
class Lifted:
    """3D positions for a frame's people, or why there are none; ``warning`` is worth a log line."""

    positions: Optional[List[np.ndarray]]
    problem: str = ''
    warning: str = ''


def stamp_ns(header) -> int:
    """A header's stamp in nanoseconds (any values: rclpy's Time refuses negative seconds)."""
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


class DepthInput:
    """Pairs colour frames with depth frames by stamp and lifts their keypoints into 3D."""

    def __init__(self, settings: DepthSettings = DepthSettings(), capacity: int = DEPTH_BUFFER_FRAMES):
        self.settings = settings
        self._frames = StampBuffer(capacity)
        self._camera: Optional[PinholeCamera] = None
        self._camera_frame = ''
        self._camera_problem = 'no camera_info received yet'

    def on_depth(self, msg) -> None:
        """Depth image callback: keep the message for pairing."""
        self._frames.add(stamp_ns(msg.header), msg)

    def on_camera_info(self, msg) -> None:
        """camera_info callback: keep the calibration, or why it is unusable."""
        try:
            camera = PinholeCamera.from_k(msg.k, msg.width, msg.height)
        except DepthError as err:
            self._camera, self._camera_problem = None, str(err)
            return
        self._camera, self._camera_frame, self._camera_problem = camera, msg.header.frame_id, ''

    @property
    def calibration_problem(self) -> str:
        """Why no calibration is usable ('' when the colour camera's is known)."""
        return '' if self._camera is not None else self._camera_problem

    @property
    def frame_count(self) -> int:
        """Depth frames held for pairing."""
        return len(self._frames)

    def reset(self) -> None:
        """Forget depth frames and calibration (e.g. while the node is inactive)."""
        self._frames.clear()
        self._camera, self._camera_frame, self._camera_problem = None, '', 'no camera_info received yet'

    def lift(self, header, image_size: Tuple[int, int], persons: Sequence) -> Lifted:
        """Positions of ``persons``' keypoints for the colour frame of ``header`` and ``image_size``."""
        camera, settings = self._camera, self.settings  # one snapshot: callbacks may replace them
        if camera is None:
            return Lifted(None, self._camera_problem)
        found = self._frames.closest(stamp_ns(header))
        if found is None:
            return Lifted(None, 'no depth image received yet')
        msg, offset_ns = found
        if abs(offset_ns) > settings.slop_s * 1e9:
            return Lifted(None, 'no depth image within depth_slop %.3f s of the colour image (nearest %+.3f s)'
                          % (settings.slop_s, offset_ns * 1e-9))
        warning = ''
        if msg.header.frame_id != header.frame_id:
            warning = ('depth frame_id %r differs from the colour image\'s %r: the depth image must be '
                       'registered (aligned) to the colour image' % (msg.header.frame_id, header.frame_id))
        elif self._camera_frame and self._camera_frame != header.frame_id:
            warning = ('camera_info frame_id %r differs from the colour image\'s %r: camera_info_topic must be '
                       'the colour camera\'s' % (self._camera_frame, header.frame_id))
        try:
            depth = depth_msg_to_array(msg)
            positions = lift_persons(persons, depth, camera, image_size, settings.window, settings.scale,
                                     (settings.min_m, settings.max_m))
        except (ImageConversionError, DepthError) as err:
            return Lifted(None, str(err), warning)
        return Lifted(positions, '', warning)
