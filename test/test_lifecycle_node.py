"""pose_estimator_lifecycle driven through its real lifecycle services, with real frames."""

import threading
import time

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from node_harness import QOS, wait_for  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tf_pose_ros.msg import Persons  # noqa: E402
from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg  # noqa: E402
from tf_pose_ros.ros.pose_estimator_lifecycle_node import PoseEstimatorLifecycleNode  # noqa: E402

pytestmark = pytest.mark.ros


class Manager:
    """What a lifecycle manager does: calls the node's change_state and get_state services."""

    def __init__(self, context, ns):
        self.node = Node('manager', namespace=ns, context=context)
        self.change = self.node.create_client(ChangeState, ns + '/pose_estimator/change_state')
        self.get = self.node.create_client(GetState, ns + '/pose_estimator/get_state')
        self.image_pub = self.node.create_publisher(Image, ns + '/image_raw', QOS)
        self.persons = []
        self.node.create_subscription(Persons, ns + '/pose_estimator/persons', self.persons.append, 10)

    def _call(self, client, request):
        assert client.wait_for_service(timeout_sec=10.0)
        future = client.call_async(request)
        wait_for(future.done, what='the %s service' % client.srv_name)
        return future.result()

    def transition(self, transition_id):
        return self._call(self.change, ChangeState.Request(transition=Transition(id=transition_id))).success

    def state(self):
        return self._call(self.get, GetState.Request()).current_state.label

    def infer(self, image, sec):
        header = Header(frame_id='camera')
        header.stamp.sec = sec
        self.image_pub.publish(bgr8_to_image_msg(image, header))
        wait_for(lambda: any(p.header.stamp.sec == sec for p in list(self.persons)), what='Persons for %d' % sec)
        return [p for p in self.persons if p.header.stamp.sec == sec][-1]


@pytest.fixture
def lifecycle(ros_context, mobilenet_thin_path, request):
    ns = '/lc_%s' % request.node.name[5:25]  # a namespace (and logger) per test
    node = PoseEstimatorLifecycleNode(context=ros_context, namespace=ns, parameter_overrides=[
        Parameter('device', value='cpu'), Parameter('qos_reliability', value='reliable')])
    manager = Manager(ros_context, ns)
    executor = MultiThreadedExecutor(num_threads=3, context=ros_context)
    executor.add_node(node)
    executor.add_node(manager.node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    yield node, manager
    executor.shutdown()
    node.destroy_node()
    manager.node.destroy_node()


def test_transitions_load_subscribe_unsubscribe_and_free(lifecycle, astronaut):
    node, manager = lifecycle
    assert manager.state() == 'unconfigured'
    assert node.estimator is None and manager.image_pub.get_subscription_count() == 0

    # A model that does not load fails configure and leaves the node unconfigured, ready to retry.
    node.set_parameters([Parameter('model_path', value='/nonexistent/graph_opt.pb')])
    assert not manager.transition(Transition.TRANSITION_CONFIGURE)
    assert manager.state() == 'unconfigured' and node.estimator is None
    node.set_parameters([Parameter('model_path', value='')])

    assert manager.transition(Transition.TRANSITION_CONFIGURE)
    assert manager.state() == 'inactive'
    assert node.estimator is not None
    time.sleep(0.5)
    assert manager.image_pub.get_subscription_count() == 0  # inactive: the camera sends nothing here

    assert manager.transition(Transition.TRANSITION_ACTIVATE)
    assert manager.state() == 'active'
    wait_for(lambda: manager.image_pub.get_subscription_count() == 1, what='the image subscription')
    assert len(manager.infer(astronaut, 1).persons) == 1

    assert manager.transition(Transition.TRANSITION_DEACTIVATE)
    assert manager.state() == 'inactive'
    wait_for(lambda: manager.image_pub.get_subscription_count() == 0, what='the camera to be released')
    assert node.estimator is not None  # the model stays loaded while inactive

    assert manager.transition(Transition.TRANSITION_ACTIVATE)  # and comes back without reloading
    wait_for(lambda: manager.image_pub.get_subscription_count() == 1, what='the image subscription')
    assert len(manager.infer(astronaut, 2).persons) == 1

    assert manager.transition(Transition.TRANSITION_DEACTIVATE)
    assert manager.transition(Transition.TRANSITION_CLEANUP)
    assert manager.state() == 'unconfigured'
    assert node.estimator is None

    assert manager.transition(Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
    assert manager.state() == 'finalized'


def test_shutdown_while_active_releases_everything(lifecycle, astronaut):
    node, manager = lifecycle
    assert manager.transition(Transition.TRANSITION_CONFIGURE)
    assert manager.transition(Transition.TRANSITION_ACTIVATE)
    wait_for(lambda: manager.image_pub.get_subscription_count() == 1, what='the image subscription')
    assert manager.infer(astronaut, 3).persons
    assert manager.transition(Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert manager.state() == 'finalized'
    wait_for(lambda: manager.image_pub.get_subscription_count() == 0, what='the camera to be released')
    assert node.estimator is None


def test_console_entry_point_is_a_lifecycle_node(ros_context, mobilenet_thin_path, astronaut):
    """The installed `pose_estimator_lifecycle` executable, managed from this process."""
    import os
    import subprocess
    import sys

    exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator_lifecycle')
    if not os.path.exists(exe):
        pytest.fail('%s missing: run `make setup`' % exe)
    ns = '/lc_process'
    proc = subprocess.Popen([exe, '--ros-args', '-r', '__ns:=' + ns, '-p', 'device:=cpu',
                             '-p', 'qos_reliability:=reliable'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    manager = Manager(ros_context, ns)
    executor = MultiThreadedExecutor(num_threads=2, context=ros_context)
    executor.add_node(manager.node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        assert manager.state() == 'unconfigured'
        assert manager.transition(Transition.TRANSITION_CONFIGURE)
        assert manager.transition(Transition.TRANSITION_ACTIVATE)
        wait_for(lambda: manager.image_pub.get_subscription_count() == 1, what='the image subscription')
        assert len(manager.infer(astronaut, 5).persons) == 1
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
        executor.shutdown()
        manager.node.destroy_node()
    assert 'loaded mobilenet_thin' in out


def test_a_transition_that_fails_is_logged_and_undone(ros_context, mobilenet_thin_path, capfd):
    """activate with a depth topic that is no valid name: ERROR, then on_error releases everything."""
    ns = '/lc_error'
    node = PoseEstimatorLifecycleNode(context=ros_context, namespace=ns, parameter_overrides=[
        Parameter('device', value='cpu'), Parameter('depth_topic', value='not a topic!')])
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.estimator is not None
        assert node.trigger_activate() == TransitionCallbackReturn.ERROR
        assert node._state_machine.current_state[1] == 'unconfigured'
        assert node.estimator is None  # the network was closed, the publishers destroyed
        assert not [name for name, _ in node.get_publisher_names_and_types_by_node('pose_estimator', ns)
                    if name.endswith('/persons')]
        assert 'activate failed' in capfd.readouterr().err
        # Back in unconfigured, the node can be configured again (once: nothing left over).
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert len([name for name, _ in node.get_publisher_names_and_types_by_node('pose_estimator', ns)
                    if name.endswith('/persons')]) == 1
    finally:
        node.destroy_node()
