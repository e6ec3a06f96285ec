"""Ranking and de-duplicating grouped people: pure functions on GroupedPerson lists.

COCO AP ranks every detection of a data set by its score, and a robot keeps the people it trusts:
both want a score that says how likely a true, whole person is, and one detection per body.
"""

from __future__ import annotations

import math
from typing import List, Sequence, Tuple

from tf_pose_ros.decoders.types import GroupedPerson
from tf_pose_ros.parts import NUM_PARTS, PART_NAMES

#: How a person's score is computed: 'mean' (the grouping's mean of part and limb scores), 'parts'
#: (the sum of its part scores over all NUM_PARTS parts: a fragment scores low).
PERSON_SCORES: Tuple[str, ...] = ('mean', 'parts')

#: COCO's per-keypoint OKS sigmas by OpenPose part name (the neck, not in COCO: the shoulders').
_COCO_SIGMAS = {'nose': .026, 'neck': .079, 'shoulder': .079, 'elbow': .072, 'wrist': .062, 'hip': .107,
                'knee': .087, 'ankle': .089, 'eye': .025, 'ear': .035}
PART_SIGMAS: Tuple[float, ...] = tuple(_COCO_SIGMAS[name.split('_')[-1]] for name in PART_NAMES)


def person_score(person: GroupedPerson, method: str) -> float:
    """The score of ``person`` by ``method`` (PERSON_SCORES)."""
    if method == 'mean':
        return person.score
    if method == 'parts':
        return sum(score for _, _, score in person.parts.values()) / NUM_PARTS
    raise ValueError('person score %r: expected one of %s' % (method, ', '.join(PERSON_SCORES)))


def oks(kept: GroupedPerson, other: GroupedPerson) -> float:
    """COCO's object keypoint similarity of ``other`` to ``kept`` over the parts both have (0 when none),
    with the area of ``kept``'s keypoint box as the object's scale."""
    common = [part for part in other.parts if part in kept.parts]
    if not common:
        return 0.0
    xs = [p[0] for p in kept.parts.values()]
    ys = [p[1] for p in kept.parts.values()]
    area = max((max(xs) - min(xs)) * (max(ys) - min(ys)), 1.0)
    total = 0.0
    for part in common:
        (ax, ay, _), (bx, by, _) = kept.parts[part], other.parts[part]
        variance = (2.0 * PART_SIGMAS[part]) ** 2
        total += math.exp(-((ax - bx) ** 2 + (ay - by) ** 2) / (2.0 * area * variance))
    return total / len(common)


def rank_people(people: Sequence[GroupedPerson], method: str = 'mean', suppress_oks: float = 0.0
                ) -> List[GroupedPerson]:
    """People rescored by ``method``, best first; with ``suppress_oks`` > 0 a person whose OKS to a
    better one exceeds it is dropped (a second detection of the same body)."""
    scored = sorted((GroupedPerson(person_score(p, method), p.parts) for p in people),
                    key=lambda p: -p.score)
    if suppress_oks <= 0.0:
        return scored
    kept: List[GroupedPerson] = []
    for person in scored:
        if all(oks(better, person) <= suppress_oks for better in kept):
            kept.append(person)
    return kept
