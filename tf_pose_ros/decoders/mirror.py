"""Horizontal flip test-time augmentation: the maps of a mirrored image, mirrored back.

The network sees the frame flipped left-right; its maps describe the mirrored people, so to add
them to the frame's own maps each map is flipped back along x, every left part's heatmap trades
places with its right counterpart, and every limb's PAF with its mirror limb's, whose x component
changes sign (a mirrored limb points the other way along x).
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, PART_NAMES


def mirror_part(part: int) -> int:
    """The part id of the mirror image of ``part`` (left <-> right; nose and neck stay)."""
    name = PART_NAMES[part]
    for side, other in (('left_', 'right_'), ('right_', 'left_')):
        if name.startswith(side):
            return PART_NAMES.index(other + name[len(side):])
    return part


def mirror_tables() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source channel, sign) for un-mirroring a map stack: output channel c = sign[c] * flipped
    input channel source[c]; plus the heatmap permutation alone. Pure: derived from parts.py."""
    source = np.arange(NUM_HEATMAPS + NUM_PAFS)
    sign = np.ones(NUM_HEATMAPS + NUM_PAFS, np.float32)
    for part in range(len(PART_NAMES)):
        source[part] = mirror_part(part)
    limb_index = {limb: k for k, limb in enumerate(LIMBS)}
    for k, (a, b) in enumerate(LIMBS):
        mirrored = (mirror_part(a), mirror_part(b))
        if mirrored in limb_index:
            other, direction = limb_index[mirrored], 1.0
        else:  # the mirror limb is listed the other way round: its vectors point back
            other, direction = limb_index[mirrored[::-1]], -1.0
        (cx, cy), (ox, oy) = LIMB_PAF_CHANNELS[k], LIMB_PAF_CHANNELS[other]
        source[NUM_HEATMAPS + cx], sign[NUM_HEATMAPS + cx] = NUM_HEATMAPS + ox, -direction
        source[NUM_HEATMAPS + cy], sign[NUM_HEATMAPS + cy] = NUM_HEATMAPS + oy, direction
    return source, sign, source[:NUM_HEATMAPS].copy()


_SOURCE, _SIGN, _ = mirror_tables()


def unmirror_maps(maps: np.ndarray) -> np.ndarray:
    """N x H x W x 57 maps of mirrored images -> the maps of the images themselves (a new array)."""
    return maps[:, :, ::-1, :][..., _SOURCE] * _SIGN


def with_mirrors(images: List[np.ndarray]) -> List[np.ndarray]:
    """``images`` followed by their left-right mirror images (contiguous copies)."""
    return list(images) + [np.ascontiguousarray(image[:, ::-1]) for image in images]


def merge_mirrored(output: np.ndarray) -> np.ndarray:
    """2N maps from with_mirrors' batch -> the N images' maps averaged with their mirrors' flipped back."""
    count = output.shape[0] // 2
    merged = unmirror_maps(output[count:])
    merged += output[:count]
    merged *= 0.5
    return merged
