"""Allocator tuning so per-frame map buffers are reused instead of page-faulted in again."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# glibc mallopt() parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Freed memory glibc may keep before giving it back to the system.
TRIM_THRESHOLD = 128 << 20
#: Blocks up to this size come from the heap (32 MiB is glibc's maximum on 64-bit).
MMAP_THRESHOLD = 32 << 20


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Let glibc reuse freed multi-megabyte blocks; True when applied (False off glibc).

    Every frame allocates and frees ~20 MB of heatmap/PAF buffers. In any thread but the main one,
    glibc hands those blocks back to the system on free, so each frame page-faults them in again:
    that doubled preprocessing and postprocessing time in the node's inference thread (measured
    4.7 -> 10.1 ms at 432x368, ratio 4). The limits are process-wide; memory stays bounded by them.
    """
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release_freed_memory() -> bool:
    """Hand memory freed in every malloc arena back to the system (glibc's malloc_trim).

    The limits above let glibc keep up to TRIM_THRESHOLD of freed memory per arena for the next
    frames; after a network is unloaded that memory is not coming back into use, so a reload
    returns it at once. True when applied (False off glibc).
    """
    name = ctypes.util.find_library('c')
    try:
        malloc_trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return False
    malloc_trim.argtypes = (ctypes.c_size_t,)
    malloc_trim(0)
    return True
