"""Allocator tuning: per-frame map buffers are reused instead of page-faulted in again, and what a network
build allocates is mapped apart, so closing the network gives it back."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
from contextlib import contextmanager
from typing import Iterator

# glibc mallopt() parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Freed memory glibc may keep before giving it back to the system.
TRIM_THRESHOLD = 128 << 20
#: Blocks up to this size come from the heap (32 MiB is glibc's maximum on 64-bit).
MMAP_THRESHOLD = 32 << 20
#: While a network is built, blocks from this size up get a mapping of their own (glibc's initial threshold).
BUILD_MMAP_THRESHOLD = 128 << 10


class _Tuning:
    """Whether keep_freed_memory applied its limits, and how many network builds are under way."""

    lock = threading.Lock()
    kept = False
    builds = 0


@functools.lru_cache(maxsize=None)
def _libc_function(name: str, *argtypes):
    """The C library's function ``name`` taking ``argtypes``, or None off glibc (looked up once: every build and
    reload asks)."""
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library('c')), name)
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = argtypes
    return function


def _mallopt():
    return _libc_function('mallopt', ctypes.c_int, ctypes.c_int)


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Let glibc reuse freed multi-megabyte blocks; True when applied (False off glibc).

    Every frame allocates and frees ~20 MB of heatmap/PAF buffers. In any thread but the main one,
    glibc hands those blocks back to the system on free, so each frame page-faults them in again:
    that doubled preprocessing and postprocessing time in the node's inference thread (measured
    4.7 -> 10.1 ms at 432x368, ratio 4). The limits are process-wide; memory stays bounded by them.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    with _Tuning.lock:
        _Tuning.kept = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(
            mallopt(_M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD if _Tuning.builds else MMAP_THRESHOLD))
        return _Tuning.kept


@contextmanager
def building_network() -> Iterator[None]:
    """While a network is built (compiled and run once per input size), its blocks of BUILD_MMAP_THRESHOLD and more
    get mappings of their own, so closing the network unmaps them whole.

    Under keep_freed_memory's limits those blocks are carved out of the threads' malloc arenas, where
    allocations that outlive the network pin them: every switch of the node's ``preset`` and back left
    2-25 MB more (measured: 367 -> 407 MB over four such pairs; with the lower threshold during builds
    the memory stayed flat after the first pair). Frames inferred meanwhile take their buffers from
    mappings too, for the fraction of a second a build takes. Nothing changes where keep_freed_memory
    has not applied its limits (they are process-wide).
    """
    mallopt = _mallopt()
    with _Tuning.lock:
        if _Tuning.kept and mallopt is not None and _Tuning.builds == 0:
            mallopt(_M_MMAP_THRESHOLD, BUILD_MMAP_THRESHOLD)
        _Tuning.builds += 1
    try:
        yield
    finally:
        with _Tuning.lock:
            _Tuning.builds -= 1
            if _Tuning.kept and mallopt is not None and _Tuning.builds == 0:
                mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_freed_memory() -> bool:
    """Hand memory freed in every malloc arena back to the system (glibc's malloc_trim).

    The limits above let glibc keep up to TRIM_THRESHOLD of freed memory per arena for the next
    frames; after a network is unloaded that memory is not coming back into use, so a reload
    returns it at once. True when applied (False off glibc).
    """
    malloc_trim = _libc_function('malloc_trim', ctypes.c_size_t)
    if malloc_trim is None:
        return False
    malloc_trim(0)
    return True
