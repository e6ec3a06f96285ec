"""Keeping the garbage collector's full passes short in a long-running process.

TensorFlow alone leaves ~370,000 Python objects alive after loading a network. Every full
collection walks all of them (50-190 ms in the node, every few seconds), stalling the frame in
flight. Freezing what exists after a load moves it out of the collector's sight; a reload unfreezes
first, so the old network's reference cycles can be found and freed.
"""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> int:
    """Collect, then freeze every object alive now; returns how many are frozen.

    Call after loading a network (and again after each reload); objects that became garbage while
    frozen are found by this call's collection, because it unfreezes first.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
