"""Starting and running a node until Ctrl-C, SIGTERM or shutdown, shared by the package's executables.

A signal is a request that the main thread carries out (StopSignals): it ends the spin and takes the
executor, the nodes and the context down in that order. rclpy's own signal handlers stay off: they shut
work from a thread of their own while the main thread goes on: rclpy calls failed at random points
('failed to create timer: the given context is not valid'), a KeyboardInterrupt landed in clean-up
code, and the thread triggered executor guard conditions that the clean-up was freeing, which now
and then crashed the process (test_stopping.py makes that race certain).
"""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple, Type

import rclpy
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions

from tf_pose_ros.ros.fastdds_profile import use_large_frame_transport
from tf_pose_ros.ros.log_bridge import forward_package_logging
from tf_pose_ros.runtime.allocator import keep_freed_memory

#: Start-up errors that get a FATAL line instead of a traceback, unless the executable names others.
STARTUP_ERRORS: Tuple[Type[BaseException], ...] = (Exception,)

#: Seconds between two looks at a stop request while the executor has nothing to do.
SPIN_PERIOD_S = 0.1


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


class StopSignals:
    """SIGINT (Ctrl-C) and SIGTERM as a stop request of an executable's main thread.

    While the executable starts (until ``started()``) the first signal also raises KeyboardInterrupt, so a
    model load of seconds does not hold the stop up; from then on a signal only sets ``requested``,
    which the spin loop sees within SPIN_PERIOD_S. A second signal never interrupts: a terminal sends
    SIGINT to the process group and ``ros2 launch`` sends its own, so a launched node often gets two.
    A stop that comes while a callback runs (a network reload) takes effect when the callback returns.
    """

    def __init__(self) -> None:
        self.requested = False
        self.interrupting = True

    def install(self) -> 'StopSignals':
        """Take SIGINT and SIGTERM over (main thread only); returns self."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, self._on_signal)
        return self

    def started(self) -> None:
        """From now on a signal only requests the stop."""
        self.interrupting = False

    def _on_signal(self, signum, frame) -> None:
        self.requested = True
        if self.interrupting:
            self.interrupting = False
            raise KeyboardInterrupt


def init_rclpy(args: Optional[Sequence[str]] = None) -> None:
    """rclpy.init for an executable that handles its signals with StopSignals, with the large-frame transport."""
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


def ended_by_shutdown(err: BaseException, context) -> bool:
    """Whether ``err`` is how a shutdown of ``context`` (by another part of the process) surfaces in a spin:
    ExternalShutdownException, or an rclpy call that failed because the context is down."""
    return isinstance(err, ExternalShutdownException) or (isinstance(err, Exception) and not context.ok())


#: Seconds a finished node keeps spinning, so its last messages reach reliable subscribers.
LINGER_S = 0.5


def spin_until_shutdown(node, finished: Optional[Callable[[], bool]] = None,
                        executor: Optional[SingleThreadedExecutor] = None,
                        stop: Optional[StopSignals] = None) -> int:
    """Spin ``node`` (in ``executor``, by default a new single-threaded one) until ``stop`` is requested, the
    context shuts down or ``finished()``, then destroy the executor, the node and the context; returns 0."""
    context = node.context
    stop = stop if stop is not None else StopSignals()  # not installed: only shutdown or finished() end it
    executor = executor or SingleThreadedExecutor(context=context)
    try:
        executor.add_node(node)
        while context.ok() and not stop.requested and not (finished is not None and finished()):
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
        deadline = time.monotonic() + LINGER_S
        while finished is not None and context.ok() and not stop.requested and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    except BaseException as err:
        if not ended_by_shutdown(err, context):
            raise
    finally:
        executor.shutdown()
        node.destroy_node()
        context.try_shutdown()
    return 0


def quiet_interrupted_finalizers() -> None:
    """Drop a Ctrl-C that lands in an object's finalizer (e.g. rclpy's ``Future.__del__``) instead of printing it.

    Python cannot raise there, so it prints the KeyboardInterrupt with a traceback and goes on; the stop
    still comes, as StopSignals has marked it. Other unraisable errors are passed to the hook that was in
    place.
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
    stop = StopSignals().install()
    quiet_interrupted_finalizers()
    node = None
    try:
        init_rclpy(args)
        executor = SingleThreadedExecutor()
        node = make_node()
        stop.started()
    except BaseException as err:
        if node is not None:
            node.destroy_node()
        if stop.requested:  # the KeyboardInterrupt, or whatever the interrupted call raised instead
            rclpy.try_shutdown()
            return 0
        if isinstance(err, startup_errors):
            return report_startup_failure(program, err)
        raise
    return spin_until_shutdown(node, None if finished is None else lambda: finished(node), executor, stop)


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
