"""Starting and running a node until Ctrl-C or shutdown, shared by the package's executables."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, Iterable, Optional, Sequence, Tuple

import rclpy
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

from tf_pose_ros.ros.fastdds_profile import use_large_frame_transport
from tf_pose_ros.ros.log_bridge import forward_package_logging
from tf_pose_ros.runtime.allocator import keep_freed_memory


def report_startup_failure(name: str, err: Exception) -> int:
    """Log why node ``name`` could not start, shut rclpy down and return the exit status 1."""
    hint = ''
    if isinstance(err, InvalidParameterTypeException):
        # `-p rate:=10` arrives as an integer; the commonest mistake on the command line.
        hint = ' (a floating point parameter needs a decimal point: 4.0 rather than 4)'
    rclpy.logging.get_logger(name).fatal('%s%s' % (err, hint))
    rclpy.try_shutdown()
    return 1


#: Seconds a finished node keeps spinning, so its last messages reach reliable subscribers.
LINGER_S = 0.5


def spin_until_shutdown(node, finished: Optional[Callable[[], bool]] = None) -> int:
    """Spin ``node`` until Ctrl-C, shutdown or ``finished()``, then clean up; returns 0."""
    try:
        if finished is None:
            rclpy.spin(node)
        else:
            while rclpy.ok() and not finished():
                rclpy.spin_once(node, timeout_sec=0.1)
            deadline = time.monotonic() + LINGER_S
            while rclpy.ok() and time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # A second Ctrl-C must not cut the clean-up short: a terminal sends SIGINT to the process
        # group and `ros2 launch` sends its own, so a launched node often gets two.
        _ignore_sigint()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _ignore_sigint() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def wants_help(args: Optional[Sequence[str]] = None) -> bool:
    """True when the command line (outside --ros-args) asks for -h or --help."""
    from rclpy.utilities import remove_ros_args

    return any(arg in ('-h', '--help') for arg in remove_ros_args(args)[1:])


def usage(program: str, description: str, params: Iterable[Tuple[str, Any, str]]) -> str:
    """The --help text of a node executable: how to set parameters, then each one's default and help."""
    lines = ['usage: %s [--ros-args -p NAME:=VALUE ...]' % program, '', description, '', 'parameters:']
    for name, default, help_text in params:
        lines.append('  %-20s %-14s %s' % (name, repr(default), help_text))
    lines += ['', 'Floating point values need a decimal point (-p rate:=10.0).']
    return '\n'.join(lines)


def run_node(node_class, program: str, description: str, params: Iterable[Tuple[str, Any, str]],
             args: Optional[Sequence[str]] = None) -> int:
    """Start ``node_class`` as the executable ``program`` (``params``: name, default, help for --help) and
    spin it until shutdown."""
    if wants_help(args):
        print(usage(program, description, params))
        return 0
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(args=args)
    keep_freed_memory()  # frames are processed in a thread of their own
    forward_package_logging(rclpy.logging.get_logger(program))  # e.g. a first-use conversion's progress
    try:
        node = node_class()
    except Exception as err:  # e.g. upsample_ratio:=4 where a float is declared, or a bad topic name
        return report_startup_failure(program, err)
    # A single-threaded executor: with rclpy's MultiThreadedExecutor a third of a 30 Hz stream never
    # reached the callback while inference ran (measured with node_bench); a reload pauses intake instead.
    return spin_until_shutdown(node)


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
