"""3D keypoints and RViz markers from the pose node: real RGB-D messages over DDS, real network.

The colour frame is a photo of three people; the depth frame is synthetic (a ramp rising away from
the camera row by row, as a floor seen from above would), so each keypoint's position can be
checked against the pinhole formula.
"""

import threading

import numpy as np
import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from diagnostic_msgs.msg import DiagnosticStatus  # noqa: E402
from node_harness import QOS, Harness  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from tf_pose_ros.ros.depth_input import DepthInput, DepthSettings, camera_info_topic_for  # noqa: E402
from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg, depth_array_to_msg  # noqa: E402
from tf_pose_ros.samples import group_photo_bgr  # noqa: E402
from tf_pose_ros.streams.stats import WITH_DEPTH, WITHOUT_DEPTH  # noqa: E402

pytestmark = pytest.mark.ros

FRAME = 'camera_color_optical_frame'
FX, FY = 400.0, 410.0


def ramp_metres(width, height, colour_height):
    """1.2 m at the top colour row, 3 mm more per colour row, sampled on a width x height grid."""
    rows = (np.arange(height) + 0.5) * colour_height / height - 0.5
    return np.repeat((1.2 + 0.003 * rows)[:, None], width, axis=1)


def depth_msg(metres, encoding, header):
    return depth_array_to_msg(np.round(metres * 1000) if encoding == '16UC1' else metres, encoding, header)


def camera_info(width, height, k=None):
    info = CameraInfo(header=Header(frame_id=FRAME), width=width, height=height)
    info.k = k if k is not None else [FX, 0.0, (width - 1) / 2, 0.0, FY, (height - 1) / 2, 0.0, 0.0, 1.0]
    return info


class RgbdPeer:
    """The harness plus depth and camera_info publishers and a ~/markers subscriber."""

    def __init__(self, harness):
        self.h = harness
        ns = '/rgbd'
        self.depth_pub = harness.peer.create_publisher(Image, ns + '/depth/image_rect_raw', QOS)
        self.info_pub = harness.peer.create_publisher(CameraInfo, ns + '/color/camera_info', QOS)
        self.markers = []
        markers_pub = harness.node.cameras[0].publishers.markers
        harness.peer.create_subscription(MarkerArray, markers_pub.topic_name, self._keep, 10)
        self.lock = threading.Lock()
        harness.wait_for(lambda: self.depth_pub.get_subscription_count() > 0 and
                         self.info_pub.get_subscription_count() > 0 and
                         markers_pub.get_subscription_count() > 0, what='the depth subscriptions')
        self.colour = group_photo_bgr()
        self.height, self.width = self.colour.shape[:2]

    def _keep(self, msg):
        with self.lock:
            self.markers.append(msg)

    def send_info(self, k=None):
        self.info_pub.publish(camera_info(self.width, self.height, k))

    def send_depth(self, sec, metres, encoding):
        held = self.h.node.cameras[0].depth.frame_count
        self.depth_pub.publish(depth_msg(metres, encoding, self.h.header(FRAME, sec)))
        self.h.wait_for(lambda: self.h.node.cameras[0].depth.frame_count > held or held == 10, what='depth frame')

    def send(self, sec, depth=None, depth_offset=0.0):
        """Depth (if any) first, then the colour frame; returns the Persons message."""
        if depth is not None:
            self.send_depth(sec + depth_offset, *depth)
        return self.h.send(bgr8_to_image_msg(self.colour, self.h.header(FRAME, sec)))

    def markers_for(self, stamp):
        self.h.wait_for(lambda: any(m.markers[0].header.stamp == stamp for m in list(self.markers)),
                        what='markers')
        with self.lock:
            return [m for m in self.markers if m.markers[0].header.stamp == stamp][-1]


@pytest.fixture(scope='module')
def rgbd(ros_context, mobilenet_thin_path):
    harness = Harness(ros_context, '/rgbd', [
        Parameter('device', value='cpu'), Parameter('qos_reliability', value='reliable'),
        Parameter('qos_depth', value=5), Parameter('diagnostics_period', value=0.3),
        Parameter('image_topic', value='color/image_raw'), Parameter('depth_topic', value='depth/image_rect_raw'),
        Parameter('marker_lifetime', value=0.4)])
    peer = RgbdPeer(harness)
    yield peer
    harness.close()


def check_positions(persons, colour_height):
    """Largest distance (m) of a keypoint's position from the pinhole formula on the exact ramp."""
    worst = 0.0
    cx, cy = (persons.image_width - 1) / 2, (persons.image_height - 1) / 2
    for person in persons.persons:
        for k in person.keypoints:
            assert k.has_position, 'keypoint %s without a position' % k.name
            z = 1.2 + 0.003 * k.y
            expected = np.array([(k.x - cx) * z / FX, (k.y - cy) * z / FY, z])
            got = np.array([k.position.x, k.position.y, k.position.z])
            worst = max(worst, float(np.abs(got - expected).max()))
    return worst


@pytest.mark.parametrize('encoding, size_divisor, offset', [('16UC1', 1, 0.0), ('32FC1', 2, 0.005),
                                                            ('16UC1', 4, -0.01)])
def test_keypoints_get_positions_from_the_paired_depth_frame(rgbd, encoding, size_divisor, offset):
    rgbd.send_info()
    rgbd.h.wait_for(lambda: rgbd.h.node.cameras[0].depth.calibration_problem == '', what='camera_info')
    before = rgbd.h.node.cameras[0].stats.snapshot().get(WITH_DEPTH, 0)
    width, height = rgbd.width // size_divisor, rgbd.height // size_divisor
    # A depth frame far from this stamp is buffered too: pairing takes the nearest within the slop.
    rgbd.send_depth(100.5 + size_divisor, ramp_metres(width, height, rgbd.height) + 5.0, encoding)
    persons = rgbd.send(100.0 + size_divisor, (ramp_metres(width, height, rgbd.height), encoding),
                        depth_offset=offset)
    assert len(persons.persons) == 3 and persons.header.frame_id == FRAME
    worst = check_positions(persons, rgbd.height)
    # Depth is read at the nearest depth pixel: up to half a depth pixel (in colour rows) off the
    # keypoint, 3 mm a colour row, plus whole millimetres for 16UC1.
    bound = 0.003 * 0.5 * size_divisor * 1.3 + (0.0008 if encoding == '16UC1' else 1e-4)
    print('%s at 1/%d size: largest error %.2f mm (bound %.2f mm)' % (encoding, size_divisor, worst * 1e3,
                                                                   bound * 1e3))
    assert worst < bound
    assert rgbd.h.node.cameras[0].stats.snapshot()[WITH_DEPTH] == before + 1

    markers = rgbd.markers_for(persons.header.stamp)
    assert markers.markers[0].action == Marker.DELETEALL
    assert {m.header.frame_id for m in markers.markers} == {FRAME}
    joints = [m for m in markers.markers if m.ns == 'joints']
    assert sorted(m.id for m in joints) == sorted(p.id for p in persons.persons)
    assert sum(len(m.points) for m in joints) == sum(len(p.keypoints) for p in persons.persons)


def _statuses(harness, since=0):
    """The node's statuses on /diagnostics, from the ``since``-th DiagnosticArray received on."""
    with harness.lock:
        arrays = list(harness.diagnostics)[since:]
    return [s for d in arrays for s in d.status if s.name.startswith('/rgbd/')]


def _warned(harness, since, words):
    """True once a WARN containing ``words`` arrived (a later OK does not hide it)."""
    return any(s.level == DiagnosticStatus.WARN and words in s.message for s in _statuses(harness, since))


def test_frames_without_depth_are_counted_and_reported(rgbd):
    rgbd.send_info()
    rgbd.h.wait_for(lambda: rgbd.h.node.cameras[0].depth.calibration_problem == '', what='camera_info')
    before = rgbd.h.node.cameras[0].stats.snapshot().get(WITHOUT_DEPTH, 0)
    seen = len(rgbd.h.diagnostics)
    far = rgbd.send(200.0, (ramp_metres(rgbd.width, rgbd.height, rgbd.height), '16UC1'), depth_offset=0.2)
    assert far.persons and not any(k.has_position for p in far.persons for k in p.keypoints)
    assert rgbd.h.node.cameras[0].stats.snapshot()[WITHOUT_DEPTH] == before + 1
    rgbd.h.wait_for(lambda: _warned(rgbd.h, seen, 'depth_slop'), what='a WARN naming depth_slop')
    values = {v.key: v.value for v in _statuses(rgbd.h, seen)[-1].values}
    assert values['depth'] == 'depth/image_rect_raw' and int(values[WITHOUT_DEPTH]) >= 1
    markers = rgbd.markers_for(far.header.stamp)  # nobody in 3D: the view is cleared
    assert [m.action for m in markers.markers] == [Marker.DELETEALL]

    # Depth of another aspect ratio is no view of the same scene: refused, with the reason.
    seen = len(rgbd.h.diagnostics)
    odd = rgbd.send(201.0, (np.full((100, 100), 2.0), '32FC1'))
    assert not any(k.has_position for p in odd.persons for k in p.keypoints)
    rgbd.h.wait_for(lambda: _warned(rgbd.h, seen, 'aspect'), what='a WARN about the aspect ratio')

    rgbd.send_info(k=[0.0] * 9)  # an uncalibrated camera
    rgbd.h.wait_for(lambda: rgbd.h.node.cameras[0].depth.calibration_problem != '', what='the bad camera_info')
    seen = len(rgbd.h.diagnostics)
    rgbd.send(202.0, (ramp_metres(rgbd.width, rgbd.height, rgbd.height), '16UC1'))
    rgbd.h.wait_for(lambda: _warned(rgbd.h, seen, 'calibration'), what='a WARN about calibration')
    rgbd.send_info()  # calibrated again: positions come back
    rgbd.h.wait_for(lambda: rgbd.h.node.cameras[0].depth.calibration_problem == '', what='the good camera_info')
    again = rgbd.send(203.0, (ramp_metres(rgbd.width, rgbd.height, rgbd.height), '16UC1'))
    assert all(k.has_position for p in again.persons for k in p.keypoints)


def test_pairing_reports_what_is_missing_and_warns_about_unregistered_depth():
    depth = DepthInput(DepthSettings(slop_s=0.02))
    header = Header(frame_id=FRAME)
    header.stamp.sec = 10
    assert 'camera_info' in depth.lift(header, (64, 48), []).problem
    depth.on_camera_info(camera_info(64, 48))
    assert 'no depth image' in depth.lift(header, (64, 48), []).problem
    other = Header(frame_id='camera_depth_optical_frame')
    other.stamp.sec, other.stamp.nanosec = 10, 10_000_000
    depth.on_depth(depth_msg(np.full((48, 64), 2.0), '32FC1', other))
    lifted = depth.lift(header, (64, 48), [])
    assert lifted.positions == [] and lifted.problem == ''
    assert 'registered' in lifted.warning and 'camera_depth_optical_frame' in lifted.warning
    depth.settings = DepthSettings(slop_s=0.005)
    assert 'depth_slop' in depth.lift(header, (64, 48), []).problem
    bad = depth_msg(np.full((48, 64), 2.0), '32FC1', header)
    bad.encoding = 'rgb8'
    depth.on_depth(bad)
    assert 'encoding' in depth.lift(header, (64, 48), []).problem


def test_camera_info_topic_sits_beside_the_image_topic():
    assert camera_info_topic_for('/camera/camera/color/image_raw') == '/camera/camera/color/camera_info'
    assert camera_info_topic_for('color/image_raw') == 'color/camera_info'
    assert camera_info_topic_for('image_raw') == 'camera_info'
    assert camera_info_topic_for('/image_raw') == '/camera_info'
