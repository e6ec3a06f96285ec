"""One camera of the pose node: its topics, names, counters, tracker and depth pairing.

The node runs one network for all its cameras; everything that belongs to one camera's stream
lives here, so cameras never share a tracker, a depth buffer, counters or warnings.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence, Set

from tf_pose_ros.people.tracking import PoseTracker
from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for
from tf_pose_ros.ros.input_health import NO_PUBLISHER_WARN_S, InputFacts, input_warnings
from tf_pose_ros.streams.frame_slot import LatestFrameSlot
from tf_pose_ros.streams.sequence_gaps import SequenceGaps
from tf_pose_ros.streams.stats import DROPPED, INCOMPATIBLE_QOS, LOST, RECEIVED, WITHOUT_DEPTH, PipelineStats

#: A camera name is one ROS name token: it becomes part of the output topics ~/<name>/persons.
_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
#: Last topic parts that say nothing about the camera ('/front/image_raw' is camera 'front').
_GENERIC = frozenset(('image_raw', 'image', 'image_rect', 'image_rect_color', 'image_color', 'image_mono'))


@dataclass(frozen=True)
class CameraSpec:
    """A camera as configured: its name ('' for the single camera of image_topic) and input topics."""

    name: str
    image_topic: str
    depth_topic: str = ''
    camera_info_topic: str = ''


def camera_name_for(topic: str) -> str:
    """The name a camera gets from its image topic: its parts joined by '_', generic last part dropped.

    '/front/image_raw' -> 'front', '/camera/color/image_raw' -> 'camera_color', 'left_rgb' -> 'left_rgb'.
    """
    parts = [p for p in topic.strip().strip('~').split('/') if p]
    if len(parts) > 1 and parts[-1] in _GENERIC:
        parts = parts[:-1]
    return '_'.join(parts)


def name_error(name: str) -> str:
    """Why ``name`` cannot name a camera ('' when it can)."""
    if not _NAME.match(name) or '__' in name or name.endswith('_'):
        return ('camera name %r is not a ROS name token (a letter, then letters, digits and single '
                "underscores): name it with 'name=topic'" % name)
    return ''


def parse_cameras(image_topics: Sequence[str], depth_topics: Sequence[str]) -> List[CameraSpec]:
    """The cameras of ``image_topics`` ('topic' or 'name=topic') with ``depth_topics`` aligned to them.

    ValueError with the reason for an empty topic, a bad or repeated name, a repeated topic, or
    depth_topics of another length than image_topics (they may also be empty: no depth anywhere).
    """
    if depth_topics and len(depth_topics) != len(image_topics):
        raise ValueError('depth_topics has %d entries for %d image_topics: give one per camera (\'\' for none) or '
                         'none at all' % (len(depth_topics), len(image_topics)))
    cameras: List[CameraSpec] = []
    for i, entry in enumerate(image_topics):
        name, _, topic = entry.rpartition('=')
        name, topic = name.strip(), topic.strip()
        if not topic:
            raise ValueError('image_topics entry %r has no topic' % entry)
        name = name or camera_name_for(topic)
        reason = name_error(name)
        if reason:
            raise ValueError('image_topics entry %r: %s' % (entry, reason))
        for other in cameras:
            if other.name == name:
                raise ValueError("image_topics: two cameras named %r (%r and %r); name them with 'name=topic'"
                                 % (name, other.image_topic, topic))
            if other.image_topic == topic:
                raise ValueError('image_topics: topic %r given twice' % topic)
        depth = depth_topics[i].strip() if depth_topics else ''
        cameras.append(CameraSpec(name, topic, depth, camera_info_topic_for(topic) if depth else ''))
    return cameras


class CameraInput:
    """The state of one camera's stream; the node wires its subscriptions and publishers to it."""

    def __init__(self, spec: CameraSpec, track_max_age: int, depth: Optional[DepthSettings]):
        self.spec = spec
        self.name = spec.name
        self.stats = PipelineStats()
        self.slot = LatestFrameSlot()
        self.gaps = SequenceGaps()
        self.tracker = PoseTracker(max_age=track_max_age)
        self.reset_tracker = False  # set by a parameter change, applied by the inference thread
        self.depth: Optional[DepthInput] = DepthInput(depth) if depth is not None else None
        self.image_input = None  # its AdaptiveSubscription while subscribed
        self.inputs: list = []  # every AdaptiveSubscription of the camera (image, depth, camera_info)
        self.persons_pub = self.annotated_pub = self.markers_pub = None
        self.last_problems = 0
        # What /diagnostics needs to name why frames do not arrive (input_health.py).
        self.frame_bytes = 0  # of the latest frame
        self.last_frame_at: Optional[float] = None  # monotonic arrival time of the latest frame
        self.invalid_reason = self.incompatible_reason = self.depth_problem = ''
        self.lost_reported = self.depth_missing_reported = 0
        self.logged_causes: Set[str] = set()

    def output(self, topic: str) -> str:
        """The node-relative name of an output topic: ~/persons, or ~/<name>/persons with several cameras."""
        return '~/%s' % topic if not self.name else '~/%s/%s' % (self.name, topic)

    def on_image(self, msg, info) -> None:
        """Image callback: count it (and the frames lost before it), put it in the slot."""
        missed = self.gaps.missed(info)
        if missed:
            self.stats.count(LOST, missed)
        self.stats.count(RECEIVED)
        self.frame_bytes = len(msg.data)
        self.last_frame_at = time.monotonic()
        if self.slot.put(msg):
            self.stats.count(DROPPED)

    def on_incompatible_qos(self, count: int, reason: str) -> None:
        """A publisher this camera's subscription cannot match."""
        self.incompatible_reason = reason  # before the count: a report seeing the count has the reason
        self.stats.count(INCOMPATIBLE_QOS, count)

    def depth_report(self, figures) -> str:
        """Why results lacked 3D keypoints since the last report ('' when none did)."""
        missing = int(figures.get(WITHOUT_DEPTH, 0))
        problem = self.depth_problem if missing > self.depth_missing_reported else ''
        self.depth_missing_reported = missing
        return problem

    def input_warnings(self, figures, image_topics, profile_path: str, log_warning) -> List[str]:
        """Why frames do not arrive or cannot be read, since the last report; each cause logged once.

        ``image_topics()`` lists the graph's image topics with publishers (asked only when needed).
        """
        image_input = self.image_input
        if image_input is None:  # lifecycle node not active: nothing is expected
            return []
        lost = int(figures.get(LOST, 0))
        waiting = image_input.seconds_without_publisher()
        facts = InputFacts(
            topic=image_input.topic_name, reliability=image_input.reliability or '',
            seconds_without_publisher=waiting, seconds_silent=image_input.seconds_silent(self.last_frame_at),
            frame_bytes=self.frame_bytes, lost=lost - self.lost_reported,
            invalid_reason=self.invalid_reason, incompatible_reason=self.incompatible_reason,
            image_topics=image_topics() if waiting >= NO_PUBLISHER_WARN_S else (), profile_path=profile_path)
        self.lost_reported, self.invalid_reason, self.incompatible_reason = lost, '', ''
        warnings = input_warnings(facts)
        for warning in warnings:
            if warning.kind not in self.logged_causes:
                self.logged_causes.add(warning.kind)
                log_warning(warning.text)
        return [warning.text for warning in warnings]
