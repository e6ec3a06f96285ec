"""Fast DDS settings under which camera-sized frames arrive (config/fastdds_large_frames.xml)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import List, Optional

PROFILE_FILE = 'fastdds_large_frames.xml'
PROFILE_ENV = 'FASTDDS_DEFAULT_PROFILES_FILE'
#: Any of these set means the user configured Fast DDS: theirs wins.
_USER_SETTINGS = (PROFILE_ENV, 'FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_BUILTIN_TRANSPORTS')


def _candidates() -> List[Path]:
    prefixes = os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) + [sys.prefix]
    paths = [Path(p) / 'share' / 'tf_pose_ros' / 'config' / PROFILE_FILE for p in prefixes if p]
    # A source checkout (the symlink install points here too).
    paths.append(Path(__file__).resolve().parents[2] / 'config' / PROFILE_FILE)
    return paths


def profile_path() -> Optional[Path]:
    """The installed profile file, or None when it cannot be found."""
    return next((path for path in _candidates() if path.is_file()), None)


def use_large_frame_transport() -> Optional[str]:
    """Point Fast DDS at the large-frame profile unless the user configured it; call before rclpy.init.

    Returns the profile set, or None (another RMW, the user's own settings, or no profile file).
    Only this process is affected; the frames' publisher needs it too (docs/cameras.md, "Troubleshooting").
    """
    rmw = os.environ.get('RMW_IMPLEMENTATION', 'rmw_fastrtps_cpp')
    if not rmw.startswith('rmw_fastrtps') or any(os.environ.get(name) for name in _USER_SETTINGS):
        return None
    path = profile_path()
    if path is None:
        return None
    os.environ[PROFILE_ENV] = str(path)
    return str(path)
