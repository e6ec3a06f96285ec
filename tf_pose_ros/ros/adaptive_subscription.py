"""A subscription whose reliability follows the topic's publishers (``qos_reliability: auto``).

A best-effort subscription to a reliable camera driver (usb_cam, v4l2_camera and most
image_transport publishers are reliable) takes its frames over best-effort delivery, and with Fast
DDS at its defaults most frames over 512 KB never arrive; a reliable subscription to the same driver
gets every frame. A reliable subscription to a best-effort driver gets nothing at all (incompatible
QoS). So ``auto`` subscribes reliable when every publisher on the topic is reliable and best effort
as soon as any is best effort, and decides again whenever the set of publishers changes.

Before any publisher appears an auto subscription is best effort: it matches whatever publisher
comes, and it puts the node's input in the ROS graph from the start, so ``ros2 topic info``, rqt_graph
and drivers or clients that wait for a subscriber before publishing find it.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.qos import QoSPolicyKind, ReliabilityPolicy

from tf_pose_ros.ros.qos import image_qos

AUTO = 'auto'
RELIABLE = 'reliable'
BEST_EFFORT = 'best_effort'
#: Parameter value -> QoS reliability of the fixed choices.
#: Every value of qos_reliability.
MODES = (AUTO, RELIABLE, BEST_EFFORT)
#: Seconds the old subscription of a switch stays at most while the new one has not matched every publisher.
RETIRE_AFTER_S = 2.0
#: Frames remembered while two subscriptions overlap, so one that both deliver is passed on once.
_RECENT_FRAMES = 32


@dataclass(frozen=True)
class PublisherInfo:
    """One publisher on the topic: its node and the reliability it offers."""

    node: str
    reliability: str


def reliability_for(publishers: Sequence[PublisherInfo]) -> Optional[str]:
    """The reliability that receives every publisher's frames best; None while there is none.

    Reliable only when every publisher is reliable: a reliable subscription cannot match a
    best-effort publisher, while a best-effort one matches both.
    """
    if not publishers:
        return None
    return RELIABLE if all(p.reliability == RELIABLE for p in publishers) else BEST_EFFORT


def incompatibility_reason(policy: QoSPolicyKind, requested: Optional[str]) -> str:
    """A sentence for an incompatible-QoS event on a subscription that requested ``requested``."""
    if policy == QoSPolicyKind.RELIABILITY:
        return ('a publisher offers best effort while this node requests reliable: set qos_reliability '
                'to auto or best_effort')
    return 'a publisher offers an incompatible %s QoS policy (this node requests %s)' % (
        policy.name.lower(), requested or 'nothing yet')


def _policy_name(policy) -> str:
    if policy == ReliabilityPolicy.RELIABLE:
        return RELIABLE
    # Best effort, or a policy the graph does not report: best effort matches either.
    return BEST_EFFORT


def resolve_topic(node, topic: str) -> str:
    """``topic`` fully resolved for ``node``; ValueError naming it when it is no valid topic name."""
    try:
        return node.resolve_topic_name(topic)
    except Exception as err:  # rclpy's RCLError does not name the topic
        raise ValueError('topic %r: %s' % (topic, err)) from None


class AdaptiveSubscription:
    """A subscription of a node whose reliability is fixed or, with ``mode`` auto, follows the publishers.

    ``poll()`` (the owner calls it from a timer) looks at the topic's publishers and subscribes
    again when the reliability they need changed. Until the first publisher appears an auto
    subscription is best effort (it matches any publisher); when publishers go it stays as it is.
    A switch subscribes anew and keeps the old subscription until the new one has matched every
    publisher (at most RETIRE_AFTER_S), so no frame goes by while discovery matches the new one; a
    frame both deliver meanwhile is passed on once.
    ``on_incompatible(count, reason)`` hears about publishers this subscription cannot match.
    """

    def __init__(self, node, msg_type, topic: str, callback: Callable, mode: str, depth: int,
                 callback_group=None, on_incompatible: Optional[Callable[[int, str], None]] = None,
                 on_change: Optional[Callable[[str], None]] = None):
        if mode not in MODES:
            raise ValueError('qos_reliability must be one of %s, got %r' % (', '.join(MODES), mode))
        self._node = node
        self._msg_type = msg_type
        self._callback = callback
        self._depth = depth
        self._group = callback_group
        self._on_incompatible = on_incompatible
        self._on_change = on_change
        self.mode = mode
        self.topic_name: str = resolve_topic(node, topic)
        self.subscription = None
        self.reliability: Optional[str] = None
        self._retiring = None  # the subscription a switch replaces, kept until the new one is matched
        self._retiring_since = 0.0
        self._recent: deque = deque(maxlen=_RECENT_FRAMES)  # frames passed on lately, for the overlap
        # rclpy passes the message info only to callbacks that take it; this wrapper always does.
        self._takes_info = len(inspect.signature(callback).parameters) >= 2
        self.publishers: List[PublisherInfo] = []
        #: Monotonic time since when the topic has had no publisher (None while it has one).
        self.no_publisher_since: Optional[float] = time.monotonic()
        #: Monotonic time since when the current subscription has been matched to the current publishers.
        self.listening_since = time.monotonic()
        self.poll()

    def current_publishers(self) -> List[PublisherInfo]:
        """The publishers on the topic now, from the ROS graph."""
        return [PublisherInfo(info.node_name, _policy_name(info.qos_profile.reliability))
                for info in self._node.get_publishers_info_by_topic(self.topic_name)]

    def poll(self) -> bool:
        """Look at the publishers again; True when this subscribed anew."""
        publishers = self.current_publishers()
        if Counter(publishers) != Counter(self.publishers):
            self.listening_since = time.monotonic()
        self.publishers = publishers
        if self.publishers:
            self.no_publisher_since = None
        elif self.no_publisher_since is None:
            self.no_publisher_since = time.monotonic()
        wanted = self.mode if self.mode != AUTO else reliability_for(self.publishers)
        if wanted is None:  # auto without publishers: keep what there is, best effort at first
            wanted = self.reliability or BEST_EFFORT
        self._retire_when_matched()
        if (wanted == self.reliability and self.subscription is not None):
            return False
        self._subscribe(wanted)
        return True

    @property
    def switching(self) -> bool:
        """Whether a switch is under way: the old subscription kept until the new one is matched."""
        return self._retiring is not None

    def _retire_when_matched(self) -> None:
        """Unsubscribe the old subscription of a switch once the new one has matched every publisher."""
        if self._retiring is None:
            return
        matched = self.subscription is not None and self.subscription.get_publisher_count() >= len(self.publishers)
        if matched or time.monotonic() - self._retiring_since > RETIRE_AFTER_S:
            self._node.destroy_subscription(self._retiring)
            self._retiring = None

    def _subscribe(self, reliability: str) -> None:
        qos = image_qos(reliability, self._depth)
        events = SubscriptionEventCallbacks(incompatible_qos=self._incompatible)
        if self._retiring is not None:  # a switch during a switch: the oldest goes now
            self._node.destroy_subscription(self._retiring)
        # The new subscription first; the old one stays until the new one is matched (poll).
        self._retiring, self._retiring_since = self.subscription, time.monotonic()
        self.subscription = self._node.create_subscription(
            self._msg_type, self.topic_name, self._deliver, qos, callback_group=self._group,
            event_callbacks=events)
        self.reliability = reliability
        self.listening_since = time.monotonic()
        if self._on_change is not None:
            self._on_change(self.describe())

    def _deliver(self, msg, info) -> None:
        """Pass a message on, once even when both subscriptions of a switch delivered it."""
        header = getattr(msg, 'header', None)
        if header is not None:
            key = (header.stamp.sec, header.stamp.nanosec, header.frame_id)
            if self._retiring is not None and key in self._recent:
                return
            self._recent.append(key)
        if self._takes_info:
            self._callback(msg, info)
        else:
            self._callback(msg)

    def _incompatible(self, info) -> None:
        if self.mode == AUTO and info.last_policy_kind == QoSPolicyKind.RELIABILITY:
            return  # a best-effort publisher met the reliable subscription: the next poll() switches
        if self._on_incompatible is not None and info.total_count_change > 0:
            self._on_incompatible(info.total_count_change, incompatibility_reason(info.last_policy_kind,
                                                                                  self.reliability))

    def seconds_without_publisher(self, now: Optional[float] = None) -> float:
        """How long the topic has had no publisher (0 while it has one)."""
        if self.no_publisher_since is None:
            return 0.0
        return (time.monotonic() if now is None else now) - self.no_publisher_since

    def seconds_silent(self, last_frame: Optional[float], now: Optional[float] = None) -> float:
        """How long publishers have been there and subscribed to without a frame arriving (0 without any)."""
        if not self.publishers or self.subscription is None:
            return 0.0
        since = max(self.listening_since, last_frame or 0.0)
        return max(0.0, (time.monotonic() if now is None else now) - since)

    def describe(self) -> str:
        """The QoS in words, for the log and /diagnostics: e.g. 'reliable (auto: 1 reliable publisher)'."""
        if self.mode != AUTO:
            return self.mode
        if self.reliability is None:
            return 'auto: not subscribed'
        if not self.publishers and self.reliability == BEST_EFFORT:
            return 'best_effort (auto: no publisher, matches any)'
        counts = {}
        for publisher in self.publishers:
            counts[publisher.reliability] = counts.get(publisher.reliability, 0) + 1
        found = ', '.join('%d %s' % (n, name.replace('_', ' ')) for name, n in sorted(counts.items()))
        return '%s (auto: publishers %s)' % (self.reliability, found or 'gone')

    def destroy(self) -> None:
        """Unsubscribe for good."""
        for subscription in (self.subscription, self._retiring):
            if subscription is not None:
                self._node.destroy_subscription(subscription)
        self.subscription, self._retiring, self.reliability = None, None, None
