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
