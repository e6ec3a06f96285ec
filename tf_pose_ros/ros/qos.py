"""Image QoS by reliability name, as the parameters spell it (qos_reliability)."""

from __future__ import annotations

from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

#: Parameter value -> QoS reliability.
RELIABILITIES = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}


def reliability_error(value: str) -> str:
    """Why ``value`` is no reliability name, or '' when it is one."""
    return '' if value in RELIABILITIES else (
        'qos_reliability must be %s, got %r' % (' or '.join(RELIABILITIES), value))


def image_qos(reliability: str, depth: int) -> QoSProfile:
    """Keep-last QoS of ``depth`` with the named reliability."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=RELIABILITIES[reliability])
