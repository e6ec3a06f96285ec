"""The allocator tuning that keeps per-frame buffers from being page-faulted in again."""

import platform
import resource
import subprocess
import sys

import pytest

from tf_pose_ros.runtime.allocator import keep_freed_memory

GLIBC = platform.libc_ver()[0] == 'glibc'
BLOCK = 20 << 20  # about one frame's maps at 432x368, ratio 4

# Page faults a worker thread takes for ten allocations of BLOCK after a first one.
_PROBE = '''
import resource, sys, threading
import numpy as np
if sys.argv[1] == 'tuned':
    from tf_pose_ros.runtime.allocator import keep_freed_memory
    assert keep_freed_memory()
faults = []
def work():
    np.ones(%d, np.uint8)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(10):
        np.ones(%d, np.uint8)  # written through, as the maps are
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(faults[0])
''' % (BLOCK, BLOCK)


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, '-c', _PROBE, mode], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def test_keep_freed_memory_applies_on_glibc():
    assert keep_freed_memory() is GLIBC


@pytest.mark.skipif(not GLIBC or not hasattr(resource, 'RUSAGE_THREAD'), reason='glibc on Linux only')
def test_worker_threads_reuse_freed_frame_buffers():
    untuned, tuned = _faults('plain'), _faults('tuned')
    # Untuned, each block comes back from the system zeroed and faults in again (at least once: pages
    # may be huge pages), so the probe can tell the two apart.
    assert untuned >= 10
    assert tuned < untuned / 10, 'freed blocks were given back to the system (%d vs %d faults)' % (tuned, untuned)


@pytest.mark.skipif(not GLIBC, reason='glibc only')
def test_release_freed_memory_returns_what_the_tuning_keeps():
    probe = '''
import threading
import numpy as np
from tf_pose_ros.runtime.allocator import keep_freed_memory, release_freed_memory
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 >> 20
keep_freed_memory()
def work():
    blocks = [np.ones(8 << 20, np.uint8) for _ in range(12)]  # 96 MB in 8 MB blocks, then freed
    del blocks
thread = threading.Thread(target=work)
thread.start()
thread.join()
kept = rss()
release_freed_memory()
print(kept, rss())
'''
    out = subprocess.run([sys.executable, '-c', probe], check=True, capture_output=True, text=True)
    kept, released = (int(v) for v in out.stdout.split())
    assert kept - released > 60, 'malloc_trim gave back only %d of ~96 MB' % (kept - released)


@pytest.mark.skipif(not GLIBC, reason='glibc only')
def test_blocks_made_while_a_network_is_built_are_mapped_apart():
    # mallinfo2's hblkhd: the bytes of blocks that have mappings of their own (glibc 2.33 and later).
    probe = '''
import ctypes, ctypes.util, threading
import numpy as np
from tf_pose_ros.runtime.allocator import building_network, keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]

mallinfo2 = ctypes.CDLL(ctypes.util.find_library('c')).mallinfo2
mallinfo2.restype = Info

def mapped_for_a_block(megabytes=1):
    # Each block larger than any before it: a free chunk of the arena would serve it, whatever the threshold.
    before = mallinfo2().hblkhd
    block = np.ones(megabytes << 20, np.uint8)
    return mallinfo2().hblkhd - before

def in_a_thread(fn):
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]

with building_network():
    untuned = mapped_for_a_block()  # not applied: the process keeps glibc's own behaviour
keep_freed_memory()
tuned = in_a_thread(mapped_for_a_block)
with building_network():
    with building_network():  # a second build alongside: the first to end must not end the other
        pass
    building = in_a_thread(lambda: mapped_for_a_block(4))
after = in_a_thread(lambda: mapped_for_a_block(8))
print(untuned, tuned, building, after)
'''
    out = subprocess.run([sys.executable, '-c', probe], check=True, capture_output=True, text=True)
    untuned, tuned, building, after = (int(v) for v in out.stdout.split())
    assert untuned >= 1 << 20, 'glibc maps 1 MB blocks apart by default'
    assert tuned == 0, 'under keep_freed_memory a 1 MB block comes from the arenas'
    assert building >= 4 << 20, 'a block made while a network is built was not mapped apart'
    assert after == 0, 'the threshold was not restored after the build'
