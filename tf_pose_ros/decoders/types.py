"""What every decoder hands on: people in map pixels, and the interface the estimator calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class GroupedPerson:
    """One person: mean score and part id -> (x, y, part score), x and y in map pixels."""

    score: float
    parts: Dict[int, Tuple[float, float, float]]  # x, y in map pixels (the refined decoder: sub-pixel)


class Decoder(Protocol):
    """What the estimator asks of a decoder (decoders/__init__.py)."""

    name: str

    def device_hints(self, maps: Any, map_size: Tuple[int, int]) -> Optional[List[Any]]:
        """Per image of ``maps`` (a batch still on the engine's device), what this decoder finds there
        before the maps come back, handed to find_parts as ``device_hint``; None: nothing."""

    def find_parts(self, outputs: Sequence[np.ndarray], resolution: Tuple[int, int],
                   map_size: Tuple[int, int], device_hint: Any = None) -> Any: ...

    def group(self, found: Any) -> List[GroupedPerson]: ...

    def group_faint(self, found: Any) -> List[GroupedPerson]:
        """People below group()'s thresholds that still look like people: faces to blur, never published."""
