"""Starting and running a node until Ctrl-C or shutdown, shared by the package's executables."""

from __future__ import annotations

import rclpy
from rclpy.exceptions import InvalidParameterTypeException
from rclpy.executors import ExternalShutdownException


def report_startup_failure(name: str, err: Exception) -> int:
    """Log why node ``name`` could not start, shut rclpy down and return the exit status 1."""
    hint = ''
    if isinstance(err, InvalidParameterTypeException):
        # `-p rate:=10` arrives as an integer; the commonest mistake on the command line.
        hint = ' (a floating point parameter needs a decimal point: 4.0 rather than 4)'
    rclpy.logging.get_logger(name).fatal('%s%s' % (err, hint))
    rclpy.try_shutdown()
    return 1


def spin_until_shutdown(node) -> int:
    """Spin ``node`` until Ctrl-C or shutdown, then clean up; returns 0."""
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
