"""The ``pose_estimator`` node: camera images in, Persons (and an annotated image, RViz markers) out.

It loads the model and subscribes at start-up; ``~/enable`` (std_srvs/SetBool) pauses and resumes
inference without unloading the model. ``pose_estimator_lifecycle`` is the managed variant.
"""

from __future__ import annotations

from rclpy.node import Node
from std_srvs.srv import SetBool

from tf_pose_ros.ros.node_parameters import help_rows
from tf_pose_ros.ros.pose_node_base import NODE_NAME, PoseNodeBase
from tf_pose_ros.ros.spinning import run_node

DESCRIPTION = ('Multi-person pose estimation: sensor_msgs/Image in, tf_pose_ros/Persons on ~/persons, '
               'visualization_msgs/MarkerArray on ~/markers out.')


class PoseEstimatorNode(PoseNodeBase, Node):
    """Multi-person pose estimation on an image topic."""

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._declare_parameters()
        self._model.load(self.config)
        self._create_outputs(self.create_publisher)
        self.enable_service = self.create_service(SetBool, '~/enable', self._on_enable)
        self._create_inputs()
        self._start_worker()

    def _on_enable(self, request, response):
        """~/enable: pause or resume inference; the model stays loaded, paused frames are counted."""
        self._enabled = bool(request.data)
        response.success = True
        response.message = 'inference %s' % ('running' if self._enabled else 'paused')
        self.get_logger().info(response.message)
        return response


def main(args=None) -> int:
    """Entry point of ``pose_estimator``."""
    return run_node(PoseEstimatorNode, 'pose_estimator', DESCRIPTION, help_rows(), args)


if __name__ == '__main__':
    raise SystemExit(main())
