"""REP-155 (ROS4HRI) body output: /humans/bodies/tracked and per body skeleton2d, roi and cropped.

HRI stacks (libhri, pyhri, hri_rviz, hri_face_body_matcher) take bodies from these topics. Each track
of the pose tracker is one body with a short random id; its publishers are created when the track
starts and destroyed when the tracker loses it, as libhri expects (it follows /humans/bodies/tracked
and subscribes to each listed body's topics). QoS is reliable, what libhri subscribes with.

Skeleton2D numbers its points by name with the eyes and ears left before right (LEFT_EYE = 14),
the reverse of OpenPose's COCO-18 part ids used in tf_pose_ros messages (right_eye = 14): parts are
mapped by name, never by id.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy

from tf_pose_ros.parts import PART_NAMES
from tf_pose_ros.people import Person, PoseResult
from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg

#: Where REP-155 puts bodies.
BODIES = '/humans/bodies'
#: Reliable keep-last 10: what libhri's subscriptions request.
QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
#: Body id length: random lowercase letters, as ROS4HRI detectors use.
ID_LENGTH = 5
#: Margin added around the keypoints' box on each side, as a fraction of its size (keypoints are
#: joints: the body reaches past them).
ROI_MARGIN = 0.1


def hri_msgs_available() -> bool:
    """Whether the hri_msgs messages import (the released package, or this repository's build of them)."""
    try:
        import hri_msgs.msg  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)  # built once, not per person and frame
def skeleton_index() -> Dict[int, int]:
    """OpenPose COCO-18 part id -> index in Skeleton2D.skeleton, matched by the parts' names."""
    from hri_msgs.msg import Skeleton2D

    return {part_id: int(getattr(Skeleton2D, name.upper())) for part_id, name in enumerate(PART_NAMES)}


def _unit(value: float) -> float:
    """``value`` clipped to 0..1 (plain floats: numpy's clip costs microseconds per scalar)."""
    return min(max(float(value), 0.0), 1.0)


def skeleton_msg(person: Person, image_size: Tuple[int, int], header):
    """A Skeleton2D of ``person``: 18 points normalized to the image, c the score, all 0 where missing."""
    from hri_msgs.msg import NormalizedPointOfInterest2D, Skeleton2D

    index = skeleton_index()
    width, height = image_size
    points = [NormalizedPointOfInterest2D() for _ in range(len(PART_NAMES))]
    for keypoint in person.keypoints:
        point = points[index[keypoint.id]]
        point.x = _unit(keypoint.x / width)
        point.y = _unit(keypoint.y / height)
        point.c = _unit(keypoint.score)
    return Skeleton2D(header=header, skeleton=points)


def body_box(person: Person, image_size: Tuple[int, int]) -> Tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) normalized: the keypoints' box with ROI_MARGIN, inside the image."""
    width, height = image_size
    xs = np.array([k.x for k in person.keypoints]) / width
    ys = np.array([k.y for k in person.keypoints]) / height
    margin_x = max(xs.max() - xs.min(), 0.02) * ROI_MARGIN
    margin_y = max(ys.max() - ys.min(), 0.02) * ROI_MARGIN
    return (float(max(0.0, xs.min() - margin_x)), float(max(0.0, ys.min() - margin_y)),
            float(min(1.0, xs.max() + margin_x)), float(min(1.0, ys.max() + margin_y)))


def roi_msg(person: Person, image_size: Tuple[int, int], header):
    """A NormalizedRegionOfInterest2D around ``person``; c the mean keypoint score."""
    from hri_msgs.msg import NormalizedRegionOfInterest2D

    xmin, ymin, xmax, ymax = body_box(person, image_size)
    score = _unit(sum(k.score for k in person.keypoints) / len(person.keypoints))
    return NormalizedRegionOfInterest2D(header=header, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax, c=score)


def cropped(image: np.ndarray, person: Person) -> np.ndarray:
    """The part of the BGR ``image`` inside the person's region (at least 1x1 pixel)."""
    height, width = image.shape[:2]
    xmin, ymin, xmax, ymax = body_box(person, (width, height))
    left, top = min(int(xmin * width), width - 1), min(int(ymin * height), height - 1)
    right, bottom = max(int(np.ceil(xmax * width)), left + 1), max(int(np.ceil(ymax * height)), top + 1)
    return np.ascontiguousarray(image[top:bottom, left:right])


@dataclass
class _Body:
    id: str
    skeleton: object
    roi: object
    cropped: object


class HriOutput:
    """The REP-155 body topics of one node; ``publish`` once per processed frame.

    Without hri_msgs it says so once (``available`` False) and publishing does nothing.
    """

    def __init__(self, node, prefix: str = BODIES):
        self._node = node
        self._prefix = prefix.rstrip('/')
        self._bodies: Dict[Tuple[str, int], _Body] = {}  # by (camera, track)
        self._used: set = set()
        self._random = random.Random()
        self.available = hri_msgs_available()
        self._tracked_pub = None
        if not self.available:
            node.get_logger().warning(
                'hri_output is true but hri_msgs is not importable: no /humans/bodies output (install '
                'ros-$ROS_DISTRO-hri-msgs, or in a virtual environment run scripts/build_hri_msgs.sh VENV)')
            return
        from hri_msgs.msg import IdsList

        self._tracked_pub = node.create_publisher(IdsList, self._prefix + '/tracked', QOS)

    def body_ids(self, camera: str = '') -> Dict[int, str]:
        """Track id -> body id of ``camera``'s bodies published now."""
        return {track: body.id for (scope, track), body in self._bodies.items() if scope == camera}

    def _new_id(self) -> str:
        while True:
            body_id = ''.join(self._random.choices(string.ascii_lowercase, k=ID_LENGTH))
            if body_id not in self._used:
                self._used.add(body_id)
                return body_id

    def _start(self, key: Tuple[str, int]) -> _Body:
        from hri_msgs.msg import NormalizedRegionOfInterest2D, Skeleton2D
        from sensor_msgs.msg import Image

        body_id = self._new_id()
        base = '%s/%s/' % (self._prefix, body_id)
        body = _Body(body_id, self._node.create_publisher(Skeleton2D, base + 'skeleton2d', QOS),
                     self._node.create_publisher(NormalizedRegionOfInterest2D, base + 'roi', QOS),
                     self._node.create_publisher(Image, base + 'cropped', QOS))
        self._bodies[key] = body
        return body

    def _end(self, key: Tuple[str, int]) -> None:
        body = self._bodies.pop(key)
        for publisher in (body.skeleton, body.roi, body.cropped):
            self._node.destroy_publisher(publisher)

    def publish(self, header, result: PoseResult, track_ids: Sequence[int], image: Optional[np.ndarray],
                active_tracks: Optional[Sequence[int]] = None, camera: str = '') -> List[str]:
        """Publish the bodies of one frame of ``camera``; the ids listed on /tracked (every camera's).

        ``track_ids``: each person's track (in ``result.persons`` order). ``active_tracks``: the
        tracks alive now (the tracker's ``active_ids``; default ``track_ids``): a body lives while its
        track does, so a person missed for a frame or two keeps their body. ``image``: the BGR frame
        for ``cropped``, published while someone subscribes (None: no cropped image). Track ids are
        per camera: with several cameras each names its own (its tracker's ids), and a frame ends only
        that camera's lost bodies.
        """
        if not self.available:
            return []
        alive = set(track_ids if active_tracks is None else active_tracks) | set(track_ids)
        for key in [k for k in self._bodies if k[0] == camera and k[1] not in alive]:
            self._end(key)
        for person, track in zip(result.persons, track_ids):
            if not person.keypoints:
                continue
            body = self._bodies.get((camera, track)) or self._start((camera, track))
            body.skeleton.publish(skeleton_msg(person, result.image_size, header))
            body.roi.publish(roi_msg(person, result.image_size, header))
            if image is not None and body.cropped.get_subscription_count() > 0:  # a copy of pixels: only when read
                body.cropped.publish(bgr8_to_image_msg(cropped(image, person), header))
        from hri_msgs.msg import IdsList

        ids = [self._bodies[key].id for key in sorted(self._bodies)]
        self._tracked_pub.publish(IdsList(header=header, ids=ids))
        return ids

    def destroy(self) -> None:
        """Destroy every publisher (the node stops, or hri_output was switched off)."""
        for key in list(self._bodies):
            self._end(key)
        if self._tracked_pub is not None:
            self._node.destroy_publisher(self._tracked_pub)
            self._tracked_pub = None
