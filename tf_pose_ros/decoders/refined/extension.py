"""The refined decoder's second pass: weak peaks join people the first pass found, never start one.

A part whose heatmap peak is below the first pass's threshold (the network is unsure of it: an
occluded ankle, a blurred wrist) is often still tied to its person by a clear PAF. The first pass
cannot take such peaks without also starting ghosts from them (a lower threshold for everything
lowered AP); here they may only fill an empty slot of a person already found, through a limb
whose other end that person holds, judged by the same PAF test as every limb.
"""

from __future__ import annotations

import numpy as np

from tf_pose_ros.decoders.refined.grouping import pair_score
from tf_pose_ros.parts import NUM_PARTS
from tf_pose_ros.runtime.compile_cache import njit


@njit
def extend_people(people, starts, xs, ys, paf, scale, map_height, limbs, limb_channels, min_samples,
                  max_samples, thresh_vector, min_good_fraction):
    """Fill the empty part slots of ``people`` (rows of peak ids, -1 where absent) in place.

    ``starts[p]:starts[p + 1]`` are the peaks of part p. Each round, every person proposes for each
    limb with exactly one end present its best-scoring free peak of the missing part; proposals
    are taken best first, each peak and slot once. Rounds repeat while a part was added (a new
    part can anchor the next limb). Returns the number of parts added.
    """
    n_people = people.shape[0]
    n_limbs = limbs.shape[0]
    used = np.zeros(xs.shape[0], np.bool_)
    for s in range(n_people):
        for part in range(NUM_PARTS):
            if people[s, part] >= 0:
                used[int(people[s, part])] = True
    prop_score = np.empty(n_people * n_limbs, np.float64)
    prop_person = np.empty(n_people * n_limbs, np.int64)
    prop_part = np.empty(n_people * n_limbs, np.int64)
    prop_peak = np.empty(n_people * n_limbs, np.int64)
    added = 0
    while True:
        n = 0
        for s in range(n_people):
            for limb in range(n_limbs):
                pa, pb = limbs[limb, 0], limbs[limb, 1]
                has_a = people[s, pa] >= 0
                if has_a == (people[s, pb] >= 0):
                    continue
                missing = pb if has_a else pa
                anchor = int(people[s, pa]) if has_a else int(people[s, pb])
                best = -1
                best_score = 0.0
                for c in range(starts[missing], starts[missing + 1]):
                    if used[c]:
                        continue
                    start, end = (anchor, c) if has_a else (c, anchor)  # the PAF points from pa to pb
                    score = pair_score(xs[start], ys[start], xs[end], ys[end], paf, scale,
                                       limb_channels[limb, 0], limb_channels[limb, 1], map_height,
                                       min_samples, max_samples, thresh_vector, min_good_fraction)
                    if score > best_score:
                        best = c
                        best_score = score
                if best >= 0:
                    prop_score[n] = best_score
                    prop_person[n] = s
                    prop_part[n] = missing
                    prop_peak[n] = best
                    n += 1
        if n == 0:
            break
        # The best proposal always goes in, so every round adds a part and the loop ends.
        for k in np.argsort(-prop_score[:n], kind='mergesort'):
            s, part, peak = prop_person[k], prop_part[k], prop_peak[k]
            if people[s, part] < 0 and not used[peak]:
                people[s, part] = peak
                used[peak] = True
                added += 1
    return added
