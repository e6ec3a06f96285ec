"""RViz skeletons: a Persons message with 3D keypoints as a visualization_msgs/MarkerArray.

Each array starts with DELETEALL, so it shows exactly the people of its frame (a track that
ended leaves nothing behind); the markers' lifetime clears the view once the node stops sending.
"""

from __future__ import annotations

import colorsys
from typing import Dict

from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from tf_pose_ros.parts import SKELETON

BONE_WIDTH_M = 0.03
JOINT_DIAMETER_M = 0.06
LABEL_HEIGHT_M = 0.12
#: How far above the person's highest joint the id label floats (optical frame: -y is up).
LABEL_LIFT_M = 0.15
#: Hue step between consecutive track ids (the golden ratio: neighbours get distant colours).
_HUE_STEP = 0.618033988749895


def track_colour(track_id: int) -> ColorRGBA:
    """A bright, opaque colour of its own for a track id."""
    r, g, b = colorsys.hsv_to_rgb((track_id * _HUE_STEP) % 1.0, 0.8, 1.0)
    return ColorRGBA(r=r, g=g, b=b, a=1.0)


def _duration(seconds: float) -> Duration:
    whole, nanoseconds = divmod(int(round(seconds * 1e9)), 1_000_000_000)
    return Duration(sec=whole, nanosec=nanoseconds)


def _marker(header, namespace: str, marker_id: int, kind: int, lifetime: Duration, colour: ColorRGBA) -> Marker:
    marker = Marker(header=header, ns=namespace, id=marker_id, type=kind, action=Marker.ADD, lifetime=lifetime,
                    color=colour, frame_locked=False)
    marker.pose.orientation.w = 1.0
    return marker


def skeleton_markers(persons, lifetime_s: float = 0.5) -> MarkerArray:
    """Bones (LINE_LIST), joints (SPHERE_LIST) and an id label per person with 3D keypoints.

    Markers are in the Persons header's frame and stamp; people without any 3D keypoint are left
    out. ``lifetime_s`` = 0 keeps markers until the next DELETEALL.
    """
    header = persons.header
    array = MarkerArray(markers=[Marker(header=header, action=Marker.DELETEALL)])
    lifetime = _duration(lifetime_s)
    for person in persons.persons:
        # The keypoints' own Points, shared by the bones that end there (message objects are slow to build).
        joints: Dict[int, Point] = {k.id: k.position for k in person.keypoints if k.has_position}
        if not joints:
            continue
        colour = track_colour(person.id)
        bones = _marker(header, 'bones', person.id, Marker.LINE_LIST, lifetime, colour)
        bones.scale.x = BONE_WIDTH_M
        bones.points = [joints[part] for a, b in SKELETON if a in joints and b in joints for part in (a, b)]
        spheres = _marker(header, 'joints', person.id, Marker.SPHERE_LIST, lifetime, colour)
        spheres.scale.x = spheres.scale.y = spheres.scale.z = JOINT_DIAMETER_M
        spheres.points = list(joints.values())
        label = _marker(header, 'labels', person.id, Marker.TEXT_VIEW_FACING, lifetime, colour)
        top = min(joints.values(), key=lambda p: p.y)
        label.pose.position = Point(x=top.x, y=top.y - LABEL_LIFT_M, z=top.z)
        label.scale.z = LABEL_HEIGHT_M
        label.text = 'id %d' % person.id
        if bones.points:  # a LINE_LIST without points makes RViz complain
            array.markers.append(bones)
        array.markers.extend((spheres, label))
    return array
