"""The message types a processed bag is written with: ROS 2's standard ones and tf_pose_ros/msg/Persons,
registered from the package's msg/*.msg files so that the bag stores their definitions."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, List

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'
#: The topics' types the bag command processes.
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
PERSONS = 'tf_pose_ros/msg/Persons'
#: The package's messages, dependencies first.
OWN_MESSAGES = ('Keypoint', 'Person', 'Persons')
PACKAGE = 'tf_pose_ros'


class MessageDefinitionsNotFound(RuntimeError):
    """The package's msg/*.msg files are in none of the places searched."""


def definition_dirs() -> List[Path]:
    """Where msg/Persons.msg is looked for: the source checkout, this environment's share/, and
    each AMENT_PREFIX_PATH entry's share/ (a colcon install)."""
    dirs = [Path(__file__).resolve().parents[2] / 'msg', Path(sys.prefix) / 'share' / PACKAGE / 'msg']
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        if prefix:
            dirs.append(Path(prefix) / 'share' / PACKAGE / 'msg')
    return dirs


def definitions_dir() -> Path:
    """The first of definition_dirs() holding every message of OWN_MESSAGES."""
    for directory in definition_dirs():
        if all((directory / ('%s.msg' % name)).is_file() for name in OWN_MESSAGES):
            return directory
    raise MessageDefinitionsNotFound('the %s message definitions (msg/Persons.msg) are in none of %s'
                                     % (PACKAGE, ', '.join(str(d) for d in definition_dirs())))


@functools.lru_cache(maxsize=1)
def output_typestore() -> Any:
    """rosbags' ROS 2 Kilted types with tf_pose_ros' messages added (their hashes are rosidl's)."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    directory = definitions_dir()
    types: dict = {}
    for name in OWN_MESSAGES:
        types.update(get_types_from_msg((directory / ('%s.msg' % name)).read_text(), '%s/msg/%s' % (PACKAGE, name)))
    store.register(types)
    return store
