"""Reading ahead on a thread of its own: the next messages are read and decoded while the network runs
(image decoding and the engine release the GIL, so on a CPU the two overlap where the engine leaves a
core idle)."""

from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator, TypeVar

Item = TypeVar('Item')
Result = TypeVar('Result')

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


def prefetched(items: Iterable[Item], work: Callable[[Item], Result], depth: int = 8) -> Iterator[Result]:
    """``work(item)`` of each of ``items``, in order, computed up to ``depth`` items ahead on a thread.

    An exception of the iteration or of ``work`` is raised here, at its place in the order; when the
    caller stops early (or is interrupted) the thread stops too before this generator closes.
    """
    ready: 'queue.Queue[object]' = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                _put(work(item))
            _put(_DONE)
        except BaseException as err:  # handed to the consumer, which raises it
            _put(_Failure(err))

    def _put(value: object) -> None:
        while not stop.is_set():
            try:
                ready.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=produce, name='bag_prefetch', daemon=True)
    thread.start()
    try:
        while True:
            value = ready.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
