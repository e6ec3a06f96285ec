"""What both nodes share about parameters and QoS: descriptors and the reliability names."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

#: Parameter value -> QoS reliability.
RELIABILITIES = {'best_effort': ReliabilityPolicy.BEST_EFFORT, 'reliable': ReliabilityPolicy.RELIABLE}


def describe(text: str, read_only: bool = False, floats: Optional[Tuple[float, float]] = None,
             ints: Optional[Tuple[int, int]] = None, choices: Sequence[str] = ()) -> ParameterDescriptor:
    """A descriptor with its help text, numeric range and, for enum-like strings, the choices."""
    descriptor = ParameterDescriptor(description=text, read_only=read_only)
    if floats is not None:
        descriptor.floating_point_range = [FloatingPointRange(from_value=float(floats[0]),
                                                              to_value=float(floats[1]))]
    if ints is not None:
        descriptor.integer_range = [IntegerRange(from_value=int(ints[0]), to_value=int(ints[1]), step=1)]
    if choices:
        descriptor.additional_constraints = 'one of: ' + ', '.join(choices)
    return descriptor


def reliability_error(value: str) -> str:
    """Why ``value`` is no reliability name, or '' when it is one."""
    return '' if value in RELIABILITIES else (
        'qos_reliability must be %s, got %r' % (' or '.join(RELIABILITIES), value))


def image_qos(reliability: str, depth: int) -> QoSProfile:
    """Keep-last QoS of ``depth`` with the named reliability."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=RELIABILITIES[reliability])
