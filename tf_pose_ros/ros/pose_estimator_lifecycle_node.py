"""``pose_estimator_lifecycle``: the pose_estimator as a managed (lifecycle) node.

configure loads the model and creates the publishers; activate subscribes to the camera and starts
inference; deactivate unsubscribes (the camera stops sending frames here) and stops inference;
cleanup closes the network and frees its memory. Parameters and topics are the plain node's.
"""

from __future__ import annotations

from typing import Callable

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from tf_pose_ros.ros.node_parameters import help_rows
from tf_pose_ros.ros.pose_node_base import NODE_NAME, PoseNodeBase
from tf_pose_ros.ros.spinning import run_node

DESCRIPTION = ('Multi-person pose estimation as a lifecycle node: configure loads the model, activate '
               'subscribes to the camera; then as pose_estimator.')


class PoseEstimatorLifecycleNode(PoseNodeBase, LifecycleNode):
    """Multi-person pose estimation on an image topic, managed through lifecycle transitions."""

    def __init__(self, **kwargs):
        super().__init__(NODE_NAME, **kwargs)
        self._declare_parameters()
        self._model.preloads = False  # parameter changes only take effect at configure
        self._has_outputs = False
        self._enabled = False  # inference runs only while active

    # rclpy turns an exception in a transition into ERROR without a word: each is logged here, and
    # on_error then undoes whatever the failed transition had set up.
    def _transition(self, name: str, step: Callable[[], TransitionCallbackReturn]) -> TransitionCallbackReturn:
        try:
            return step()
        except Exception as err:
            self.get_logger().error('%s failed: %s' % (name, err))
            return TransitionCallbackReturn.ERROR

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model (FAILURE, back to unconfigured, when it does not load) and create the publishers."""
        def configure():
            if not self._model.load(self.config):
                return TransitionCallbackReturn.FAILURE
            self._model.preloads = True
            self._create_outputs(self.create_lifecycle_publisher)
            self._has_outputs = True
            return TransitionCallbackReturn.SUCCESS
        return self._transition('configure', configure)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Activate the publishers, then subscribe and start inference."""
        def activate():
            result = LifecycleNode.on_activate(self, state)
            self._enabled = True
            self._create_inputs()
            self._start_worker()
            return result
        return self._transition('activate', activate)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe and stop inference (the frame in progress is published), then the publishers."""
        def deactivate():
            self._stop_inference()
            return LifecycleNode.on_deactivate(self, state)
        return self._transition('deactivate', deactivate)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Destroy the publishers and close the network."""
        return self._transition('cleanup', self._release)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Whatever the state: stop inference, release everything."""
        self._stop_inference()
        return self._transition('shutdown', self._release)

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """After a failed transition: stop and release everything, back to unconfigured."""
        self._stop_inference()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop_inference(self) -> None:
        self._enabled = False
        self._destroy_inputs()
        self._stop_worker()

    def _release(self) -> TransitionCallbackReturn:
        if self._has_outputs:
            self._destroy_outputs(self.destroy_lifecycle_publisher)
            self._has_outputs = False
        self._model.preloads = False
        self._model.unload()
        return TransitionCallbackReturn.SUCCESS


def main(args=None) -> int:
    """Entry point of ``pose_estimator_lifecycle``."""
    return run_node(PoseEstimatorLifecycleNode, 'pose_estimator_lifecycle', DESCRIPTION, help_rows(), args)


if __name__ == '__main__':
    raise SystemExit(main())
