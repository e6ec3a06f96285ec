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


def camera_man_bgr() -> np.ndarray:
    """scikit-image's cameraman photo (one person, 512x512 grayscale) as BGR uint8."""
    from skimage import data

    return cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)


def _on_canvas(person: np.ndarray, size, height: int, left: int) -> np.ndarray:
    width, canvas_height = size
    canvas = np.full((canvas_height, width, 3), 90, np.uint8)
    person = cv2.resize(person, (height, height), interpolation=cv2.INTER_AREA)
    top = (canvas_height - height) // 2
    canvas[top:top + height, left:left + height] = person
    return canvas


def agreement_photos() -> dict:
    """14 named frames of people (real photos and composites of them) for comparing engines.

    Single people large and small, mirrored, darker and rotated, and groups of two to five.
    """
    astronaut, camera = astronaut_bgr(), camera_man_bgr()
    rotation = cv2.getRotationMatrix2D((256, 256), 12, 1.0)
    return {
        'astronaut': astronaut,
        'astronaut_mirrored': np.ascontiguousarray(astronaut[:, ::-1]),
        'astronaut_dark': (astronaut.astype(np.float32) * 0.55).astype(np.uint8),
        'astronaut_rotated': cv2.warpAffine(astronaut, rotation, (512, 512), borderValue=(90, 90, 90)),
        'astronaut_small_left': _on_canvas(astronaut, (640, 480), 240, 40),
        'astronaut_small_right': _on_canvas(astronaut[:, ::-1], (640, 480), 200, 400),
        'camera': camera,
        'camera_mirrored': np.ascontiguousarray(camera[:, ::-1]),
        'astronaut_and_camera': np.hstack([astronaut, camera]),
        'group2': group_photo_bgr(2),
        'group3': group_photo_bgr(3),
        'group4': group_photo_bgr(4),
        'group5': group_photo_bgr(5, height=300),
        'cameras3': np.hstack([camera, camera[:, ::-1], camera]),
    }


def six_people_bgr(height: int = 300) -> np.ndarray:
    """Six people in two rows of three (group photos of the astronaut, the lower row mirrored), 900x600."""
    row = group_photo_bgr(3, height)
    return np.ascontiguousarray(np.vstack([row, row[:, ::-1]]))
