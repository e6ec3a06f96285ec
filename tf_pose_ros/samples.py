"""Built-in sample frames: a real photo of a person and composites of several people."""

from __future__ import annotations

import cv2
import numpy as np


def astronaut_bgr() -> np.ndarray:
    """scikit-image's astronaut photo (one person, 512x512) as BGR uint8."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def group_photo_bgr(count: int = 3, height: int = 368) -> np.ndarray:
    """``count`` copies of the astronaut side by side (every other one mirrored), ``height`` tall."""
    if count < 1:
        raise ValueError('count must be at least 1')
    person = astronaut_bgr()
    person = cv2.resize(person, (height, height), interpolation=cv2.INTER_AREA)
    tiles = [person if i % 2 == 0 else person[:, ::-1] for i in range(count)]
    return np.ascontiguousarray(np.hstack(tiles))


def demo_frames(width: int = 640, height: int = 480, count: int = 30):
    """A short clip for the demo: the astronaut panning across a width x height frame.

    Yields BGR uint8 frames; people move, so consecutive outputs differ.
    """
    person = astronaut_bgr()
    size = min(height, width)
    person = cv2.resize(person, (size, size), interpolation=cv2.INTER_AREA)
    span = max(width - size, 1)
    for i in range(count):
        frame = np.full((height, width, 3), 40, np.uint8)
        offset = int(span * (0.5 + 0.5 * np.sin(2 * np.pi * i / max(count, 1))))
        frame[:, offset:offset + size] = person[:, :min(size, width - offset)]
        yield frame
