"""Publishing one camera's result: tracking, smoothing, depth lift, Persons, markers, the anonymized image,
REP-155 bodies, annotated image, counters, latency.

Runs on the inference thread, under the model lock, once per inferred frame.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.privacy import anonymize, blurred_people
from tf_pose_ros.ros.camera_input import CameraInput
from tf_pose_ros.ros.depth_input import DepthInput, stamp_ns
from tf_pose_ros.ros.hri_output import HriOutput
from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg
from tf_pose_ros.ros.markers import skeleton_markers
from tf_pose_ros.ros.messages import confident, persons_msg
from tf_pose_ros.ros.node_parameters import runs_tracker
from tf_pose_ros.streams.stats import PROCESSED

LOG_THROTTLE_S = 5.0


@dataclass(frozen=True)
class LatencySplit:
    """A result's stamp-to-publish latency in parts (seconds), named as stats.LATENCY_PARTS."""

    transport: float  # camera stamp to arrival in the callback
    wait: float  # in the slot, and behind earlier frames of its batch
    decode: float  # message to image
    pipeline: float  # network and decoder
    message: float  # tracking, smoothing, depth, building the Persons message

    def parts(self) -> Dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FrameTimes:
    """Monotonic times of one frame on its way through the node (seconds)."""

    arrived: float  # the image callback got it
    started: float  # the inference thread took its batch
    decoded: float  # the batch's images were decoded
    began: float  # its network call began

    def split(self, latency: float, inferred: float, now: float) -> LatencySplit:
        """The parts of ``latency`` for a result inferred by ``inferred`` and published at ``now``."""
        # Earlier frames of the batch inferred one by one count as waiting (began > decoded).
        return LatencySplit(transport=latency - (now - self.arrived),
                            wait=self.started - self.arrived + (self.began - self.decoded),
                            decode=self.decoded - self.started, pipeline=inferred - self.began,
                            message=now - inferred)

    def pipeline(self, now: float) -> float:
        """The node's own time on the frame: decoding and from its network call until ``now``."""
        return now - self.began + self.decoded - self.started


class ResultPublisher:
    """Publishes each camera's results with the node's live ``config`` (changed in place by parameter changes).

    ``now_ns()`` is the node clock's time, for the stamp-to-publish latency.
    """

    def __init__(self, config, logger, now_ns: Callable[[], int]):
        self._config = config
        self._logger = logger
        self._now_ns = now_ns
        self._first_frame_logged = False
        self.hri: Optional[HriOutput] = None  # REP-155 bodies, while hri_output is on and the outputs exist

    def publish(self, camera: CameraInput, msg, image, result, model: str, times: FrameTimes) -> None:
        """Track, lift into 3D and publish one camera's result; record its latency and where it went."""
        inferred = time.monotonic()
        config = self._config
        found = result  # the frame's own detections: faces are blurred where they are, not where smoothing lags
        # Person.id is the track id only with tracking on; smoothing and REP-155 bodies use tracks regardless.
        hri, smoother = self.hri, camera.smoother  # read once: a parameter change may replace them meanwhile
        tracks = camera.track(result.persons, runs_tracker(config))
        if smoother is not None and tracks is not None:
            result = smoother.smooth(result, tracks, stamp_ns(msg.header) * 1e-9)
        positions = self._lift(camera, camera.depth, msg.header, result) if camera.depth is not None else None
        persons = persons_msg(result, msg.header, model, config['min_person_score'], config['min_keypoint_score'],
                              ids=tracks if config['tracking'] else None, positions=positions)
        # Counted just before publishing, so a subscriber never sees a result the counters lack.
        camera.stats.count(PROCESSED)
        now = time.monotonic()
        latency = (self._now_ns() - stamp_ns(msg.header)) * 1e-9
        split = times.split(latency, inferred, now).parts()
        camera.stats.record(latency, times.pipeline(now), now=now, split=split)
        if not self._first_frame_logged:  # what a fresh start's first frame cost, for `make bench-startup`
            self._first_frame_logged = True
            self._logger.info('first frame: %s; network %.0f ms' % (
                ', '.join('%s %.0f ms' % (k, v * 1e3) for k, v in split.items()), result.timings_ms['network']))
        publishers = camera.publishers
        publishers.persons.publish(persons)
        if camera.depth is not None and config['publish_markers'] and publishers.markers.get_subscription_count() > 0:
            publishers.markers.publish(skeleton_markers(persons, config['marker_lifetime']))
        if config['anonymize']:
            image = self._anonymized(publishers, msg.header, image, found, hri is not None)
        if hri is not None and tracks is not None:  # before drawing: bodies are cropped from the camera's pixels
            shown, shown_tracks = confident(result, tracks, config['min_person_score'], config['min_keypoint_score'])
            hri.publish(msg.header, shown, shown_tracks, image, camera.tracker.active_ids, camera=camera.name)
        if config['publish_annotated'] and publishers.annotated.get_subscription_count() > 0:
            publishers.annotated.publish(bgr8_to_image_msg(draw_persons(image, result.persons, copy=False),
                                                           msg.header))

    def _anonymized(self, publishers, header, image, found, hri: bool):
        """``image`` with every face blurred (privacy/), published on ~/image_anonymized while someone
        subscribes; blurred only when an image output may show it."""
        wanted = publishers.anonymized.get_subscription_count() > 0
        if not (wanted or hri or (self._config['publish_annotated'] and publishers.annotated.get_subscription_count())):
            return image
        image = anonymize(image, blurred_people(found))
        if wanted:
            publishers.anonymized.publish(bgr8_to_image_msg(image, header))
        return image

    def _lift(self, camera: CameraInput, depth: DepthInput, header, result):
        """3D positions of the result's keypoints from the paired depth frame; None (counted) without."""
        lifted = depth.lift(header, result.image_size, result.persons)
        if lifted.warning:
            self._logger.warning(lifted.warning, throttle_duration_sec=LOG_THROTTLE_S)
        if lifted.positions is None:
            camera.without_depth(lifted.problem)
            self._logger.warning('no 3D keypoints: %s' % lifted.problem, throttle_duration_sec=LOG_THROTTLE_S)
        else:
            camera.with_depth()
        return lifted.positions
