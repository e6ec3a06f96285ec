"""Pose results as tf_pose_ros/msg/Persons messages of rosbags' types, as the node publishes them
(ros/messages.py): the image's header, one Person per person with its keypoints and their box."""

from __future__ import annotations

from typing import Optional, Sequence

from tf_pose_ros.people import PoseResult
from tf_pose_ros.recordings.message_types import PERSONS


def header_of(types, header):
    """A ROS 2 std_msgs/Header (stamp and frame_id) of any message's header, a ROS 1 one (with seq) too."""
    stamp = types.types['builtin_interfaces/msg/Time'](sec=int(header.stamp.sec), nanosec=int(header.stamp.nanosec))
    return types.types['std_msgs/msg/Header'](stamp=stamp, frame_id=header.frame_id)


def stamp_seconds(header) -> float:
    """A header's stamp in seconds."""
    return int(header.stamp.sec) + int(header.stamp.nanosec) * 1e-9


def persons_message(types, result: PoseResult, header, model: str, ids: Optional[Sequence[int]] = None):
    """The Persons message of one frame; ``ids`` (one per person, track ids) become Person.id, else the index."""
    point = types.types['geometry_msgs/msg/Point']
    keypoint_type, person_type = types.types['tf_pose_ros/msg/Keypoint'], types.types['tf_pose_ros/msg/Person']
    persons = []
    for index, person in enumerate(result.persons):
        keypoints = [keypoint_type(id=k.id, name=k.name, x=float(k.x), y=float(k.y), confidence=float(k.score),
                                   has_position=False, position=point(x=0.0, y=0.0, z=0.0))
                     for k in person.keypoints]
        xs, ys = [k.x for k in keypoints] or [0.0], [k.y for k in keypoints] or [0.0]
        persons.append(person_type(id=index if ids is None else int(ids[index]), score=float(person.score),
                                   keypoints=keypoints, x_min=min(xs), y_min=min(ys), x_max=max(xs), y_max=max(ys)))
    width, height = result.image_size
    return types.types[PERSONS](header=header, image_width=int(width), image_height=int(height), model=model,
                                persons=persons)
