"""Built-in sample frames: a real photo of a person and composites of several people.

The demo clip as a video file, to try ``tf-pose-ros infer --video`` without a camera or a recording::

    .venv/bin/python -m tf_pose_ros.samples out/clip.mp4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

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


def write_demo_clip(destination: str, frames: int = 30, fps: float = 10.0, width: int = 640, height: int = 480) -> int:
    """Write ``frames`` of demo_frames() as an mp4 video at ``fps``; the frames written. ValueError when it cannot."""
    Path(destination).parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(destination), cv2.VideoWriter.fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise ValueError('cannot write video %s' % destination)
    written = 0
    try:
        for frame in demo_frames(width, height, frames):
            writer.write(frame)
            written += 1
    finally:
        writer.release()
    return written


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m tf_pose_ros.samples OUT.mp4``: the demo clip (image_source's source:=demo) as a video file."""
    parser = argparse.ArgumentParser(prog='python -m tf_pose_ros.samples',
                                     description="Write the demo clip (image_source's source:=demo) as a video file.")
    parser.add_argument('output', metavar='OUT.mp4', help='the video file to write')
    parser.add_argument('--frames', type=int, default=30, help='frames in the clip (default: %(default)s)')
    parser.add_argument('--fps', type=float, default=10.0, help='frames per second (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.frames < 1 or args.fps <= 0:
        parser.error('--frames must be at least 1 and --fps above 0')
    try:
        written = write_demo_clip(args.output, args.frames, args.fps)
    except ValueError as err:
        print('error: %s' % err, file=sys.stderr)
        return 2
    print('wrote %s: %d frames of 640x480 at %g fps' % (args.output, written, args.fps))
    return 0


if __name__ == '__main__':
    sys.exit(main())
