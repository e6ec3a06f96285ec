"""Where numba keeps the machine code of the compiled stages (peaks, grouping), and the decorator they use.

numba caches beside the sources (``__pycache__``), or in its user cache (``~/.cache/numba``) when the
install is read-only (a system-wide ROS install, say). Where neither can be written, caching is
turned off rather than failing at import: every start then compiles again (seconds), and
:func:`cache_report` says why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Tuple

import numba

from tf_pose_ros.runtime.writable_dirs import can_write_dir

# As imported (numba keys its in-tree cache on the path the module was loaded from, links unresolved).
_PACKAGE_DIR = Path(__file__).parents[1]


def numba_user_cache_dir() -> Path:
    """numba's own user-wide cache directory (its fallback for read-only installs)."""
    from numba.misc.appdirs import AppDirs

    return Path(AppDirs(appname='numba', appauthor=False).user_cache_dir)


def choose_cache_dir(package_dir: Path, user_dir: Path) -> Tuple[Optional[Path], str]:
    """Where compiled code goes for sources in ``package_dir``: (directory or None, reason for the choice)."""
    in_tree = package_dir / '__pycache__'
    if can_write_dir(in_tree):
        return in_tree, 'beside the sources'
    if can_write_dir(user_dir):
        return user_dir, '%s cannot be written (read-only install): the user cache instead' % in_tree
    return None, ('neither %s nor %s can be written: compiled code is not cached, so every start compiles '
                  'the post-processing again (several seconds)' % (in_tree, user_dir))


def _configured() -> Tuple[Optional[Path], str]:
    if os.environ.get('NUMBA_CACHE_DIR'):
        user_given = Path(os.environ['NUMBA_CACHE_DIR'])
        if can_write_dir(user_given):
            return user_given, 'NUMBA_CACHE_DIR'
    return choose_cache_dir(_PACKAGE_DIR, numba_user_cache_dir())


CACHE_DIR, CACHE_REASON = _configured()


def njit(function: Callable) -> Callable:
    """numba.njit for the pipeline's hot loops: no GIL, cached on disk where a cache can be written."""
    return numba.njit(cache=CACHE_DIR is not None, nogil=True)(function)


def cache_report() -> str:
    """One line for the log: where compiled code is cached, and why there."""
    if CACHE_DIR is None:
        return 'compiled code not cached: %s' % CACHE_REASON
    return 'compiled code cached in %s (%s)' % (CACHE_DIR, CACHE_REASON)
