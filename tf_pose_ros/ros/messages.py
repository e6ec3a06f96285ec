"""Pose results as tf_pose_ros messages."""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

from geometry_msgs.msg import Point

from tf_pose_ros import people
from tf_pose_ros.msg import Keypoint, Person, Persons
from tf_pose_ros.people import PoseResult


def persons_msg(result: PoseResult, header, model: str, min_person_score: float = 0.0,
                min_keypoint_score: float = 0.0, ids: Optional[Sequence[int]] = None,
                positions: Optional[Sequence] = None) -> Persons:
    """Build a Persons message for one frame; ``header`` is the image's, copied as is.

    ``ids`` (one per person of ``result``, e.g. track ids) become Person.id; without them a
    person's id is its index in the message. ``positions`` (per person, a K x 3 array for its K
    keypoints, NaN rows where unknown) fill Keypoint.position and has_position.
    """
    msg = Persons()
    msg.header = header
    msg.image_width, msg.image_height = result.image_size
    msg.model = model
    for index, person in enumerate(result.persons):
        if person.score < min_person_score:
            continue
        person_id = len(msg.persons) if ids is None else int(ids[index])
        person_msg = Person(id=person_id, score=float(person.score))
        lifted = positions[index] if positions is not None else None
        for number, k in enumerate(person.keypoints):
            if k.score < min_keypoint_score:
                continue
            keypoint = Keypoint(id=k.id, name=k.name, x=float(k.x), y=float(k.y), confidence=float(k.score))
            if lifted is not None and not math.isnan(lifted[number][2]):
                x, y, z = (float(v) for v in lifted[number])
                keypoint.has_position, keypoint.position = True, Point(x=x, y=y, z=z)
            person_msg.keypoints.append(keypoint)
        if person_msg.keypoints:
            xs = [k.x for k in person_msg.keypoints]
            ys = [k.y for k in person_msg.keypoints]
            person_msg.x_min, person_msg.y_min = min(xs), min(ys)
            person_msg.x_max, person_msg.y_max = max(xs), max(ys)
        msg.persons.append(person_msg)
    return msg


def confident(result: PoseResult, tracks: Sequence[int], min_person_score: float,
              min_keypoint_score: float) -> Tuple[PoseResult, List[int]]:
    """The persons and keypoints of ``result`` that persons_msg puts in a message, with their ``tracks``."""
    kept = [(people.Person(person.score, tuple(k for k in person.keypoints if k.score >= min_keypoint_score)),
             track) for person, track in zip(result.persons, tracks) if person.score >= min_person_score]
    return dataclasses.replace(result, persons=[person for person, _ in kept]), [track for _, track in kept]
