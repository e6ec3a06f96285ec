"""A pose node in a real executor with a peer node that publishes frames and collects the results; DDS
participants of their own for tests of discovery."""

import threading
import time
from contextlib import contextmanager

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.pose_estimator_node import PoseEstimatorNode
from tf_pose_ros.streams.stats import PROCESSED

QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def wait_for(condition, timeout=30.0, what='condition'):
    """Poll ``condition`` until it holds; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError('timed out waiting for %s' % what)


class StatusWaits:
    """Waiting for a /diagnostics status of a node; the class provides ``statuses()``, oldest first."""

    def wait_for_status(self, words, since=0, timeout=15.0):
        """The first status after the first ``since`` whose message contains ``words``."""
        found = []

        def seen():
            found[:] = [s for s in self.statuses()[since:] if words in s.message]
            return bool(found)
        wait_for(seen, timeout, what='a /diagnostics status saying %r' % words)
        return found[0]


class Harness(StatusWaits):
    """A pose node plus a test node that publishes frames and collects what comes back."""

    def __init__(self, ros_context, namespace, overrides, executor_type=None, image_qos=QOS):
        """``image_qos`` None: no image publisher of the peer (the node's topic has none, or another's)."""
        # Each harness has its own namespace, so several pose nodes can share the context.
        self.node = PoseEstimatorNode(context=ros_context, namespace=namespace, parameter_overrides=overrides)
        self.peer = Node('peer', namespace=namespace, context=ros_context)
        compressed = self.node.get_parameter('use_compressed').value
        self.image_pub = None if image_qos is None else self.peer.create_publisher(
            CompressedImage if compressed else Image, self.node.camera_topic_name(self.node.cameras[0]), image_qos)
        self.persons, self.annotated, self.diagnostics = [], [], []
        self.lock = threading.Lock()
        self.peer.create_subscription(Persons, self.node.cameras[0].publishers.persons.topic_name,
                                      self._keep(self.persons), 10)
        self.peer.create_subscription(DiagnosticArray, '/diagnostics', self._keep(self.diagnostics), 10)
        self._annotated_sub = None
        self.executor = (executor_type or (lambda context: MultiThreadedExecutor(num_threads=3, context=context)))(
            ros_context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.peer)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        if self.image_pub is not None and image_qos.reliability == QOS.reliability:
            self.wait_for(lambda: self.image_pub.get_subscription_count() > 0, what='the node to subscribe')

    def _keep(self, store):
        def callback(msg):
            with self.lock:
                store.append(msg)
        return callback

    def watch_annotated(self):
        if self._annotated_sub is None:
            self._annotated_sub = self.peer.create_subscription(
                Image, self.node.cameras[0].publishers.annotated.topic_name, self._keep(self.annotated), 10)
            self.wait_for(lambda: self.node.cameras[0].publishers.annotated.get_subscription_count() > 0,
                          what='the annotated subscription')

    wait_for = staticmethod(wait_for)

    def header(self, frame_id='camera', sec=None):
        header = Header(frame_id=frame_id)
        header.stamp = self.peer.get_clock().now().to_msg() if sec is None else rclpy.time.Time(
            seconds=sec).to_msg()
        return header

    def send(self, msg, timeout=30.0):
        """Publish a frame and return the Persons message carrying its stamp."""
        before = self.node.cameras[0].stats.snapshot().get(PROCESSED, 0)
        self.image_pub.publish(msg)
        stamp = msg.header.stamp

        def arrived():
            with self.lock:
                return any(p.header.stamp == stamp for p in self.persons)
        self.wait_for(arrived, timeout, what='Persons for stamp %s' % stamp)
        with self.lock:
            found = [p for p in self.persons if p.header.stamp == stamp][-1]
        assert self.node.cameras[0].stats.snapshot().get(PROCESSED, 0) > before
        return found

    def statuses(self):
        """The /diagnostics statuses of this harness's node so far, oldest first."""
        name = self.node.get_fully_qualified_name()
        with self.lock:
            return [status for array in self.diagnostics for status in array.status
                    if status.name.startswith(name + ':')]

    def latest_status(self):
        """The newest /diagnostics status of this harness's node, or None."""
        statuses = self.statuses()
        return statuses[-1] if statuses else None

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        self.peer.destroy_node()


class Participants:
    """rclpy contexts that are DDS participants of their own, and the nodes spun in them (separate_participants)."""

    def __init__(self, contexts):
        self.contexts = contexts
        self._nodes, self._executors = [], []

    def add(self, node):
        """Own ``node`` (destroyed when the block ends); returns it."""
        self._nodes.append(node)
        return node

    def spin(self):
        """Spin every node added and not spinning yet, each in an executor of its context on a thread."""
        for node in self._nodes[len(self._executors):]:
            executor = SingleThreadedExecutor(context=node.context)
            executor.add_node(node)
            self._executors.append(executor)
            threading.Thread(target=executor.spin, daemon=True).start()

    def close(self):
        for executor in self._executors:
            executor.shutdown()
        for node in self._nodes:
            node.destroy_node()
        for context in self.contexts:
            context.try_shutdown()


@contextmanager
def separate_participants(domain_id, count=2):
    """``count`` rclpy contexts on ``domain_id``: participants that discover each other as processes do."""
    participants = Participants([])
    try:
        for _ in range(count):
            context = rclpy.Context()
            rclpy.init(context=context, domain_id=domain_id)
            participants.contexts.append(context)
        yield participants
    finally:
        participants.close()


class NodeProcess(StatusWaits):
    """The installed ``pose_estimator`` as a process of its own, and a peer node here that hears its Persons and
    /diagnostics: a node measured as a robot runs it, not sharing the test process's interpreter and threads."""

    def __init__(self, ros_context, namespace, params, image_qos=None):
        """``params``: NAME:=VALUE strings; ``image_qos`` (None: none) for a peer image publisher on its topic."""
        import os
        import subprocess
        import sys

        exe = os.path.join(os.path.dirname(sys.executable), 'pose_estimator')
        if not os.path.exists(exe):
            raise AssertionError('%s missing: run `make setup`' % exe)
        self.namespace = namespace
        self.topic = namespace + '/image_raw'
        command = [exe, '--ros-args', '-r', '__ns:=' + namespace]
        for param in params:
            command += ['-p', param]
        self.process = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.peer = Node('process_peer', namespace=namespace, context=ros_context)
        self.persons, self.diagnostics = [], []
        self.lock = threading.Lock()
        self.peer.create_subscription(Persons, namespace + '/pose_estimator/persons', self._keep(self.persons), 10)
        self.peer.create_subscription(DiagnosticArray, '/diagnostics', self._keep(self.diagnostics), 50)
        self.image_pub = None if image_qos is None else self.peer.create_publisher(Image, self.topic, image_qos)
        self.executor = SingleThreadedExecutor(context=ros_context)
        self.executor.add_node(self.peer)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        # Ready when it reports, and its input is in the graph (a driver started now is matched at once).
        wait_for(lambda: self.statuses() or self.process.poll() is not None, timeout=120, what='the node to start')
        assert self.process.poll() is None, 'the node exited: %s' % self.process.communicate()[0][-3000:]
        wait_for(lambda: self.peer.get_subscriptions_info_by_topic(self.topic), timeout=30,
                 what='the node to subscribe to %s' % self.topic)

    def _keep(self, store):
        def callback(msg):
            with self.lock:
                store.append(msg)
        return callback

    wait_for = staticmethod(wait_for)

    def statuses(self):
        """The node's /diagnostics statuses so far, oldest first."""
        name = self.namespace + '/pose_estimator:'
        with self.lock:
            return [status for array in self.diagnostics for status in array.status if status.name.startswith(name)]

    def counters(self):
        """The key/values of the node's latest status ({} before the first)."""
        statuses = self.statuses()
        return {kv.key: kv.value for kv in statuses[-1].values} if statuses else {}

    def count(self, key):
        return int(self.counters().get(key, 0))

    def settle(self, key='received', timeout=60.0):
        """Wait until ``key`` stops growing over two reports in a row; its value then."""
        seen = []

        def still():
            reports = len(self.statuses())
            if not seen or reports > seen[-1][0]:
                seen.append((reports, self.count(key)))
            return len(seen) >= 3 and seen[-1][1] == seen[-2][1] == seen[-3][1]
        self.wait_for(still, timeout, what='%s to stop growing' % key)
        return seen[-1][1]

    def send(self, msg, timeout=30.0):
        """Publish a frame with the peer's image publisher; the Persons message carrying its stamp."""
        self.image_pub.publish(msg)
        stamp = msg.header.stamp

        def answered():
            with self.lock:
                return [p for p in self.persons if p.header.stamp == stamp]
        self.wait_for(answered, timeout, what='Persons for stamp %s' % stamp)
        return answered()[-1]

    def close(self):
        """Stop the node as Ctrl-C would; its output."""
        import signal
        import subprocess

        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        self.executor.shutdown()
        self.peer.destroy_node()
        return out
