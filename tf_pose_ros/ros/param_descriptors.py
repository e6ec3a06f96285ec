"""Parameter descriptors with help text, ranges and choices, for every node of the package."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor


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
