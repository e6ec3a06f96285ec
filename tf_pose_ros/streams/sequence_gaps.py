"""Frames lost on the way: gaps in each publisher's publication sequence numbers.

Every DDS sample carries its writer's sequence number. A jump from n to n + k means k - 1 frames of
that publisher never reached the callback: dropped by a best-effort transport, overwritten in a
depth-1 reader queue while the executor was busy (a reload, say), or lost to a slow network. The
first frame of each publisher only sets the baseline: what it sent before the node listened is
not a loss.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Tuple


def publication(info: Optional[Mapping]) -> Optional[Tuple[bytes, int]]:
    """(publisher key, sequence number) of a message from its rclpy MessageInfo; None where the RMW gives none."""
    if not info:
        return None
    sequence, gid = info.get('publication_sequence_number'), info.get('publisher_gid')
    if sequence is None or not gid:
        return None
    return bytes(gid.get('data', b'')) if isinstance(gid, Mapping) else bytes(gid), sequence


class SequenceGaps:
    """Counts the frames each publisher sent that were never received."""

    def __init__(self):
        self._last: Dict[bytes, int] = {}

    def missed(self, info: Optional[Mapping]) -> int:
        """Frames missed before this one, from its rclpy MessageInfo; 0 where the RMW gives none."""
        found = publication(info)
        return 0 if found is None else self.missed_before(*found)

    def missed_before(self, key: bytes, sequence: int) -> int:
        """Frames publisher ``key`` sent and this one never received before its frame number ``sequence``."""
        last = self._last.get(key)
        self._last[key] = sequence
        if last is None or sequence <= last:  # a new publisher, or one that restarted
            return 0
        return sequence - last - 1
