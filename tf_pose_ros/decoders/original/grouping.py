"""OpenPose's greedy part-affinity-field grouping, in numba.

Reproduces tf-pose-estimation's C++ ``pafprocess`` decision for decision, so its people are the
original's: the same peak order (part, then y, then x), the same candidate scoring in float32 with
its one double-precision term, libstdc++'s unstable ``std::sort`` order among tied candidates, the
same greedy limb matching and the same subset assembly, quirks included (the merge test ignores
peak id 0, a connection touching more than two people is dropped).
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from tf_pose_ros.decoders.buffers import grow
from tf_pose_ros.decoders.limb_matching import accept_greedily
from tf_pose_ros.decoders.types import GroupedPerson
from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, NUM_PARTS, NUM_STARTING_LIMBS
from tf_pose_ros.runtime.compile_cache import njit

THRESH_HEAT = np.float32(0.05)
THRESH_VECTOR_SCORE = np.float32(0.05)
THRESH_VECTOR_COUNT = 6      # a limb needs more than this many good samples along it
THRESH_PART_COUNT = 4        # a person needs at least this many parts ...
THRESH_HUMAN_SCORE = np.float32(0.3)  # ... and at least this mean score
STEP_PAF = 10                # PAF samples along a candidate limb

_SCORE = NUM_PARTS           # subset row column: summed score
_COUNT = NUM_PARTS + 1       # subset row column: part count
_LIMBS = np.array(LIMBS, dtype=np.int64)
_LIMB_CHANNELS = np.array(LIMB_PAF_CHANNELS, dtype=np.int64)

# Bit-pattern tests: for non-negative finite floats, int32 order is float order, so the peak
# threshold and the finiteness test become integer max-reductions, which LLVM vectorises
# (float ones it may not reorder without fast-math).
_THRESH_HEAT_BITS = np.int32(THRESH_HEAT.view(np.int32))
_ABS_MASK = np.int32(0x7FFFFFFF)
_EXPONENT_ALL_ONES = np.int32(0x7F800000)   # |bits| at or above this: inf or NaN
_SCAN_BLOCK = 256
_INT32_MIN = np.int32(-2147483648)
_SORT_THRESHOLD = 16         # libstdc++'s _S_threshold


# ---------------------------------------------------------------------------------------------
# Input scans
# ---------------------------------------------------------------------------------------------

@njit
def _scan_peaks(bits, thresh_bits):
    """Flat indices of peak values above the threshold, in memory order, and a non-finite flag.

    ``bits`` is the peak map's int32 view. A vectorised max per block finds the few blocks with
    a peak; only those are walked element by element.
    """
    n = bits.shape[0]
    n_blocks = (n + _SCAN_BLOCK - 1) // _SCAN_BLOCK
    full = n // _SCAN_BLOCK
    block_max = np.empty(n_blocks, np.int32)
    worst = np.int32(0)
    for b in range(full):
        start = b * _SCAN_BLOCK
        top = _INT32_MIN
        mag = np.int32(0)
        for j in range(_SCAN_BLOCK):
            v = bits[start + j]
            top = v if v > top else top
            a = v & _ABS_MASK
            mag = a if a > mag else mag
        block_max[b] = top
        worst = mag if mag > worst else worst
    if full < n_blocks:
        top = _INT32_MIN
        for i in range(full * _SCAN_BLOCK, n):
            v = bits[i]
            top = v if v > top else top
            a = v & _ABS_MASK
            worst = a if a > worst else worst
        block_max[full] = top
    if worst >= _EXPONENT_ALL_ONES:
        return np.empty(0, np.int64), True

    count = 0
    for b in range(n_blocks):
        if block_max[b] > thresh_bits:
            for i in range(b * _SCAN_BLOCK, min(n, (b + 1) * _SCAN_BLOCK)):
                if bits[i] > thresh_bits:
                    count += 1
    hits = np.empty(count, np.int64)
    k = 0
    for b in range(n_blocks):
        if block_max[b] > thresh_bits:
            for i in range(b * _SCAN_BLOCK, min(n, (b + 1) * _SCAN_BLOCK)):
                if bits[i] > thresh_bits:
                    hits[k] = i
                    k += 1
    return hits, False


@njit
def _has_non_finite(bits):
    """True if the float32 array behind this int32 view holds a NaN or an infinity."""
    worst = np.int32(0)
    for i in range(bits.shape[0]):
        a = bits[i] & _ABS_MASK
        worst = a if a > worst else worst
    return worst >= _EXPONENT_ALL_ONES


# ---------------------------------------------------------------------------------------------
# std::sort, as libstdc++ does it
# ---------------------------------------------------------------------------------------------
# The C++ sorts candidates with std::sort and "score greater than": ties come out in whatever
# order libstdc++'s introsort leaves them, and the greedy matching then depends on that order.
# Up to 16 candidates that is a plain (stable) insertion sort; beyond, median-of-three
# partitioning reorders equal scores. The routines below replay libstdc++'s algorithm (GCC 4.9
# and later) on a permutation, with comp(a, b) = score[a] > score[b].

@njit
def _sift_down(order, score, base, hole, length, value):
    """libstdc++ __adjust_heap followed by __push_heap on order[base:base + length]."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if score[order[base + child]] > score[order[base + child - 1]]:
            child -= 1
        order[base + hole] = order[base + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        order[base + hole] = order[base + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and score[order[base + parent]] > score[value]:
        order[base + hole] = order[base + parent]
        hole = parent
        parent = (hole - 1) // 2
    order[base + hole] = value


@njit
def _heap_sort(order, score, first, last):
    """libstdc++ partial_sort(first, last, last): make_heap, then sort_heap."""
    length = last - first
    if length >= 2:
        parent = (length - 2) // 2
        while True:
            _sift_down(order, score, first, parent, length, order[first + parent])
            if parent == 0:
                break
            parent -= 1
    while last - first > 1:
        last -= 1
        value = order[last]
        order[last] = order[first]
        _sift_down(order, score, first, 0, last - first, value)


@njit
def _std_sort_descending(order, score):
    """Sort the permutation ``order`` by descending ``score[order]`` exactly as std::sort would."""
    n = order.shape[0]
    if n < 2:
        return
    depth = 0
    while (1 << (depth + 1)) <= n:
        depth += 1
    # Introsort's recursion on disjoint ranges, run from an explicit stack: each range's outcome
    # is independent of when it is processed.
    stack = np.empty((2 * 64 + 2, 3), np.int64)
    stack[0, 0], stack[0, 1], stack[0, 2] = 0, n, 2 * depth
    top = 1
    while top > 0:
        top -= 1
        first, last, limit = stack[top, 0], stack[top, 1], stack[top, 2]
        while last - first > _SORT_THRESHOLD:
            if limit == 0:
                _heap_sort(order, score, first, last)
                break
            limit -= 1
            # Median of (first + 1, middle, last - 1) swapped into first.
            a, b, c = first + 1, first + (last - first) // 2, last - 1
            sa, sb, sc = score[order[a]], score[order[b]], score[order[c]]
            if sa > sb:
                if sb > sc:
                    m = b
                elif sa > sc:
                    m = c
                else:
                    m = a
            elif sa > sc:
                m = a
            elif sb > sc:
                m = c
            else:
                m = b
            order[first], order[m] = order[m], order[first]
            # Unguarded Hoare partition around order[first].
            pivot = score[order[first]]
            lo, hi = first + 1, last
            while True:
                while score[order[lo]] > pivot:
                    lo += 1
                hi -= 1
                while pivot > score[order[hi]]:
                    hi -= 1
                if not lo < hi:
                    break
                order[lo], order[hi] = order[hi], order[lo]
                lo += 1
            stack[top, 0], stack[top, 1], stack[top, 2] = lo, last, limit
            top += 1
            last = lo
    # libstdc++'s final pass (guarded insertion on the first 16, unguarded after) orders exactly
    # like a guarded insertion sort over the whole range.
    for i in range(1, n):
        value = order[i]
        j = i
        while j > 0 and score[value] > score[order[j - 1]]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = value


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------

@njit
def _limb_candidates(ax, ay, bx, by, paf, ratio, ch_x, ch_y, map_height):
    """Scored (a, b) pairs of one limb that pass both criteria, best first (std::sort order).

    Peaks are in map pixels; ``paf`` is the map shrunk by the integer ``ratio`` (1: the map itself),
    whose pixel (y // ratio, x // ratio) is the replicated map's (y, x).
    """
    na, nb = ax.shape[0], bx.shape[0]
    capacity = min(na * nb, 64)
    cand_a = np.empty(capacity, np.int64)
    cand_b = np.empty(capacity, np.int64)
    cand_score = np.empty(capacity, np.float32)
    n = 0
    steps = np.float32(STEP_PAF)
    for i in range(na):
        for j in range(nb):
            dx = np.float32(bx[j] - ax[i])
            dy = np.float32(by[j] - ay[i])
            # float sqrt; sqrt in double then rounded to float gives the same bits.
            norm = np.float32(math.sqrt(dx * dx + dy * dy))
            if norm < 1e-12:
                continue
            ux = dx / norm
            uy = dy / norm
            step_x = dx / steps
            step_y = dy / steps
            x0 = np.float32(ax[i])
            y0 = np.float32(ay[i])
            total = np.float32(0.0)
            good = 0
            for k in range(STEP_PAF):
                # The C++ rounds with (int)(v + 0.5): v a float sum, the + 0.5 in double.
                px = int(np.float64(x0 + np.float32(k) * step_x) + 0.5)
                py = int(np.float64(y0 + np.float32(k) * step_y) + 0.5)
                py //= ratio
                px //= ratio
                dot = ux * paf[py, px, ch_x] + uy * paf[py, px, ch_y]
                total += dot
                if dot > THRESH_VECTOR_SCORE:
                    good += 1
            # The length prior is double (0.0 and 0.5 are double literals); the sum is stored
            # back into a float.
            prior = min(0.0, 0.5 * map_height / np.float64(norm) - 1.0)
            criterion = np.float32(np.float64(total / steps) + prior)
            if good > THRESH_VECTOR_COUNT and criterion > 0:
                if n == capacity:
                    capacity *= 2
                    cand_a = grow(cand_a, capacity)
                    cand_b = grow(cand_b, capacity)
                    cand_score = grow(cand_score, capacity)
                cand_a[n] = i
                cand_b[n] = j
                cand_score[n] = criterion
                n += 1
    order = np.arange(n)
    _std_sort_descending(order, cand_score[:n])
    return cand_a[order], cand_b[order], cand_score[order]


@njit
def _collect_peaks(hits, heatmap):
    """Phase 1: flat peak-map indices (y, x, part memory order) -> peaks in the C++'s order.

    Returns per-part start offsets and each peak's x, y and heatmap score, ordered part, y, x.
    """
    channels = heatmap.shape[2]
    width = heatmap.shape[1]
    # Memory order is y, x, part: a stable counting sort by part gives the C++'s part, y, x.
    starts = np.zeros(NUM_PARTS + 1, np.int64)
    for i in range(hits.shape[0]):
        c = hits[i] % channels
        if c < NUM_PARTS:
            starts[c + 1] += 1
    for p in range(NUM_PARTS):
        starts[p + 1] += starts[p]
    num_peaks = starts[NUM_PARTS]
    fill = starts[:NUM_PARTS].copy()
    xs = np.empty(num_peaks, np.int64)
    ys = np.empty(num_peaks, np.int64)
    peak_score = np.empty(num_peaks, np.float32)
    for i in range(hits.shape[0]):
        c = hits[i] % channels
        if c < NUM_PARTS:
            pixel = hits[i] // channels
            k = fill[c]
            ys[k] = pixel // width
            xs[k] = pixel % width
            peak_score[k] = heatmap[ys[k], xs[k], c]
            fill[c] += 1
    return starts, xs, ys, peak_score


@njit
def _sorted_peaks(parts, ys, xs, heatmap, ratio):
    """Phase 1 for peaks already ordered part, y, x: start offsets and heatmap scores.

    ``heatmap`` is the map shrunk by the integer ``ratio`` (see _limb_candidates).
    """
    starts = np.zeros(NUM_PARTS + 1, np.int64)
    peak_score = np.empty(parts.shape[0], np.float32)
    for i in range(parts.shape[0]):
        starts[parts[i] + 1] += 1
        peak_score[i] = heatmap[ys[i] // ratio, xs[i] // ratio, parts[i]]
    for p in range(NUM_PARTS):
        starts[p + 1] += starts[p]
    return starts, peak_score


@njit
def _connect_limbs(starts, xs, ys, paf, ratio, map_height, limbs, limb_channels):
    """Phase 2: greedy matching per limb; accepted connections as global peak ids, in acceptance order."""
    n_limbs = limbs.shape[0]
    conn_limb = np.empty(16, np.int64)
    conn_a = np.empty(16, np.int64)
    conn_b = np.empty(16, np.int64)
    conn_score = np.empty(16, np.float32)
    n_conns = 0
    for limb in range(n_limbs):
        pa, pb = limbs[limb, 0], limbs[limb, 1]
        a0, a1, b0, b1 = starts[pa], starts[pa + 1], starts[pb], starts[pb + 1]
        if a1 == a0 or b1 == b0:
            continue
        cand_a, cand_b, cand_score = _limb_candidates(
            xs[a0:a1], ys[a0:a1], xs[b0:b1], ys[b0:b1], paf, ratio,
            limb_channels[limb, 0], limb_channels[limb, 1], map_height)
        conn_limb, conn_a, conn_b, conn_score, n_conns = accept_greedily(
            cand_a, cand_b, cand_score, limb, a0, a1 - a0, b0, b1 - b0, conn_limb, conn_a, conn_b, conn_score,
            n_conns)
    return conn_limb[:n_conns], conn_a[:n_conns], conn_b[:n_conns], conn_score[:n_conns]


@njit
def _assemble_people(conn_limb, conn_a, conn_b, conn_score, peak_score, limbs):
    """Phase 3: connections -> people, kept by part count and mean score.

    Returns the kept subsets' part columns (global peak ids, -1 where absent) and their scores.
    """
    n_conns = conn_limb.shape[0]
    # Subset rows as the C++ keeps them: float32 part columns holding peak ids (-1: none), then
    # the summed score and the part count, all updated with its float arithmetic.
    subset = np.empty((n_conns + 1, NUM_PARTS + 2), np.float32)
    n_sub = 0
    for k in range(n_conns):
        limb = conn_limb[k]
        p1, p2 = limbs[limb, 0], limbs[limb, 1]
        cid1 = np.float32(conn_a[k])
        cid2 = np.float32(conn_b[k])
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
            # "> 0", as in the C++: peak id 0 never counts as shared.
            shared = False
            for part in range(NUM_PARTS):
                if subset[first, part] > 0 and subset[second, part] > 0:
                    shared = True
            if not shared:
                # The C++'s merge arithmetic: -1 + id + 1 = id, id + -1 + 1 = id; it goes wrong
                # only on the unnoticed peak id 0, and that is reproduced too.
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

    n_kept = 0
    for s in range(n_sub):
        if not (subset[s, _COUNT] < THRESH_PART_COUNT
                or subset[s, _SCORE] / subset[s, _COUNT] < THRESH_HUMAN_SCORE):
            subset[n_kept] = subset[s]
            n_kept += 1
    part_ids = np.empty((n_kept, NUM_PARTS), np.int64)
    scores = np.empty(n_kept, np.float32)
    for s in range(n_kept):
        for part in range(NUM_PARTS):
            part_ids[s, part] = int(subset[s, part])  # truncation, like the C++ getter
        scores[s] = subset[s, _SCORE] / subset[s, _COUNT]
    return part_ids, scores




@njit
def _group(hits, heatmap, paf, limbs, limb_channels):
    """The C++ process_paf on pre-scanned peaks: the three phases on full-size maps."""
    starts, xs, ys, peak_score = _collect_peaks(hits, heatmap)
    conns = _connect_limbs(starts, xs, ys, paf, 1, heatmap.shape[0], limbs, limb_channels)
    part_ids, scores = _assemble_people(conns[0], conns[1], conns[2], conns[3], peak_score, limbs)
    return part_ids, scores, xs, ys, peak_score


@njit
def _group_sorted(parts, ys, xs, heatmap, paf, ratio, map_height, limbs, limb_channels):
    """The three phases on peaks in the C++'s order, with maps shrunk by ``ratio``."""
    starts, peak_score = _sorted_peaks(parts, ys, xs, heatmap, ratio)
    conns = _connect_limbs(starts, xs, ys, paf, ratio, map_height, limbs, limb_channels)
    return _assemble_people(conns[0], conns[1], conns[2], conns[3], peak_score, limbs) + (peak_score,)


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

def _check_maps(peaks, heatmap, paf) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    arrays = []
    for name, value, channels in (('peaks', peaks, NUM_HEATMAPS), ('heatmap', heatmap, NUM_HEATMAPS),
                                  ('paf', paf, NUM_PAFS)):
        if not isinstance(value, np.ndarray):
            raise ValueError('%s must be a numpy array, got %s' % (name, type(value).__name__))
        if value.ndim != 3 or value.shape[2] != channels:
            raise ValueError('%s must be H x W x %d, got shape %s' % (name, channels, value.shape))
        arrays.append(np.ascontiguousarray(value, dtype=np.float32))
    if not arrays[0].shape[:2] == arrays[1].shape[:2] == arrays[2].shape[:2]:
        raise ValueError('peaks, heatmap and paf must share H x W, got %s, %s and %s'
                         % tuple(a.shape[:2] for a in arrays))
    if arrays[0].size == 0:
        raise ValueError('maps are empty: shape %s' % (arrays[0].shape,))
    return arrays[0], arrays[1], arrays[2]


def group_people(peaks, heatmap, paf) -> List[GroupedPerson]:
    """Group body-part peaks into people along the part affinity fields, as the C++ did.

    ``peaks`` (H x W x 19: smoothed heatmaps where they are a local maximum, else 0),
    ``heatmap`` (H x W x 19) and ``paf`` (H x W x 38); other dtypes are converted to float32.
    Returns the people in the order the original leaves them. ValueError for maps of the wrong
    shape, mismatched sizes or NaN/infinite values.
    """
    peaks, heatmap, paf = _check_maps(peaks, heatmap, paf)
    # The peak scan checks the peak map's finiteness on the way.
    hits, peaks_bad = _scan_peaks(peaks.reshape(-1).view(np.int32), _THRESH_HEAT_BITS)
    if peaks_bad:
        raise ValueError('peaks contains NaN or infinity')
    for name, array in (('heatmap', heatmap), ('paf', paf)):
        if _has_non_finite(array.reshape(-1).view(np.int32)):
            raise ValueError('%s contains NaN or infinity' % name)
    if hits.shape[0] == 0:
        return []
    part_ids, scores, xs, ys, peak_score = _group(hits, heatmap, paf, _LIMBS, _LIMB_CHANNELS)
    return _people(part_ids, scores, xs, ys, peak_score)


def group_peaks_at_ratio(parts, ys, xs, heatmap, paf, ratio: int) -> List[GroupedPerson]:
    """group_people for maps that are ``heatmap`` and ``paf`` replicated ``ratio`` x ``ratio``.

    ``parts``, ``ys``, ``xs`` are the part peaks (as peaks.local_maxima gives them, ordered part,
    y, x) in the replicated maps' pixels; the grouping reads the small maps where the original read
    the replicated ones, so the people are the same. ``heatmap`` is H x W x 19 (or 18), ``paf``
    H x W x 38, both finite float32.
    """
    heatmap = np.asarray(heatmap, dtype=np.float32)  # channel slices of the output: no copy needed
    paf = np.asarray(paf, dtype=np.float32)
    if ratio < 1 or heatmap.shape[:2] != paf.shape[:2] or paf.shape[2] != NUM_PAFS or heatmap.shape[2] < NUM_PARTS:
        raise ValueError('heatmap %s and paf %s at ratio %r do not fit together'
                         % (heatmap.shape, paf.shape, ratio))
    parts, ys, xs = (np.asarray(a, np.int64) for a in (parts, ys, xs))
    if parts.shape[0] == 0:
        return []
    part_ids, scores, peak_score = _group_sorted(parts, ys, xs, heatmap, paf, int(ratio),
                                                 heatmap.shape[0] * int(ratio), _LIMBS, _LIMB_CHANNELS)
    return _people(part_ids, scores, xs, ys, peak_score)


def _people(part_ids, scores, xs, ys, peak_score) -> List[GroupedPerson]:
    xs, ys, peak_score = xs.tolist(), ys.tolist(), peak_score.tolist()
    people = []
    for row, score in zip(part_ids.tolist(), scores.tolist()):
        parts = {}
        for part_id, cid in enumerate(row):
            # A merge on peak id 0 can leave an id past the last peak, where the C++ reads out of
            # bounds; such a part is left out. Any other id is reported as the C++ reports it.
            if 0 <= cid < len(xs):
                parts[part_id] = (xs[cid], ys[cid], peak_score[cid])
        if parts:
            people.append(GroupedPerson(float(score), parts))
    return people


def warmup() -> None:
    """Compile (or load from numba's cache) the grouping code, so no frame pays for it."""
    order = np.arange(40)
    _std_sort_descending(order, np.zeros(40, np.float32))  # the >16 paths a tiny scene misses
    h, w = 12, 12
    peaks = np.zeros((h, w, NUM_HEATMAPS), np.float32)
    paf = np.zeros((h, w, NUM_PAFS), np.float32)
    # Two parts joined by a limb, so every stage runs, not just the empty-map exit.
    (pa, pb), (cx, _) = LIMBS[0], LIMB_PAF_CHANNELS[0]
    peaks[2, 2, pa] = peaks[2, 9, pb] = 0.9
    paf[2, 2:10, cx] = 1.0
    group_people(peaks, peaks, paf)
    group_peaks_at_ratio(np.array([pa, pb]), np.array([2, 2]), np.array([2, 9]), peaks, paf, 1)
    # Read-only arrays (np.frombuffer on a message, say) are a separate numba signature.
    for array in (peaks, paf):
        array.setflags(write=False)
    group_people(peaks, peaks, paf)
