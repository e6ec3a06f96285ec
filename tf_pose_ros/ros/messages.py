"""Pose results as tf_pose_ros messages."""

from __future__ import annotations

from typing import Optional, Sequence

from tf_pose_ros.msg import Keypoint, Person, Persons
from tf_pose_ros.people import PoseResult


def persons_msg(result: PoseResult, header, model: str, min_person_score: float = 0.0,
                min_keypoint_score: float = 0.0, ids: Optional[Sequence[int]] = None) -> Persons:
    """Build a Persons message for one frame; ``header`` is the image's, copied as is.

    ``ids`` (one per person of ``result``, e.g. track ids) become Person.id; without them a
    person's id is its index in the message.
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
        person_msg.keypoints = [
            Keypoint(id=k.id, name=k.name, x=float(k.x), y=float(k.y), confidence=float(k.score))
            for k in person.keypoints if k.score >= min_keypoint_score]
        if person_msg.keypoints:
            xs = [k.x for k in person_msg.keypoints]
            ys = [k.y for k in person_msg.keypoints]
            person_msg.x_min, person_msg.y_min = min(xs), min(ys)
            person_msg.x_max, person_msg.y_max = max(xs), max(ys)
        msg.persons.append(person_msg)
    return msg
