"""A rosbag2 bag of the demo clip, to try the bag command without a recording of one's own::

    python -m tf_pose_ros.recordings.sample_bag out/demo_bag     # then: tf-pose-ros bag out/demo_bag

The clip (samples.demo_frames, the astronaut panning) as a raw bgr8 topic and as a JPEG topic, with
the camera's calibration beside them, 30 frames a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

RAW_TOPIC = '/camera/image_raw'
COMPRESSED_TOPIC = '/camera/image_raw/compressed'
INFO_TOPIC = '/camera/camera_info'
TYPES = {RAW_TOPIC: 'sensor_msgs/msg/Image', COMPRESSED_TOPIC: 'sensor_msgs/msg/CompressedImage',
         INFO_TOPIC: 'sensor_msgs/msg/CameraInfo'}
JPEG_QUALITY = 90
#: The clip's first record time (2023-11-14T22:13:20Z), nanoseconds.
START_NS = 1_700_000_000 * 10**9


def write_clip_bag(path, clip: Sequence[np.ndarray], raw: bool = True, compressed: bool = True,
                   camera_info: bool = True, storage: str = 'mcap', rate: float = 30.0) -> None:
    """A new rosbag2 bag at ``path`` with ``clip`` (BGR frames) on RAW_TOPIC and/or COMPRESSED_TOPIC, and
    with ``camera_info`` a CameraInfo per frame on INFO_TOPIC; each message at its header stamp."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    types = get_typestore(Stores.ROS2_KILTED)
    wanted = [topic for topic, on in ((RAW_TOPIC, raw), (COMPRESSED_TOPIC, compressed), (INFO_TOPIC, camera_info))
              if on]
    plugin = StoragePlugin.MCAP if storage == 'mcap' else StoragePlugin.SQLITE3
    with Writer(Path(path), version=8, storage_plugin=plugin) as writer:
        connections = {topic: writer.add_connection(topic, TYPES[topic], typestore=types) for topic in wanted}
        for index, image in enumerate(clip):
            ns = START_NS + int(round(index * 1e9 / rate))
            stamp = types.types['builtin_interfaces/msg/Time'](sec=ns // 10**9, nanosec=ns % 10**9)
            header = types.types['std_msgs/msg/Header'](stamp=stamp, frame_id='camera')
            for topic in wanted:
                writer.write(connections[topic], ns,
                             types.serialize_cdr(_message(types, topic, header, image), TYPES[topic]))


def _message(types, topic: str, header, image: np.ndarray):
    """The message of ``topic`` for one BGR frame."""
    import cv2

    height, width = image.shape[:2]
    if topic == RAW_TOPIC:
        return types.types[TYPES[topic]](header=header, height=height, width=width, encoding='bgr8', is_bigendian=0,
                                         step=width * 3, data=np.ascontiguousarray(image).reshape(-1))
    if topic == COMPRESSED_TOPIC:
        data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].reshape(-1)
        return types.types[TYPES[topic]](header=header, format='jpeg', data=data)
    return _camera_info(types, header, width, height)


def _camera_info(types, header, width: int, height: int):
    """A pinhole camera of 60 degrees horizontal field of view, without distortion."""
    focal = width / (2 * np.tan(np.radians(30)))
    region = types.types['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                                            do_rectify=False)
    return types.types['sensor_msgs/msg/CameraInfo'](
        header=header, height=height, width=width, distortion_model='plumb_bob', d=np.zeros(5),
        k=np.array([focal, 0, width / 2, 0, focal, height / 2, 0, 0, 1.0]), r=np.eye(3).reshape(-1),
        p=np.array([focal, 0, width / 2, 0, 0, focal, height / 2, 0, 0, 0, 1.0, 0]), binning_x=0, binning_y=0,
        roi=region)


def main(argv: Optional[List[str]] = None) -> int:
    from tf_pose_ros.config import parse_resolution
    from tf_pose_ros.samples import demo_frames

    parser = argparse.ArgumentParser(prog='python -m tf_pose_ros.recordings.sample_bag',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('out', metavar='OUT', help='the new bag (a directory)')
    parser.add_argument('--frames', type=int, default=30, help='(default: %(default)s)')
    parser.add_argument('--size', default='640x480', help='frame size, multiples of 16 (default: %(default)s)')
    parser.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    args = parser.parse_args(argv)
    if Path(args.out).exists():
        print('error: %s exists' % args.out, file=sys.stderr)
        return 2
    width, height = parse_resolution(args.size)
    write_clip_bag(args.out, list(demo_frames(width, height, args.frames)), storage=args.storage)
    print('wrote %s: %d frames of %dx%d on %s and %s, with %s' % (args.out, args.frames, width, height, RAW_TOPIC,
                                                                  COMPRESSED_TOPIC, INFO_TOPIC))
    return 0


if __name__ == '__main__':
    sys.exit(main())
