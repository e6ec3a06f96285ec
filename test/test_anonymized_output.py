"""The node's ~/image_anonymized with anonymize: true: a real node, real frames, DDS traffic."""

import threading

import cv2
import numpy as np
import pytest

pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from node_harness import Harness  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg  # noqa: E402

pytestmark = pytest.mark.ros

PHOTO = 'tf_pose_ros/data/warmup_people.jpg'


class Watched:
    """Messages of one image topic of the node, kept by the harness's peer."""

    def __init__(self, harness, topic):
        self.messages, self._lock = [], threading.Lock()
        harness.peer.create_subscription(Image, topic, self._keep, 10)

    def _keep(self, msg):
        with self._lock:
            self.messages.append(msg)

    def at(self, stamp):
        with self._lock:
            return [m for m in self.messages if m.header.stamp == stamp]


def pixels(msg):
    return np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)


@pytest.fixture(scope='module')
def harness(ros_context):
    h = Harness(ros_context, '/private', [Parameter('device', value='cpu'), Parameter('anonymize', value=True),
                                          Parameter('qos_reliability', value='reliable')])
    yield h
    h.close()


def test_the_anonymized_image_blurs_every_face_and_keeps_the_rest(harness):
    node = harness.node
    anonymized = Watched(harness, node.get_fully_qualified_name() + '/image_anonymized')
    annotated = Watched(harness, node.cameras[0].publishers.annotated.topic_name)
    harness.wait_for(lambda: node.cameras[0].publishers.anonymized.get_subscription_count() > 0
                     and node.cameras[0].publishers.annotated.get_subscription_count() > 0, what='the subscriptions')
    photo = cv2.imread(PHOTO)
    header = harness.header('camera')
    persons = harness.send(bgr8_to_image_msg(photo, header))
    harness.wait_for(lambda: anonymized.at(header.stamp) and annotated.at(header.stamp), what='the images')
    blurred = pixels(anonymized.at(header.stamp)[-1])
    assert anonymized.at(header.stamp)[-1].header.frame_id == 'camera'
    assert len(persons.persons) == 3
    for person in persons.persons:
        nose = next(k for k in person.keypoints if k.name == 'nose')
        face = (slice(int(nose.y) - 12, int(nose.y) + 12), slice(int(nose.x) - 12, int(nose.x) + 12))
        assert np.abs(blurred[face].astype(int) - photo[face]).mean() > 8
    assert np.array_equal(blurred[-64:], photo[-64:])  # the suits and helmets, far below the faces
    # The skeletons are drawn over the blurred frame: only their lines differ from it.
    drawn = np.any(pixels(annotated.at(header.stamp)[-1]) != blurred, axis=2)
    assert 0.005 < drawn.mean() < 0.15


def test_nothing_is_blurred_for_nobody_and_the_topic_stays_silent_when_off(harness):
    node = harness.node
    anonymized = Watched(harness, node.get_fully_qualified_name() + '/image_anonymized')
    harness.wait_for(lambda: node.cameras[0].publishers.anonymized.get_subscription_count() > 0, what='subscription')
    node.set_parameters([Parameter('anonymize', value=False)])
    try:
        header = harness.header('camera')
        harness.send(bgr8_to_image_msg(cv2.imread(PHOTO), header))
        second = harness.header('camera')
        harness.send(bgr8_to_image_msg(cv2.imread(PHOTO), second))  # the first frame's image had its chance
        assert anonymized.at(header.stamp) == [] and anonymized.at(second.stamp) == []
    finally:
        node.set_parameters([Parameter('anonymize', value=True)])
