"""PAF grouping on sub-pixel peaks: the refined decoder's line integral, matching and assembly.

The original's greedy scheme (limbs in a fixed order, candidates by score, each peak used once per
limb, people grown from connections), with what its integer, nearest-pixel version leaves out:
peaks keep their sub-pixel positions, the PAF is sampled bilinearly at network resolution with a
number of samples that grows with the limb's length, and a person keeps a part slot once it is
filled instead of overwriting it.
"""

from __future__ import annotations

import math

import numpy as np

from tf_pose_ros.decoders.limb_matching import accept_greedily
from tf_pose_ros.parts import NUM_PARTS
from tf_pose_ros.runtime.compile_cache import njit

SCORE = NUM_PARTS            # person row column: summed score
COUNT = NUM_PARTS + 1        # person row column: part count


@njit
def _bilinear(paf, y, x, channel):
    """paf[y, x, channel] interpolated; y, x in pixel-centre coordinates, clamped to the map."""
    height, width = paf.shape[0], paf.shape[1]
    x = min(max(x, 0.0), width - 1.0)
    y = min(max(y, 0.0), height - 1.0)
    x0 = min(int(x), width - 2) if width > 1 else 0
    y0 = min(int(y), height - 2) if height > 1 else 0
    fx = x - x0
    fy = y - y0
    x1 = min(x0 + 1, width - 1)
    y1 = min(y0 + 1, height - 1)
    top = paf[y0, x0, channel] * (1.0 - fx) + paf[y0, x1, channel] * fx
    bottom = paf[y1, x0, channel] * (1.0 - fx) + paf[y1, x1, channel] * fx
    return top * (1.0 - fy) + bottom * fy


@njit
def pair_score(ax, ay, bx, by, paf, scale, ch_x, ch_y, map_height, min_samples, max_samples,
               thresh_vector, min_good_fraction):
    """The PAF score of a limb from (ax, ay) to (bx, by); 0.0 where the pair is not a limb.

    Peaks are in map coordinates (continuous, pixel edges at integers); ``scale`` turns them into
    PAF pixel-centre coordinates (PAF = map / scale). A pair needs at least ``min_good_fraction``
    of its samples aligned above ``thresh_vector`` and a positive score: the mean alignment plus
    the original's prior against limbs longer than half the map's height.
    """
    dx = bx - ax
    dy = by - ay
    norm = math.sqrt(dx * dx + dy * dy)
    if norm < 1e-6:
        return 0.0
    ux = dx / norm
    uy = dy / norm
    # About one sample per PAF pixel along the limb, within [min_samples, max_samples].
    steps = min(max(int(round(norm / scale)) + 1, min_samples), max_samples)
    total = 0.0
    good = 0
    for k in range(steps):
        t = (k + 0.5) / steps
        px = (ax + t * dx) / scale - 0.5
        py = (ay + t * dy) / scale - 0.5
        dot = ux * _bilinear(paf, py, px, ch_x) + uy * _bilinear(paf, py, px, ch_y)
        total += dot
        if dot > thresh_vector:
            good += 1
    score = total / steps + min(0.0, 0.5 * map_height / norm - 1.0)
    if good >= min_good_fraction * steps and score > 0:
        return score
    return 0.0


@njit
def _limb_candidates(ax, ay, bx, by, paf, scale, ch_x, ch_y, map_height, min_samples, max_samples,
                     thresh_vector, min_good_fraction):
    """Scored (a, b) pairs of one limb (pair_score above 0), best first."""
    na, nb = ax.shape[0], bx.shape[0]
    n_max = na * nb
    cand_a = np.empty(n_max, np.int64)
    cand_b = np.empty(n_max, np.int64)
    cand_score = np.empty(n_max, np.float64)
    n = 0
    for i in range(na):
        for j in range(nb):
            score = pair_score(ax[i], ay[i], bx[j], by[j], paf, scale, ch_x, ch_y, map_height, min_samples,
                               max_samples, thresh_vector, min_good_fraction)
            if score > 0:
                cand_a[n] = i
                cand_b[n] = j
                cand_score[n] = score
                n += 1
    # Stable: equal scores keep the peaks' order, so the result never depends on a sort's whims.
    order = np.argsort(-cand_score[:n], kind='mergesort')
    return cand_a[order], cand_b[order], cand_score[order]


@njit
def connect_limbs(starts, xs, ys, paf, scale, map_height, limbs, limb_channels, min_samples,
                  max_samples, thresh_vector, min_good_fraction):
    """Greedy matching per limb: accepted (limb, peak a, peak b, score), in acceptance order."""
    conn_limb = np.empty(16, np.int64)
    conn_a = np.empty(16, np.int64)
    conn_b = np.empty(16, np.int64)
    conn_score = np.empty(16, np.float64)
    n_conns = 0
    for limb in range(limbs.shape[0]):
        pa, pb = limbs[limb, 0], limbs[limb, 1]
        a0, a1, b0, b1 = starts[pa], starts[pa + 1], starts[pb], starts[pb + 1]
        if a1 == a0 or b1 == b0:
            continue
        cand_a, cand_b, cand_score = _limb_candidates(
            xs[a0:a1], ys[a0:a1], xs[b0:b1], ys[b0:b1], paf, scale, limb_channels[limb, 0],
            limb_channels[limb, 1], map_height, min_samples, max_samples, thresh_vector, min_good_fraction)
        conn_limb, conn_a, conn_b, conn_score, n_conns = accept_greedily(
            cand_a, cand_b, cand_score, limb, a0, a1 - a0, b0, b1 - b0, conn_limb, conn_a, conn_b, conn_score,
            n_conns)
    return conn_limb[:n_conns], conn_a[:n_conns], conn_b[:n_conns], conn_score[:n_conns]


@njit
def assemble_people(conn_limb, conn_a, conn_b, conn_score, peak_score, limbs, num_starting_limbs,
                    min_parts, min_mean_score):
    """Connections -> people: part columns (peak ids, -1 where absent) and summed score, count.

    A connection joins the person holding one of its ends (filling only an empty slot), merges
    two people that share no part, or starts a person (only the first ``num_starting_limbs`` limbs
    do). People with fewer than ``min_parts`` parts or a mean score below ``min_mean_score`` go.
    """
    n_conns = conn_limb.shape[0]
    people = np.full((n_conns + 1, NUM_PARTS + 2), -1.0)
    n_people = 0
    for k in range(n_conns):
        limb = conn_limb[k]
        p1, p2 = limbs[limb, 0], limbs[limb, 1]
        a, b = conn_a[k], conn_b[k]
        first = -1
        second = -1
        for s in range(n_people):
            if people[s, p1] == a or people[s, p2] == b:
                if first < 0:
                    first = s
                elif second < 0:
                    second = s
        if first >= 0 and second >= 0:
            shared = False
            for part in range(NUM_PARTS):
                if people[first, part] >= 0 and people[second, part] >= 0:
                    shared = True
            if not shared:
                for part in range(NUM_PARTS):
                    if people[second, part] >= 0:
                        people[first, part] = people[second, part]
                people[first, COUNT] += people[second, COUNT]
                people[first, SCORE] += people[second, SCORE] + conn_score[k]
                for s in range(second, n_people - 1):
                    people[s] = people[s + 1]
                n_people -= 1
        elif first >= 0:
            if people[first, p1] < 0:
                people[first, p1] = a
                people[first, COUNT] += 1.0
                people[first, SCORE] += peak_score[a] + conn_score[k]
            elif people[first, p2] < 0:
                people[first, p2] = b
                people[first, COUNT] += 1.0
                people[first, SCORE] += peak_score[b] + conn_score[k]
        elif limb < num_starting_limbs:
            people[n_people, :] = -1.0
            people[n_people, p1] = a
            people[n_people, p2] = b
            people[n_people, COUNT] = 2.0
            people[n_people, SCORE] = peak_score[a] + peak_score[b] + conn_score[k]
            n_people += 1
    n_kept = 0
    for s in range(n_people):
        if people[s, COUNT] >= min_parts and people[s, SCORE] / people[s, COUNT] >= min_mean_score:
            people[n_kept] = people[s]
            n_kept += 1
    return people[:n_kept]
