"""The core's Python log records (model conversion, engine fallbacks) in the node's ROS log."""

from __future__ import annotations

import logging

_LEVELS = ((logging.ERROR, 'error'), (logging.WARNING, 'warning'), (logging.INFO, 'info'))


class RosLogHandler(logging.Handler):
    """Forwards Python logging records to an rclpy logger, at the matching severity."""

    def __init__(self, ros_logger):
        super().__init__()
        self._ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        method = next((name for level, name in _LEVELS if record.levelno >= level), 'debug')
        try:
            getattr(self._ros_logger, method)(self.format(record))
        except Exception:  # logging must never take the node down
            self.handleError(record)


def forward_package_logging(ros_logger) -> RosLogHandler:
    """Send the tf_pose_ros package's INFO and louder records to ``ros_logger`` (once per process)."""
    package = logging.getLogger('tf_pose_ros')
    for handler in list(package.handlers):
        if isinstance(handler, RosLogHandler):
            package.removeHandler(handler)
    handler = RosLogHandler(ros_logger)
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    package.propagate = False
    return handler
