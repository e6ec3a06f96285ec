"""The greedy limb matching both decoders share: each limb's candidates accepted best first."""

from __future__ import annotations

import numpy as np

from tf_pose_ros.decoders.buffers import grow
from tf_pose_ros.runtime.compile_cache import njit


@njit
def accept_greedily(cand_a, cand_b, cand_score, limb, a0, n_a, b0, n_b, conn_limb, conn_a, conn_b, conn_score,
                    n_conns):
    """Accept one limb's candidates in order (best first), each peak at most once, appending to the
    connection buffers (grown as needed); returns the buffers and the new count."""
    used_a = np.zeros(n_a, np.bool_)
    used_b = np.zeros(n_b, np.bool_)
    for k in range(cand_a.shape[0]):
        i, j = cand_a[k], cand_b[k]
        if used_a[i] or used_b[j]:
            continue
        used_a[i] = True
        used_b[j] = True
        if n_conns == conn_limb.shape[0]:
            capacity = 2 * n_conns
            conn_limb = grow(conn_limb, capacity)
            conn_a = grow(conn_a, capacity)
            conn_b = grow(conn_b, capacity)
            conn_score = grow(conn_score, capacity)
        conn_limb[n_conns] = limb
        conn_a[n_conns] = a0 + i
        conn_b[n_conns] = b0 + j
        conn_score[n_conns] = cand_score[k]
        n_conns += 1
    return conn_limb, conn_a, conn_b, conn_score, n_conns
