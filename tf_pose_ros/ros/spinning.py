"""Starting and running a node until Ctrl-C, SIGTERM or shutdown, shared by the package's executables.

rclpy's signal handler shuts the context down from a thread of its own (SIGINT also raises
KeyboardInterrupt in the main thread), so the main thread's next rclpy call may fail at any point:
spinning raises ExternalShutdownException, and a call that needs the context raises RCLError, e.g. the
timer a timed spin_once creates ('failed to create timer: the given context is not valid'); a call the
signal interrupts may fail even before the context is down. Such an error is the stop, not a failure
(stopped_by_signal).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Tuple, Type

import rclpy
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from tf_pose_ros.ros.fastdds_profile import use_large_frame_transport
from tf_pose_ros.ros.log_bridge import forward_package_logging
from tf_pose_ros.runtime.allocator import keep_freed_memory

#: Start-up errors that get a FATAL line instead of a traceback, unless the executable names others.
STARTUP_ERRORS: Tuple[Type[BaseException], ...] = (Exception,)


def type_hint(err: InvalidParameterTypeException) -> str:
    """What to write instead, for a parameter given on the command line as the wrong type ('' if unknown)."""
    found = re.search(r"parameter '([^']*)' .* expecting type '(\w+)'", str(err))
    name, expected = found.groups() if found else ('NAME', '')
    if expected.startswith('DOUBLE'):
        # `-p rate:=10` arrives as an integer; the commonest mistake on the command line.
        return ' (a floating point parameter needs a decimal point: 4.0 rather than 4)'
    if expected.startswith('STRING'):
        # ROS reads text that looks like a number or a boolean as one: -p frame_id:=0x10, -p source:=true.
        return " (quote text that ROS would read as a number or a boolean: -p \"%s:='TEXT'\")" % name
    return ''


def report_startup_failure(name: str, err: Exception) -> int:
    """Log why node ``name`` could not start, shut rclpy down and return the exit status 1."""
    hint = type_hint(err) if isinstance(err, InvalidParameterTypeException) else ''
    rclpy.logging.get_logger(name).fatal('%s%s' % (err, hint))
    rclpy.try_shutdown()
    return 1


#: Seconds an error waits for the context to go down before it counts as a failure rather than a stop.
SHUTDOWN_GRACE_S = 0.5


def stopped_by_signal(err: BaseException, context=None, grace_s: float = SHUTDOWN_GRACE_S) -> bool:
    """Whether ``err`` is how Ctrl-C, SIGTERM or a shutdown of ``context`` (default: rclpy's) surfaces."""
    if isinstance(err, (KeyboardInterrupt, ExternalShutdownException)):
        return True
    if not isinstance(err, Exception):
        return False
    context = context if context is not None else rclpy.utilities.get_default_context()
    # A Ctrl-C inside an rclpy call can fail it before the signal thread has taken the context down (pybind11
    # turns the interrupt into 'RuntimeError: Unable to convert call argument'), so give that thread a moment.
    deadline = time.monotonic() + grace_s
    while context.ok():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


class Stop:
    """What until_stopped() yields: ``stopped`` once a signal or shutdown ended the block."""

    def __init__(self) -> None:
        self.stopped = False


@contextmanager
def until_stopped(context=None) -> Iterator[Stop]:
    """Ends the block quietly when Ctrl-C, SIGTERM or a shutdown of ``context`` stops it (stopped_by_signal)."""
    stop = Stop()
    try:
        yield stop
    except BaseException as err:
        if not stopped_by_signal(err, context):
            raise
        stop.stopped = True


#: Seconds a finished node keeps spinning, so its last messages reach reliable subscribers.
LINGER_S = 0.5


def spin_until_shutdown(node, finished: Optional[Callable[[], bool]] = None,
                        executor: Optional[SingleThreadedExecutor] = None) -> int:
    """Spin ``node`` (in ``executor``, by default a new single-threaded one) until Ctrl-C, SIGTERM, shutdown or
    ``finished()``, then clean up; returns 0."""
    context = node.context
    try:
        # Not a `with until_stopped()`: a Ctrl-C can land while such a block is being entered, and escaped it.
        executor = executor or SingleThreadedExecutor(context=context)
        executor.add_node(node)
        if finished is None:
            executor.spin()
        else:
            while context.ok() and not finished():
                executor.spin_once(timeout_sec=0.1)
            deadline = time.monotonic() + LINGER_S
            while context.ok() and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.05)
    except BaseException as err:
        if not stopped_by_signal(err, context):
            raise
    finally:
        # A second Ctrl-C must not cut the clean-up short: a terminal sends SIGINT to the process
        # group and `ros2 launch` sends its own, so a launched node often gets two.
        _ignore_sigint()
        if executor is not None:
            executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
    return 0


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def quiet_interrupted_finalizers() -> None:
    """Drop a Ctrl-C that lands in an object's finalizer (e.g. rclpy's ``Future.__del__``) instead of printing it.

    Python cannot raise there, so it prints the KeyboardInterrupt with a traceback and goes on; the stop
    still comes, from rclpy's signal handler shutting the context down. Other unraisable errors are
    passed to the hook that was in place.
    """
    previous = sys.unraisablehook
    if getattr(previous, 'drops_interrupts', False):
        return

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)
    hook.drops_interrupts = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def run(program: str, make_node: Callable[[], Any], args: Optional[Sequence[str]] = None,
        finished: Optional[Callable[[Any], bool]] = None,
        startup_errors: Tuple[Type[BaseException], ...] = STARTUP_ERRORS) -> int:
    """Initialise rclpy with ``args``, make the executable ``program``'s node and spin it until Ctrl-C,
    SIGTERM, shutdown or ``finished(node)``. The exit status: 0, or 1 after a FATAL line for a start-up
    error of ``startup_errors``; a signal while starting (a model load takes seconds) exits 0 too."""
    quiet_interrupted_finalizers()
    try:
        use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
        rclpy.init(args=args)
        # Made before the node, which takes seconds to make: an executor cannot be made once a signal has shut
        # the context down (and rclpy prints a traceback from the half-made one's __del__).
        executor = SingleThreadedExecutor()
        node = make_node()
    except BaseException as err:
        if stopped_by_signal(err):
            rclpy.try_shutdown()
            return 0
        if isinstance(err, startup_errors):
            return report_startup_failure(program, err)
        raise
    try:
        return spin_until_shutdown(node, None if finished is None else lambda: finished(node), executor)
    except KeyboardInterrupt:  # a Ctrl-C just before the spin's own handling: the stop, not a failure
        rclpy.try_shutdown()
        return 0


def wants_help(args: Optional[Sequence[str]] = None) -> bool:
    """True when the command line (outside --ros-args) asks for -h or --help."""
    from rclpy.utilities import remove_ros_args

    return any(arg in ('-h', '--help') for arg in remove_ros_args(args)[1:])


def usage(program: str, description: str, params: Iterable[Tuple[str, Any, str]]) -> str:
    """The --help text of a node executable: how to set parameters, then each one's default and help."""
    lines = ['usage: %s [--ros-args -p NAME:=VALUE ...]' % program, '', description, '', 'parameters:']
    for name, default, help_text in params:
        lines.append('  %-20s %-14s %s' % (name, repr(default), help_text))
    lines += ['', 'Floating point values need a decimal point (-p rate:=10.0); text that ROS would read as a number',
              "or a boolean needs quotes (-p \"frame_id:='0x10'\")."]
    return '\n'.join(lines)


def run_node(node_class, program: str, description: str, params: Iterable[Tuple[str, Any, str]],
             args: Optional[Sequence[str]] = None) -> int:
    """Start ``node_class`` as the executable ``program`` (``params``: name, default, help for --help) and
    spin it until shutdown."""
    if wants_help(args):
        print(usage(program, description, params))
        return 0

    def make_node():
        keep_freed_memory()  # frames are processed in a thread of their own
        forward_package_logging(rclpy.logging.get_logger(program))  # e.g. a first-use conversion's progress
        return node_class()
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return run(program, make_node, args)


def spin_in_background(node):
    """Spin ``node`` in a single-threaded executor (as the executables do) on a thread; returns the function
    that stops it (benchmarks that measure from the main thread)."""
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.1)

    # Stopped by an event rather than executor.shutdown() from this thread, which races the spinning one.
    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()

    def stop_spinning():
        stop.set()
        spinner.join(timeout=10.0)
        executor.shutdown()
    return stop_spinning
