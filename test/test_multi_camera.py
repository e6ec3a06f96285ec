"""Several cameras in one pose node (image_topics): real rclpy nodes, publishers and weights."""

import time

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from node_harness import QOS, Harness, wait_for  # noqa: E402
from rclpy.executors import MultiThreadedExecutor  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from tf_pose_ros.msg import Persons  # noqa: E402
from tf_pose_ros.ros.image_conversion import encode_image_msg  # noqa: E402
from tf_pose_ros.ros.pose_estimator_lifecycle_node import PoseEstimatorLifecycleNode  # noqa: E402
from tf_pose_ros.ros.pose_estimator_node import PoseEstimatorNode  # noqa: E402
from tf_pose_ros.streams.stats import DROPPED, PROCESSED, RECEIVED  # noqa: E402

pytestmark = pytest.mark.ros

TOPICS = ['front=/multi/front/image_raw', '/multi/rear/image_raw', 'silent=/multi/nobody/image_raw']
NAMES = ['front', 'multi_rear', 'silent']  # multi_rear: named after its topic


class Cameras:
    """A three-camera node, a publisher for the first two (the third never publishes), their results."""

    def __init__(self, harness):
        self.h = harness
        node, peer = harness.node, harness.peer
        self.pubs = [peer.create_publisher(Image, node.camera_topic_name(c), QOS) for c in node.cameras[:2]]
        self.persons = {c.name: [] for c in node.cameras}
        for camera in node.cameras:
            peer.create_subscription(Persons, camera.publishers.persons.topic_name,
                                     harness._keep(self.persons[camera.name]), 10)
        for pub in self.pubs:
            wait_for(lambda pub=pub: pub.get_subscription_count() > 0, what='the node to subscribe')
        # qos_reliability auto subscribes best effort first and switches to reliable once it sees these
        # publishers: the frames go out once the reliable subscriptions are matched.
        for camera in node.cameras[:2]:
            image = camera.subscriptions.image
            wait_for(lambda image=image: image.reliability == 'reliable' and image.subscription is not None
                     and image.subscription.get_publisher_count() > 0, what='the reliable subscription')
        # Both ways: a Persons message published before its subscription is matched is gone.
        for camera in node.cameras:
            publisher = camera.publishers.persons
            wait_for(lambda publisher=publisher: publisher.get_subscription_count() > 0,
                     what='the Persons subscription')

    def send(self, index, image, frame_id, wait=True):
        """Publish a frame on camera ``index``; with ``wait``, the Persons of that camera carrying its stamp."""
        msg = encode_image_msg(image, 'bgr8', self.h.header(frame_id))
        self.pubs[index].publish(msg)
        if not wait:
            return msg
        name = self.h.node.cameras[index].name
        found = lambda: [p for p in list(self.persons[name]) if p.header.stamp == msg.header.stamp]  # noqa: E731
        wait_for(found, what='Persons of %s' % name)
        return found()[-1]


@pytest.fixture(scope='module')
def cameras(ros_context, mobilenet_thin_path):
    h = Harness(ros_context, '/multi', [Parameter('device', value='cpu'), Parameter('image_topics', value=TOPICS),
                                        Parameter('depth_topics', value=['', '/multi/rear/depth', '']),
                                        Parameter('batch_wait', value=0.03),
                                        Parameter('publish_annotated', value=False),
                                        Parameter('diagnostics_period', value=0.5)], image_qos=None)
    yield Cameras(h)
    h.close()


def test_each_camera_has_its_name_topics_and_depth_pairing(cameras):
    node = cameras.h.node
    assert [c.name for c in node.cameras] == NAMES
    assert [c.publishers.persons.topic_name for c in node.cameras] == [
        '/multi/pose_estimator/front/persons', '/multi/pose_estimator/multi_rear/persons',
        '/multi/pose_estimator/silent/persons']
    assert node.cameras[1].publishers.annotated.topic_name == '/multi/pose_estimator/multi_rear/image_annotated'
    assert node.cameras[1].publishers.markers.topic_name == '/multi/pose_estimator/multi_rear/markers'
    assert [i.topic_name for i in node.cameras[1].subscriptions.all] == [
        '/multi/rear/image_raw', '/multi/rear/depth', '/multi/rear/camera_info']
    assert node.cameras[0].depth is None and node.cameras[1].depth is not None


def test_each_camera_gets_its_own_persons_counters_and_tracks(cameras, astronaut):
    node = cameras.h.node
    before = [c.stats.snapshot() for c in node.cameras]
    # The rear camera sees the person elsewhere: one shared tracker would give them another track.
    moved = np.ascontiguousarray(np.roll(astronaut, 200, axis=1))
    ids = {'front': [], 'multi_rear': []}
    for _ in range(3):
        front = cameras.send(0, astronaut, 'front_optical')
        rear = cameras.send(1, moved, 'rear_optical')
        assert front.header.frame_id == 'front_optical' and rear.header.frame_id == 'rear_optical'
        assert len(front.persons) == 1 and len(rear.persons) == 1
        assert rear.persons[0].x_min > front.persons[0].x_min + 100
        ids['front'].append(front.persons[0].id)
        ids['multi_rear'].append(rear.persons[0].id)
    # Each camera's tracker: one stable id per camera, both the first track of their own tracker.
    assert len(set(ids['front'])) == 1 and ids['multi_rear'] == ids['front']
    after = [c.stats.snapshot() for c in node.cameras]
    assert [a.get(PROCESSED, 0) - b.get(PROCESSED, 0) for a, b in zip(after, before)] == [3, 3, 0]
    assert [a.get(RECEIVED, 0) - b.get(RECEIVED, 0) for a, b in zip(after, before)] == [3, 3, 0]
    # The rear camera has depth_topics set but no depth frame arrives: its results lack 3D, counted there.
    assert after[1].get('without_depth', 0) >= 3 and after[0].get('without_depth', 0) == 0


def test_frames_arriving_together_are_inferred_in_one_batch_and_the_silent_camera_stalls_nobody(cameras, astronaut):
    node = cameras.h.node
    batches = node.batches.snapshot()
    before = [c.stats.snapshot() for c in node.cameras]
    pairs = 12
    for _ in range(pairs):  # two cameras in step; the third never publishes
        cameras.send(0, astronaut, 'front_optical', wait=False)
        cameras.send(1, astronaut, 'rear_optical', wait=False)
        time.sleep(0.3)
    after = before

    def grown(key):
        return [a.get(key, 0) - b.get(key, 0) for a, b in zip(after, before)]

    def settled():  # the last frame taken may still be in the network on a busy machine
        nonlocal after
        after = [c.stats.snapshot() for c in node.cameras]
        return not any(c.slot.pending for c in node.cameras) and \
            [p + d for p, d in zip(grown(PROCESSED), grown(DROPPED))] == grown(RECEIVED)
    try:
        wait_for(settled, timeout=20, what='every frame processed or dropped')
    except AssertionError:
        pass  # the assertions below say which camera lacks which frames
    processed = grown(PROCESSED)
    # Every frame is accounted for; a busy machine may drop some (only the newest is inferred).
    assert grown(RECEIVED) == [pairs, pairs, 0]
    assert [p + d for p, d in zip(processed, grown(DROPPED))] == [pairs, pairs, 0]
    assert processed[0] >= pairs // 3 and processed[1] >= pairs // 3 and processed[2] == 0, (processed, after)
    now = node.batches.snapshot()
    calls, batched = now['batches'] - batches.get('batches', 0), now['batched'] - batches.get('batched', 0)
    assert batched == sum(processed)
    # Once the batcher knows the cameras' rate it waits for the second frame of a pair: most pairs
    # go to the network together.
    assert batched >= 1.4 * calls, '%d network calls for %d frames' % (calls, batched)


def test_diagnostics_one_status_per_camera(cameras, astronaut):
    h = cameras.h
    cameras.send(0, astronaut, 'front_optical')
    name = h.node.get_fully_qualified_name()
    status = h.wait_for_status('no publisher on /multi/nobody/image_raw', timeout=20)
    assert status.name == '%s: pose estimation silent' % name and status.level == DiagnosticStatus.WARN
    latest = {}
    for s in h.statuses():
        latest[s.name] = s
    front = {kv.key: kv.value for kv in latest['%s: pose estimation front' % name].values}
    rear = {kv.key: kv.value for kv in latest['%s: pose estimation multi_rear' % name].values}
    assert front['camera'] == 'front' and front['image_topic'] == '/multi/front/image_raw'
    assert rear['depth'] == '/multi/rear/depth' and front['depth'] == 'off'
    assert int(front['processed']) >= 1 and int(front['batched']) >= int(front['batches']) >= 1
    assert front['batch_size'] == '4' and front['batch_wait'] == '0.03'
    assert 'running' in latest['%s: pose estimation front' % name].message or \
        latest['%s: pose estimation front' % name].level == DiagnosticStatus.OK


def test_a_bad_camera_list_is_refused_with_the_reason(ros_context, mobilenet_thin_path):
    with pytest.raises(ValueError, match="two cameras named 'cam'"):
        PoseEstimatorNode(context=ros_context, namespace='/bad_list', parameter_overrides=[
            Parameter('device', value='cpu'), Parameter('image_topics', value=['/cam/image_raw', '/cam/image'])])


def test_lifecycle_subscribes_every_camera_on_activate_only(ros_context, mobilenet_thin_path):
    node = PoseEstimatorLifecycleNode(context=ros_context, namespace='/multi_lc', parameter_overrides=[
        Parameter('device', value='cpu'), Parameter('qos_reliability', value='reliable'),
        Parameter('image_topics', value=['a=/multi_lc/a/image_raw', 'b=/multi_lc/b/image_raw'])])
    executor = MultiThreadedExecutor(num_threads=2, context=ros_context)
    executor.add_node(node)
    try:
        node.trigger_configure()
        assert [c.publishers.persons.topic_name for c in node.cameras] == [
            '/multi_lc/pose_estimator/a/persons', '/multi_lc/pose_estimator/b/persons']
        assert all(c.subscriptions.image is None for c in node.cameras)
        node.trigger_activate()
        assert [c.subscriptions.image.subscription.topic_name for c in node.cameras] == [
            '/multi_lc/a/image_raw', '/multi_lc/b/image_raw']
        node.trigger_deactivate()
        assert all(c.subscriptions.image is None for c in node.cameras)
        node.trigger_cleanup()
        assert all(c.publishers.persons is None for c in node.cameras)
    finally:
        executor.shutdown()
        node.destroy_node()


def test_one_camera_keeps_its_status_name_keys_and_topics(ros_context, mobilenet_thin_path, astronaut):
    h = Harness(ros_context, '/single', [Parameter('device', value='cpu'), Parameter('diagnostics_period', value=0.3)])
    try:
        assert len(h.node.cameras) == 1 and h.node.cameras[0].name == ''
        assert h.node.cameras[0].publishers.persons.topic_name == '/single/pose_estimator/persons'
        assert h.node.cameras[0].publishers.markers.topic_name == '/single/pose_estimator/markers'
        h.send(encode_image_msg(astronaut, 'bgr8', h.header()))
        count = len(h.statuses())
        wait_for(lambda: len(h.statuses()) > count, what='a status after the frame')
        status = h.latest_status()
        assert status.name == '/single/pose_estimator: pose estimation'
        keys = [kv.key for kv in status.values]
        # The settings and counters in the order they always had; no camera or batch keys.
        assert keys[:11] == ['model', 'device', 'enabled', 'backend', 'precision', 'resolution', 'decoder',
                             'upsample_ratio', 'depth', 'image_topic', 'qos']
        assert keys[11] == 'interpolation' and status.values[11].value == 'area'  # the refined decoder's own
        assert not {'camera', 'batches', 'batched', 'batch_size', 'batch_wait'} & set(keys)
    finally:
        h.close()
