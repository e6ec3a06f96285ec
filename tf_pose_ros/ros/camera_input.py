"""One camera of the pose node: its topics, names, counters, tracker and depth pairing.

The node runs one network for all its cameras; everything that belongs to one camera's stream
lives here, so cameras never share a tracker, a depth buffer, counters or warnings. The node
creates the subscriptions and publishers and hands them over (``subscribed``, ``attach``); the
callbacks, the inference thread and /diagnostics change the rest through the methods below.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Set

from tf_pose_ros.people.smoothing import KeypointSmoother
from tf_pose_ros.people.tracking import PoseTracker
from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for
from tf_pose_ros.ros.input_health import DELIVERY, NO_PUBLISHER_WARN_S, InputFacts, input_warnings
from tf_pose_ros.streams.delivery import DeliveryMonitor
from tf_pose_ros.streams.frame_slot import LatestFrameSlot
from tf_pose_ros.streams.sequence_gaps import SequenceGaps, publication
from tf_pose_ros.streams.stats import (
    DROPPED,
    INCOMPATIBLE_QOS,
    INVALID,
    LOST,
    RECEIVED,
    WITH_DEPTH,
    WITHOUT_DEPTH,
    PipelineStats,
)

#: A camera name is one ROS name token: it becomes part of the output topics ~/<name>/persons.
_NAME = re.compile(r'^[A-Za-z][A-Za-z0-9_]*$')
#: Last topic parts that say nothing about the camera ('/front/image_raw' is camera 'front').
_GENERIC = frozenset(('image_raw', 'image', 'image_rect', 'image_rect_color', 'image_color', 'image_mono'))
#: Seconds after a network swap within which frames found missing are put down to the reload (the next
#: arrivals after the executor resumes find them).
RELOAD_LOSS_WINDOW_S = 2.0


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


def camera_specs(config) -> List[CameraSpec]:
    """The cameras of a node configuration: those of image_topics, or the one camera of image_topic (named '')."""
    if config['image_topics']:
        return parse_cameras(config['image_topics'], config['depth_topics'])
    info = config['camera_info_topic'] or camera_info_topic_for(config['image_topic'])
    if not config['depth_topic']:
        info = ''
    return [CameraSpec('', config['image_topic'], config['depth_topic'], info)]


def depth_settings(config) -> DepthSettings:
    """The depth parameters of a node configuration."""
    return DepthSettings(scale=config['depth_scale'], window=config['depth_window'], slop_s=config['depth_slop'],
                         min_m=config['depth_min'], max_m=config['depth_max'])


@dataclass
class Subscriptions:
    """A camera's AdaptiveSubscriptions while subscribed: the image one, and every one (image, depth, camera_info)."""

    image: Any = None
    all: List[Any] = field(default_factory=list)


@dataclass
class Publishers:
    """A camera's result publishers (None while a lifecycle node has none)."""

    persons: Any = None
    annotated: Any = None
    markers: Any = None
    anonymized: Any = None

    def each(self) -> List[Any]:
        return [self.persons, self.annotated, self.markers, self.anonymized]


@dataclass
class CameraHealth:
    """What /diagnostics needs to say why frames do not arrive, cannot be read or lack depth (input_health.py).

    The callbacks and the inference thread note causes; each report takes them and remembers what
    it has reported, so the next one names only what is new.
    """

    frame_bytes: int = 0  # of the latest frame
    last_frame_at: Optional[float] = None  # monotonic arrival time of the latest frame
    invalid_reason: str = ''
    incompatible_reason: str = ''
    depth_problem: str = ''
    lost_reported: int = 0
    reloaded_at: Optional[float] = None  # monotonic time the node last swapped in a new network
    lost_in_reload: int = 0  # since the last report: frames found missing just after a reload (it blocked the node)
    depth_missing_reported: int = 0
    problems_reported: int = 0  # problem_count() of the last status (diagnostics.py)
    logged_causes: Set[str] = field(default_factory=set)


class CameraInput:
    """The state of one camera's stream; the node wires its subscriptions and publishers to it."""

    def __init__(self, spec: CameraSpec, track_max_age: int, depth: Optional[DepthSettings],
                 clock: Callable[[], float] = time.time):
        """``clock()`` is the node clock's time in seconds, to compare with the frames' stamps."""
        self.spec = spec
        self.name = spec.name
        self.stats = PipelineStats()
        self.slot = LatestFrameSlot()
        self.gaps = SequenceGaps()
        self.delivery = DeliveryMonitor()
        self._clock = clock
        #: Why an arriving message cannot be read ('' when it may be); set by the node for its message type.
        self.problem: Callable[[Any], str] = lambda msg: ''
        self.tracker = PoseTracker(max_age=track_max_age)
        self.smoother: Optional[KeypointSmoother] = None  # replaced whole by a parameter change
        self._reset_tracker = False  # set by a parameter change, applied by the inference thread
        self.depth: Optional[DepthInput] = DepthInput(depth) if depth is not None else None
        self.subscriptions = Subscriptions()
        self.publishers = Publishers()
        self.health = CameraHealth()

    def output(self, topic: str) -> str:
        """The node-relative name of an output topic: ~/persons, or ~/<name>/persons with several cameras."""
        return '~/%s' % topic if not self.name else '~/%s/%s' % (self.name, topic)

    # --- wiring, by the node ----------------------------------------------------------------------
    def subscribed(self, image, others: Sequence = ()) -> None:
        """Take the camera's subscriptions: ``image`` and the depth ones in ``others``."""
        self.subscriptions = Subscriptions(image, [image, *others])

    def unsubscribe(self) -> None:
        """Destroy the subscriptions and forget the depth frames and calibration they brought."""
        for adaptive in self.subscriptions.all:
            adaptive.destroy()
        self.subscriptions = Subscriptions()
        if self.depth is not None:
            self.depth.reset()

    def poll_publishers(self) -> None:
        """Let each subscription look at its topic's publishers (qos_reliability auto, missing publishers)."""
        for adaptive in self.subscriptions.all:
            adaptive.poll()

    def attach(self, publishers: Publishers) -> None:
        self.publishers = publishers

    def detach(self, destroy_publisher: Callable[[Any], Any]) -> None:
        """Destroy the result publishers with ``destroy_publisher`` (plain or lifecycle)."""
        for publisher in self.publishers.each():
            destroy_publisher(publisher)
        self.publishers = Publishers()

    def use_slot(self, slot: LatestFrameSlot) -> None:
        """Put arriving frames in ``slot`` (one of a new worker's FrameBatcher)."""
        self.slot = slot

    # --- parameter changes ------------------------------------------------------------------------
    def set_track_max_age(self, frames: int) -> None:
        self.tracker.max_age = frames

    def forget_tracks(self) -> None:
        """Tracking was turned off: when back on, nobody is matched to an old sighting."""
        self._reset_tracker = True

    def set_smoother(self, smoother: Optional[KeypointSmoother]) -> None:
        """Filter keypoints with ``smoother`` from the next frame on (None: unfiltered)."""
        self.smoother = smoother

    def set_depth_settings(self, settings: DepthSettings) -> None:
        if self.depth is not None:
            self.depth.settings = settings

    # --- callbacks (executor) ---------------------------------------------------------------------
    def on_image(self, msg, info) -> None:
        """Image callback: count it (and the frames lost before it), put it in the slot unless ``problem(msg)``
        says it cannot be read: then it is counted invalid here, and the newest good frame stays."""
        publisher, sequence = publication(info) or (b'', None)
        missed = self.gaps.missed_before(publisher, sequence) if sequence is not None else 0
        now = time.monotonic()
        if missed:
            reloaded_at = self.health.reloaded_at
            if reloaded_at is not None and now - reloaded_at < RELOAD_LOSS_WINDOW_S:
                self.health.lost_in_reload += missed
            self.stats.count(LOST, missed)
        self.stats.count(RECEIVED)
        self.health.frame_bytes = len(msg.data)
        self.health.last_frame_at = now
        stamp = msg.header.stamp
        self.delivery.arrived(now, self._clock() - stamp.sec - stamp.nanosec * 1e-9, publisher, sequence)
        reason = self.problem(msg)
        if reason:
            self.invalid_frame(reason)
            return
        if self.slot.put(msg):
            self.stats.count(DROPPED)

    def on_incompatible_qos(self, count: int, reason: str) -> None:
        """A publisher this camera's subscription cannot match."""
        self.health.incompatible_reason = reason  # before the count: a report seeing the count has the reason
        self.stats.count(INCOMPATIBLE_QOS, count)

    # --- the inference thread ---------------------------------------------------------------------
    def invalid_frame(self, reason: str) -> None:
        """A frame that could not be decoded."""
        self.health.invalid_reason = reason
        self.stats.count(INVALID)

    def track(self, persons, tracking: bool) -> Optional[List[int]]:
        """Track ids for ``persons`` (None with tracking off); a pending forget_tracks() is applied first."""
        if self._reset_tracker:
            self._reset_tracker = False
            self.tracker.reset()
            if self.smoother is not None:
                self.smoother.reset()
        return self.tracker.update(persons) if tracking else None

    def with_depth(self) -> None:
        """Count a result with 3D keypoints."""
        self.stats.count(WITH_DEPTH)

    def without_depth(self, problem: str) -> None:
        """Count a result without 3D keypoints because of ``problem``."""
        self.health.depth_problem = problem  # before the count: a report seeing the count has the reason
        self.stats.count(WITHOUT_DEPTH)

    # --- /diagnostics -----------------------------------------------------------------------------
    def depth_report(self, figures) -> str:
        """Why results lacked 3D keypoints since the last report ('' when none did)."""
        missing = int(figures.get(WITHOUT_DEPTH, 0))
        problem = self.health.depth_problem if missing > self.health.depth_missing_reported else ''
        self.health.depth_missing_reported = missing
        return problem

    def input_warnings(self, figures, image_topics, profile_path: str, log_warning, log_info) -> List[str]:
        """Why frames do not arrive or cannot be read, since the last report; each cause logged once
        (a collapse in delivery once each time it begins, and its end with ``log_info``).

        ``image_topics()`` lists the graph's image topics with publishers (asked only when needed).
        """
        image_input, health = self.subscriptions.image, self.health
        if image_input is None:  # lifecycle node not active: nothing is expected
            return []
        lost = int(figures.get(LOST, 0))
        waiting = image_input.seconds_without_publisher()
        collapse = self.delivery.assess(time.monotonic())
        facts = InputFacts(
            topic=image_input.topic_name, reliability=image_input.reliability or '',
            seconds_without_publisher=waiting, seconds_silent=image_input.seconds_silent(health.last_frame_at),
            frame_bytes=health.frame_bytes, lost=lost - health.lost_reported,
            invalid_reason=health.invalid_reason, incompatible_reason=health.incompatible_reason,
            image_topics=image_topics() if waiting >= NO_PUBLISHER_WARN_S else (), profile_path=profile_path,
            collapse=collapse, lost_in_reload=health.lost_in_reload)
        health.lost_reported, health.invalid_reason, health.incompatible_reason = lost, '', ''
        health.lost_in_reload = 0
        warnings = input_warnings(facts)
        if collapse is None and DELIVERY in health.logged_causes:  # logged again should it collapse again
            health.logged_causes.discard(DELIVERY)
            log_info('frame delivery on %s recovered' % image_input.topic_name)
        for warning in warnings:
            if warning.kind not in health.logged_causes:
                health.logged_causes.add(warning.kind)
                log_warning(warning.text)
        return [warning.text for warning in warnings]

    def network_reloaded(self) -> None:
        """The node swapped in a new network: loading it held the executor, so the frames found missing
        on the next arrivals went by meanwhile, whatever the driver's transport."""
        self.health.reloaded_at = time.monotonic()

    def reported_problems(self, count: int) -> None:
        """The problem count the latest status was built with (the next one warns only above it)."""
        self.health.problems_reported = count
