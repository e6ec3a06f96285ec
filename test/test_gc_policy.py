"""Freezing what a load leaves alive, and finding the old network's garbage on the next load."""

import gc
import weakref

from tf_pose_ros.runtime.gc_policy import freeze_loaded_objects


class _Node:
    pass


def test_frozen_objects_are_out_of_sight_until_the_next_load():
    loaded = _Node()
    loaded.self = loaded  # a reference cycle, as a TensorFlow graph has: only the collector frees it
    alive = weakref.ref(loaded)
    try:
        assert freeze_loaded_objects() > 0
        del loaded
        gc.collect()
        assert alive() is not None, 'a frozen cycle was collected'
        # The next load unfreezes first, so the dropped cycle is found and freed.
        freeze_loaded_objects()
        assert alive() is None
    finally:
        gc.unfreeze()
