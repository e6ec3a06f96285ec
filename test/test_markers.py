"""RViz skeleton markers and 3D positions in Persons messages, built from a real inference."""

import math

import numpy as np
import pytest

pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from tf_pose_ros.parts import SKELETON  # noqa: E402
from tf_pose_ros.people.depth import PinholeCamera, lift_persons  # noqa: E402
from tf_pose_ros.ros.markers import skeleton_markers, track_colour  # noqa: E402
from tf_pose_ros.ros.messages import persons_msg  # noqa: E402

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def group_result(estimator):
    from tf_pose_ros.samples import group_photo_bgr

    return estimator.infer(group_photo_bgr())


def _lifted(result, depth_m=2.0):
    width, height = result.image_size
    camera = PinholeCamera(500.0, 500.0, width / 2, height / 2, width, height)
    depth = np.full((height, width), depth_m, np.float32)
    return lift_persons(result.persons, depth, camera, result.image_size)


def test_positions_fill_the_keypoints_that_have_depth(group_result):
    assert len(group_result.persons) >= 2
    positions = _lifted(group_result)
    positions[0][0] = np.nan  # a keypoint over a hole in the depth image
    header = Header(frame_id='camera_color_optical_frame')
    msg = persons_msg(group_result, header, 'mobilenet_thin', positions=positions)
    first = msg.persons[0]
    assert not first.keypoints[0].has_position
    for keypoint in first.keypoints[1:]:
        assert keypoint.has_position and keypoint.position.z == pytest.approx(2.0)
        assert keypoint.position.x == pytest.approx((keypoint.x - group_result.image_size[0] / 2) * 2.0 / 500.0)
    plain = persons_msg(group_result, header, 'mobilenet_thin')
    assert not any(k.has_position for p in plain.persons for k in p.keypoints)


def test_markers_draw_each_person_in_the_persons_frame(group_result):
    header = Header(frame_id='camera_color_optical_frame')
    ids = [7 + 3 * i for i in range(len(group_result.persons))]
    msg = persons_msg(group_result, header, 'mobilenet_thin', ids=ids, positions=_lifted(group_result))
    array = skeleton_markers(msg, lifetime_s=0.75)
    assert array.markers[0].action == Marker.DELETEALL  # nothing stale survives a message
    drawn = array.markers[1:]
    assert {m.header.frame_id for m in array.markers} == {'camera_color_optical_frame'}
    assert {m.id for m in drawn} == set(ids)
    for person in msg.persons:
        mine = {m.ns: m for m in drawn if m.id == person.id}
        parts = {k.id for k in person.keypoints}
        bones = [pair for pair in SKELETON if pair[0] in parts and pair[1] in parts]
        assert len(mine['joints'].points) == len(parts)
        assert len(mine['bones'].points) == 2 * len(bones)
        assert mine['labels'].text == 'id %d' % person.id
        assert all(m.color == track_colour(person.id) and m.lifetime.sec == 0
                   and m.lifetime.nanosec == 750_000_000 for m in mine.values())
        top = min(k.position.y for k in person.keypoints)
        assert mine['labels'].pose.position.y < top  # above the head (optical frame: y points down)
    colours = {(c.r, c.g, c.b) for c in (track_colour(i) for i in range(12))}
    assert len(colours) == 12


def test_no_one_seen_clears_the_view(group_result):
    header = Header(frame_id='camera')
    without_depth = skeleton_markers(persons_msg(group_result, header, 'm'))
    assert [m.action for m in without_depth.markers] == [Marker.DELETEALL]
    assert math.isclose(skeleton_markers(persons_msg(group_result, header, 'm'), 0.0).markers[0].lifetime.sec, 0)


def test_rviz_config_shows_the_nodes_markers_and_overlay_in_the_image_frame(group_result):
    from pathlib import Path

    import yaml

    from tf_pose_ros.ros.image_source_node import SOURCE_PARAMS
    from tf_pose_ros.ros.pose_node_base import NODE_NAME

    config = yaml.safe_load((Path(__file__).parent.parent / 'config' / 'tf_pose.rviz').read_text())
    manager = config['Visualization Manager']
    displays = {d['Class']: d for d in manager['Displays']}
    markers = displays['rviz_default_plugins/MarkerArray']
    assert markers['Topic']['Value'] == '/%s/markers' % NODE_NAME and markers['Enabled']
    sent = skeleton_markers(persons_msg(group_result, Header(frame_id='camera'), 'm', positions=_lifted(group_result)))
    assert set(markers['Namespaces']) == {m.ns for m in sent.markers if m.ns}
    images = [d['Topic']['Value'] for d in manager['Displays'] if d['Class'] == 'rviz_default_plugins/Image']
    assert '/%s/image_annotated' % NODE_NAME in images
    frame_id = dict((name, default) for name, default, *_ in SOURCE_PARAMS)['frame_id']
    assert manager['Global Options']['Fixed Frame'] == frame_id  # markers are in the images' frame
