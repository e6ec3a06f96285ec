"""REP-155 output with real topics: /humans/bodies/tracked, per-body skeleton2d, roi and cropped.

A real node publishes through HriOutput the people the real network finds on a photo of six; a
second node of its own DDS participant reads the topics as an HRI stack would.
"""

import threading

import numpy as np
import pytest
from node_harness import wait_for

hri_msgs = pytest.importorskip('hri_msgs.msg', reason='hri_msgs is not built (scripts/build_hri_msgs.sh VENV)')

pytestmark = pytest.mark.ros


def test_skeleton_index_maps_parts_by_name():
    from tf_pose_ros.parts import PART_IDS
    from tf_pose_ros.ros.hri_output import skeleton_index

    index = skeleton_index()
    Skeleton2D = hri_msgs.Skeleton2D
    assert index[PART_IDS['left_eye']] == Skeleton2D.LEFT_EYE == 14
    assert index[PART_IDS['right_eye']] == Skeleton2D.RIGHT_EYE == 15
    assert index[PART_IDS['left_ear']] == Skeleton2D.LEFT_EAR == 16
    assert index[PART_IDS['right_ear']] == Skeleton2D.RIGHT_EAR == 17
    assert PART_IDS['left_eye'] == 15 and PART_IDS['right_ear'] == 16  # OpenPose's order is the reverse
    assert sorted(index.values()) == list(range(18))
    assert index[PART_IDS['right_wrist']] == Skeleton2D.RIGHT_WRIST and index[PART_IDS['neck']] == Skeleton2D.NECK


def bodies_topics(node):
    return sorted(name for name, _ in node.get_topic_names_and_types() if name.startswith('/hri/humans/bodies/')
                  and name != '/hri/humans/bodies/tracked' and node.count_publishers(name) > 0)


def test_six_people_give_six_bodies_that_go_when_the_people_leave(ros_domain_id, estimator):
    from node_harness import separate_participants
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from tf_pose_ros.parts import PART_NAMES
    from tf_pose_ros.people.tracking import PoseTracker
    from tf_pose_ros.ros.hri_output import HriOutput
    from tf_pose_ros.samples import six_people_bgr

    photo = six_people_bgr()
    result = estimator.infer(photo)
    assert len(result.persons) == 6
    with separate_participants(ros_domain_id) as graph:
        source = graph.add(Node('pose', namespace='/hri', context=graph.contexts[0]))
        reader = graph.add(Node('reader', namespace='/hri', context=graph.contexts[1]))
        output = HriOutput(source, prefix='/hri/humans/bodies')
        assert output.available
        got = {'tracked': [], 'skeleton': {}, 'roi': {}, 'cropped': {}}
        lock = threading.Lock()

        def keep(kind, body=None):
            def callback(msg):
                with lock:
                    (got[kind] if body is None else got[kind].setdefault(body, [])).append(msg)
            return callback
        reader.create_subscription(hri_msgs.IdsList, '/hri/humans/bodies/tracked', keep('tracked'), 10)
        graph.spin()
        wait_for(lambda: reader.count_publishers('/hri/humans/bodies/tracked') == 1, timeout=10, what='/tracked')

        tracker = PoseTracker(max_age=2)
        header = Header(frame_id='camera')
        ids = tracker.update(result.persons)
        body_ids = output.publish(header, result, ids, photo, tracker.active_ids)
        assert len(set(body_ids)) == 6 and all(len(b) == 5 for b in body_ids)
        wait_for(lambda: len(bodies_topics(reader)) == 18, timeout=10, what='18 body topics')
        types = dict(reader.get_topic_names_and_types())
        for body in body_ids:
            base = '/hri/humans/bodies/%s/' % body
            assert types[base + 'skeleton2d'] == ['hri_msgs/msg/Skeleton2D']
            assert types[base + 'roi'] == ['hri_msgs/msg/NormalizedRegionOfInterest2D']
            assert types[base + 'cropped'] == ['sensor_msgs/msg/Image']
            reader.create_subscription(hri_msgs.Skeleton2D, base + 'skeleton2d', keep('skeleton', body), 10)
            reader.create_subscription(hri_msgs.NormalizedRegionOfInterest2D, base + 'roi', keep('roi', body), 10)
            reader.create_subscription(Image, base + 'cropped', keep('cropped', body), 10)
        wait_for(lambda: all(source.count_subscribers('/hri/humans/bodies/%s/cropped' % b) == 1 for b in body_ids),
                 timeout=10, what='the body subscriptions')
        # Same people again: same bodies, and now the reader hears them.
        ids = tracker.update(result.persons)
        assert output.publish(header, result, ids, photo, tracker.active_ids) == body_ids
        wait_for(lambda: all(got['cropped'].get(b) for b in body_ids) and got['tracked'], timeout=10,
                 what='every body message')
        with lock:
            assert sorted(got['tracked'][-1].ids) == sorted(body_ids)
            by_track = output.body_ids()
            for person, track in zip(result.persons, ids):
                skeleton = got['skeleton'][by_track[track]][-1].skeleton
                assert len(skeleton) == 18
                for part_id, name in enumerate(PART_NAMES):
                    point = skeleton[getattr(hri_msgs.Skeleton2D, name.upper())]
                    keypoint = person.keypoint(part_id)
                    if keypoint is None:
                        assert (point.x, point.y, point.c) == (0.0, 0.0, 0.0)
                    else:
                        assert point.x == pytest.approx(keypoint.x / 900, abs=1e-6)
                        assert point.y == pytest.approx(keypoint.y / 600, abs=1e-6)
                        assert point.c == pytest.approx(min(keypoint.score, 1.0), abs=1e-6)
                roi = got['roi'][by_track[track]][-1]
                xs = [k.x / 900 for k in person.keypoints]
                assert 0 <= roi.xmin <= min(xs) and max(xs) <= roi.xmax <= 1 and 0 < roi.c <= 1
                crop = got['cropped'][by_track[track]][-1]
                assert crop.encoding == 'bgr8' and 0 < crop.width < 900 and 0 < crop.height <= 600

        # The people leave: bodies outlive their last sighting by the tracker's max_age, then go.
        empty = type(result)([], result.image_size)
        listed = []
        for _ in range(4):
            ids = tracker.update([])
            listed.append(output.publish(header, empty, ids, photo, tracker.active_ids))
            assert listed[-1] == (body_ids if tracker.active_ids else []), listed
        assert listed[0] == body_ids and listed[-1] == []
        wait_for(lambda: not bodies_topics(reader), timeout=10, what='the body publishers to go')
        wait_for(lambda: got['tracked'] and got['tracked'][-1].ids == [], timeout=10, what='an empty /tracked')

        # Two cameras: the same track ids name different bodies, and one camera's frame ends only its own.
        tracker_b = PoseTracker(max_age=0)
        front = output.publish(header, result, ids := tracker.update(result.persons), photo, tracker.active_ids,
                               camera='front')
        both = output.publish(header, result, tracker_b.update(result.persons), photo, tracker_b.active_ids,
                              camera='back')
        assert len(front) == 6 and len(both) == 12 and set(front) < set(both)
        assert set(output.body_ids('front')) == set(ids) and set(output.body_ids('back').values()).isdisjoint(front)
        assert sorted(output.publish(header, empty, tracker_b.update([]), photo, tracker_b.active_ids,
                                     camera='back')) == sorted(front)
        output.destroy()
        assert np.isfinite(result.persons[0].score)


def test_without_hri_msgs_it_says_so_once_and_runs_on(ros_context, monkeypatch, capfd):
    import sys

    from rclpy.node import Node
    from std_msgs.msg import Header

    from tf_pose_ros.people import PoseResult
    from tf_pose_ros.ros.hri_output import HriOutput

    for name in [m for m in sys.modules if m == 'hri_msgs' or m.startswith('hri_msgs.')]:
        monkeypatch.setitem(sys.modules, name, None)  # as where hri_msgs is not installed: imports fail
    monkeypatch.setitem(sys.modules, 'hri_msgs', None)
    node = Node('no_hri', namespace='/nohri', context=ros_context)
    try:
        output = HriOutput(node)
        assert not output.available
        for _ in range(3):
            assert output.publish(Header(), PoseResult([], (640, 480)), [], None) == []
        output.destroy()
        assert not [name for name, _ in node.get_topic_names_and_types() if name.startswith('/humans')]
        logged = capfd.readouterr()
        assert (logged.out + logged.err).count('hri_msgs is not importable') == 1, logged
    finally:
        node.destroy_node()


def node_bodies_topics(node):
    return sorted(name for name, _ in node.get_topic_names_and_types() if name.startswith('/humans/bodies/')
                  and name != '/humans/bodies/tracked' and node.count_publishers(name) > 0)


def test_the_node_publishes_bodies_that_match_its_persons_and_end_them(ros_context, mobilenet_thin_path):
    from node_harness import Harness
    from rclpy.parameter import Parameter

    from tf_pose_ros.ros.image_conversion import bgr8_to_image_msg
    from tf_pose_ros.samples import six_people_bgr

    photo = six_people_bgr()
    h = Harness(ros_context, '/hri_node', [Parameter('device', value='cpu'), Parameter('hri_output', value=True),
                                          Parameter('qos_reliability', value='reliable'),
                                          Parameter('track_max_age', value=1),
                                          # A small figure in the photo's background scores 0.39: bodies are
                                          # the people Persons carries, so it is left out of both.
                                          Parameter('min_person_score', value=0.5)])
    tracked, skeletons = [], {}
    try:
        h.peer.create_subscription(hri_msgs.IdsList, '/humans/bodies/tracked', tracked.append, 10)
        h.wait_for(lambda: h.peer.count_publishers('/humans/bodies/tracked') == 1, what='/humans/bodies/tracked')
        h.send(bgr8_to_image_msg(photo, h.header()))
        h.wait_for(lambda: len(node_bodies_topics(h.peer)) == 18, what='six bodies of three topics each')
        bodies = h.node.hri.body_ids()
        assert len(bodies) == 6
        types = dict(h.peer.get_topic_names_and_types())
        for body in bodies.values():
            assert types['/humans/bodies/%s/skeleton2d' % body] == ['hri_msgs/msg/Skeleton2D']
            assert types['/humans/bodies/%s/roi' % body] == ['hri_msgs/msg/NormalizedRegionOfInterest2D']
            h.peer.create_subscription(hri_msgs.Skeleton2D, '/humans/bodies/%s/skeleton2d' % body,
                                       lambda msg, body=body: skeletons.setdefault(body, []).append(msg), 10)
        h.wait_for(lambda: all(h.node.count_subscribers('/humans/bodies/%s/skeleton2d' % b) == 1
                               for b in bodies.values()), what='the skeleton2d subscriptions')
        # The people stay: the same bodies; each skeleton2d point is its Person's keypoint, matched by name
        # (both smoothed alike: smoothing is on by default).
        persons = h.send(bgr8_to_image_msg(photo, h.header()))
        assert h.node.hri.body_ids() == bodies and len(persons.persons) == 6
        h.wait_for(lambda: all(skeletons.get(b) for b in bodies.values()) and tracked, what='the skeletons')
        assert sorted(tracked[-1].ids) == sorted(bodies.values())
        for person in persons.persons:
            skeleton = skeletons[bodies[person.id]][-1]
            assert skeleton.header.stamp == persons.header.stamp
            for keypoint in person.keypoints:
                point = skeleton.skeleton[getattr(hri_msgs.Skeleton2D, keypoint.name.upper())]
                assert point.x == pytest.approx(keypoint.x / persons.image_width, abs=1e-5)
                assert point.y == pytest.approx(keypoint.y / persons.image_height, abs=1e-5)
        # The people leave: after track_max_age frames without them, their publishers go.
        empty = np.full_like(photo, 40)
        for _ in range(3):
            assert h.send(bgr8_to_image_msg(empty, h.header())).persons == []
        h.wait_for(lambda: not node_bodies_topics(h.peer), what='the body publishers to go')
        h.wait_for(lambda: tracked[-1].ids == [], what='an empty /humans/bodies/tracked')
    finally:
        h.close()

