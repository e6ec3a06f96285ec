"""Why frames do not reach the pose node, in words: the input warnings of /diagnostics (no node needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Sequence

from tf_pose_ros.streams.delivery import Collapse

#: Fast DDS's default shared-memory segment: best-effort samples larger than this mostly never arrive
#: when the publisher runs at default settings (ros2/rmw_fastrtps issue 739).
FASTDDS_DEFAULT_SEGMENT_BYTES = 512 * 1024
#: Seconds without any publisher on the image topic, or without frames from the publishers there,
#: before /diagnostics warns.
NO_PUBLISHER_WARN_S = 5.0
#: The kind of the warning about a collapse in frame delivery (streams/delivery.py).
DELIVERY = 'delivery'


@dataclass(frozen=True)
class InputFacts:
    """What the node knows about its image input at one diagnostics report."""

    topic: str
    reliability: str  # 'reliable', 'best_effort', or '' while not subscribed
    seconds_without_publisher: float
    seconds_silent: float  # publishers there and matched, yet no frame arrived (0 when frames arrive)
    frame_bytes: int  # size of the latest frame received
    lost: int  # frames lost on the way since the last report
    invalid_reason: str = ''  # why the latest unreadable frame since the last report was refused
    incompatible_reason: str = ''  # a publisher this subscription cannot match, since the last report
    image_topics: Sequence[str] = field(default_factory=tuple)  # other image topics that have publishers
    profile_path: str = ''  # where config/fastdds_large_frames.xml is installed
    collapse: Optional[Collapse] = None  # delivery far below what the stream sent or delivered before
    lost_in_reload: int = 0  # of ``lost``: frames that went by while the node loaded a new network


class InputWarning(NamedTuple):
    """One input problem: its kind (for logging each kind once) and the sentence for /diagnostics."""

    kind: str
    text: str


def _too_large_for_best_effort(reliability: str, frame_bytes: int) -> bool:
    return reliability == 'best_effort' and frame_bytes > FASTDDS_DEFAULT_SEGMENT_BYTES


def _remedies(profile_path: str) -> str:
    """What makes a best-effort camera's large frames arrive."""
    profile = profile_path or '<tf_pose_ros share>/config/fastdds_large_frames.xml'
    return ('Remedies: start the driver with FASTDDS_DEFAULT_PROFILES_FILE=%s, or subscribe to compressed '
            'images (use_compressed: true), or have the driver publish reliable' % profile)


def lost_frames_warning(lost: int, reliability: str, frame_bytes: int, profile_path: str) -> str:
    """The warning for ``lost`` frames, naming the cause and the remedies where the cause is known."""
    if _too_large_for_best_effort(reliability, frame_bytes):
        return ('%d frames lost on the way: best-effort frames of %d KB are larger than the 512 KB that Fast '
                "DDS's default shared memory carries, so the camera driver's side drops them. %s"
                % (lost, frame_bytes // 1024, _remedies(profile_path)))
    return ('%d frames lost on the way (gaps in the publisher\'s sequence numbers: transport losses, or '
            'frames that went by during a reload)' % lost)


def silent_publisher_warning(topic: str, seconds: float, reliability: str, profile_path: str) -> str:
    """The warning for publishers that are there, and subscribed to, but whose frames do not arrive."""
    text = 'a publisher on %s is matched (%s) but no frame arrived for %.0f s' % (
        topic, reliability.replace('_', ' ') or 'not subscribed', seconds)
    if reliability == 'best_effort':
        return text + (": a best-effort camera at Fast DDS's defaults drops frames over 512 KB on its own side "
                       '(640x480 bgr8 is 900 KB). %s' % _remedies(profile_path))
    return text + ' (a driver that publishes only on demand, or a stalled one)'


def delivery_warning(topic: str, collapse: Collapse, reliability: str, frame_bytes: int, profile_path: str) -> str:
    """The warning for a collapse in delivery: the rate against what was sent or delivered before, and the remedy."""
    now, healthy = collapse.now, collapse.healthy
    how = reliability.replace('_', ' ') or 'not subscribed'
    if collapse.kind == 'lost':
        text = ('delivery fell to %.1f of the %.1f frames/s the publisher sends on %s (%s): the rest never arrive'
                % (now.received_hz, now.sent_hz or 0.0, topic, how))
    else:
        text = ('delivery fell to %.1f frames/s on %s (%s), from %.1f: frames arrive %.0f ms after their stamps '
                'against %.0f ms before, held back by repairs of lost pieces'
                % (now.received_hz, topic, how, healthy.received_hz, 1e3 * now.transport_s, 1e3 * healthy.transport_s))
    if frame_bytes > FASTDDS_DEFAULT_SEGMENT_BYTES:
        text += ('. Frames of %d KB do not fit the 512 KB shared memory of a driver at Fast DDS\'s defaults, and '
                 'the pieces they travel in are lost on a busy machine. Remedy: start the camera driver with '
                 'FASTDDS_DEFAULT_PROFILES_FILE=%s, or subscribe to compressed images (use_compressed: true)'
                 % (frame_bytes // 1024, profile_path or '<tf_pose_ros share>/config/fastdds_large_frames.xml'))
    else:
        text += ' (the machine or the network is too busy to carry the stream)'
    return text


def no_publisher_warning(topic: str, seconds: float, image_topics: Sequence[str]) -> str:
    """The warning for an image topic that has had no publisher for ``seconds``."""
    elsewhere = ('image topics with publishers: %s; set image_topic (or remap) to one of them'
                 % ', '.join(image_topics)) if image_topics else 'no image topic has a publisher'
    return 'no publisher on %s for %.0f s (%s)' % (topic, seconds, elsewhere)


def input_warnings(facts: InputFacts) -> List[InputWarning]:
    """Each problem of the image input that /diagnostics should report, with its cause; empty when fine."""
    warnings = []
    if facts.seconds_without_publisher >= NO_PUBLISHER_WARN_S:
        warnings.append(InputWarning('no_publisher', no_publisher_warning(
            facts.topic, facts.seconds_without_publisher, facts.image_topics)))
    if facts.seconds_silent >= NO_PUBLISHER_WARN_S:
        warnings.append(InputWarning('silent_' + (facts.reliability or 'none'), silent_publisher_warning(
            facts.topic, facts.seconds_silent, facts.reliability, facts.profile_path)))
    if facts.incompatible_reason:
        warnings.append(InputWarning('incompatible_qos', 'QoS mismatch on %s: %s'
                                     % (facts.topic, facts.incompatible_reason)))
    if facts.invalid_reason:
        warnings.append(InputWarning('invalid', 'unreadable frames on %s: %s' % (facts.topic, facts.invalid_reason)))
    if facts.collapse is not None:
        warnings.append(InputWarning(DELIVERY, delivery_warning(facts.topic, facts.collapse, facts.reliability,
                                                                facts.frame_bytes, facts.profile_path)))
    if facts.lost_in_reload > 0:  # the node's own pause, whatever the driver's transport
        warnings.append(InputWarning('lost_in_reload', '%d frames went by while the node loaded a new network '
                                     '(it takes no frames meanwhile)' % facts.lost_in_reload))
    lost = facts.lost - facts.lost_in_reload
    if lost > 0:
        large = _too_large_for_best_effort(facts.reliability, facts.frame_bytes)
        if facts.collapse is not None:  # the delivery warning gives the cause and the remedy once
            text = '%d frames lost on the way (see the delivery warning)' % lost
        else:
            text = lost_frames_warning(lost, facts.reliability, facts.frame_bytes, facts.profile_path)
        warnings.append(InputWarning('lost_large_best_effort' if large else 'lost', text))
    return warnings
