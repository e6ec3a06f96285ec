"""The refined decoder: the original's maps and grouping scheme, decoded without its rounding.

Same network output, same greedy PAF grouping; what changes (docs/decoders-and-accuracy.md gives the
measured gain of each):

- peaks are found at network resolution (``upsample_ratio`` 1; other ratios upsample the part
  heatmaps bicubically) after a light Gaussian smoothing (sigma half a network pixel), and each
  gets a sub-pixel position from a parabola fitted to the log of the heatmap around it (a
  Gaussian's log is a parabola: the distribution-aware refinement of DARK, per axis);
- positions follow the training labels' convention (see find_parts), where the original's
  replicated blocks are half a block off at ratio 4;
- the PAF line integral samples the network's PAF bilinearly at the sub-pixel positions, about
  once per PAF pixel (at least 10 samples, at most 25), instead of 10 nearest-pixel samples;
- a person keeps a part slot once filled (the original overwrites it and counts it twice);
- a second pass lets weaker peaks (down to ``thresh_extend``) fill a found person's empty slots
  through a limb whose other end the person holds (refined_extension.py); they never start one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tf_pose_ros.decoders.peaks import local_maxima
from tf_pose_ros.decoders.refined import grouping as refined_grouping
from tf_pose_ros.decoders.refined.extension import extend_people
from tf_pose_ros.decoders.refined.ranking import PERSON_SCORES, rank_people
from tf_pose_ros.decoders.refined.subpixel import FITS, refine_peaks
from tf_pose_ros.decoders.types import GroupedPerson
from tf_pose_ros.parts import LIMB_PAF_CHANNELS, LIMBS, NUM_HEATMAPS, NUM_PAFS, NUM_PARTS, NUM_STARTING_LIMBS

_LIMBS = np.array(LIMBS, dtype=np.int64)
_LIMB_CHANNELS = np.array(LIMB_PAF_CHANNELS, dtype=np.int64)
#: Bicubic interpolation (OpenCV's, a = -0.75) weighs 4 x 4 values whose absolute weights sum to
#: at most 1.375 per axis, and the smoothing only averages: a channel whose raw maximum is below
#: threshold / 1.375**2 has no value above the threshold and is skipped.
_CUBIC_GAIN = 1.375 ** 2


@dataclass(frozen=True)
class RefinedSettings:
    """The refined decoder's choices; docs/decoders-and-accuracy.md explains each."""

    smooth_sigma: float = 0.5          # Gaussian smoothing before the peak search, network pixels
    fit: str = 'gaussian'              # sub-pixel fit: 'gaussian' (log-parabola), 'quadratic', 'none'
    thresh_heat: float = 0.05          # part peaks at or below this are ignored (the original's)
    thresh_vector: float = 0.05        # a PAF sample is aligned above this (the original's)
    min_good_fraction: float = 0.7     # of a limb's samples aligned (the original: 7 of 10)
    min_samples: int = 10              # PAF samples per limb: at least ...
    max_samples: int = 25              # ... and at most (OpenPose's later decoder samples up to 25)
    min_parts: int = 4                 # a person needs at least this many parts ...
    min_mean_score: float = 0.35       # ... and at least this mean score (the original: 4 and 0.3)
    extend: bool = True                # second pass: weaker peaks may fill found people's empty slots ...
    thresh_extend: float = 0.02        # ... down to this peak value (refined_extension.py)
    person_score: str = 'mean'         # a person's score (ranking.PERSON_SCORES)
    suppress_oks: float = 0.0          # drop a person whose OKS to a better one is above this (0: off)
    faint_min_parts: int = 2           # group_faint: the people left out above that still have this many parts ...
    faint_min_mean_score: float = 0.15  # ... of at least this mean score (docs/privacy.md)

    def __post_init__(self):
        if self.fit not in FITS:
            raise ValueError('fit %r: expected one of %s' % (self.fit, ', '.join(FITS)))
        if self.person_score not in PERSON_SCORES:
            raise ValueError('person_score %r: expected one of %s' % (self.person_score, ', '.join(PERSON_SCORES)))
        if not (self.thresh_heat > 0 and self.thresh_extend > 0):
            raise ValueError('peak thresholds must be positive: thresh_heat %r, thresh_extend %r'
                             % (self.thresh_heat, self.thresh_extend))

    @property
    def thresh_peaks(self) -> float:
        """The lowest peak either pass reads."""
        return min(self.thresh_extend, self.thresh_heat) if self.extend else self.thresh_heat


class RefinedDecoder:
    """Network output -> people with sub-pixel keypoints (module docstring). One serves one thread."""

    name = 'refined'

    def __init__(self, settings: RefinedSettings = RefinedSettings()):
        self.settings = settings
        self._planes = np.empty(0, np.float32)

    def device_hints(self, maps, map_size: Tuple[int, int]) -> None:
        """None: this decoder's stages all run on the host."""
        return None

    def find_parts(self, outputs: Sequence[np.ndarray], resolution: Tuple[int, int],
                   map_size: Tuple[int, int], device_hint: None = None):
        """Part peaks at ``map_size`` (x, y in map pixels, sub-pixel), their scores, and the PAF."""
        output = average_outputs(outputs)
        if not np.isfinite(output).all():
            raise ValueError('network output contains NaN or infinity')
        heat, paf = output[:, :, :NUM_PARTS], output[:, :, NUM_HEATMAPS:NUM_HEATMAPS + NUM_PAFS]
        width, height = map_size
        ratio = width / heat.shape[1]
        s = self.settings
        active = np.flatnonzero(heat.reshape(-1, NUM_PARTS).max(axis=0) > s.thresh_peaks / _CUBIC_GAIN)
        if self._planes.shape != (NUM_PARTS, height, width):
            self._planes = np.empty((NUM_PARTS, height, width), np.float32)
        planes = self._planes[:active.size]
        sigma = s.smooth_sigma * ratio
        for k, part in enumerate(active):
            channel = np.ascontiguousarray(heat[:, :, part])
            if (width, height) == (heat.shape[1], heat.shape[0]):
                planes[k] = channel
            else:
                cv2.resize(channel, (width, height), dst=planes[k], interpolation=cv2.INTER_CUBIC)
            if sigma > 0:
                cv2.GaussianBlur(planes[k], (0, 0), sigma, dst=planes[k], borderType=cv2.BORDER_CONSTANT)
        parts, ys, xs = local_maxima(planes, s.thresh_peaks)
        fx, fy = refine_peaks(planes, parts, ys, xs, FITS.index(s.fit))
        scores = planes[parts, ys, xs].astype(np.float64)
        # Training put a part at network input pixel index stride * i + (stride - 1) / 2 when it
        # peaks in output cell i (labels drawn at input size, area-downsampled by the stride);
        # map pixel j is cell (j + 0.5) / ratio - 0.5. In the original's convention (map pixel
        # index / map size * input size) that part sits at map pixel j + 0.5 - ratio / (2 stride).
        shift = 0.5 - ratio / (2.0 * resolution[0] / heat.shape[1])
        return active[parts], fx + shift, fy + shift, scores, np.ascontiguousarray(paf), ratio, float(height)

    def group(self, found) -> List[GroupedPerson]:
        """People from find_parts' peaks, in map pixels (sub-pixel floats)."""
        parts, fx, fy, scores, paf, ratio, map_height = found
        if parts.shape[0] == 0:
            return []
        s = self.settings
        strong = np.flatnonzero(scores > np.float32(s.thresh_heat))  # the first pass's peaks
        rows = self._first_pass(parts[strong], fx[strong], fy[strong], scores[strong], paf, ratio, map_height)
        grouped = self._completed(rows, strong, found)
        if s.person_score == 'mean' and s.suppress_oks <= 0:
            return grouped
        return rank_people(grouped, s.person_score, s.suppress_oks)

    def group_faint(self, found) -> List[GroupedPerson]:
        """The people group() leaves out (too few parts, too low a score) that still have
        ``faint_min_parts`` parts of mean score ``faint_min_mean_score``: people whose faces are
        blurred (privacy/), never published."""
        parts, fx, fy, scores, paf, ratio, map_height = found
        if parts.shape[0] == 0:
            return []
        s = self.settings
        strong = np.flatnonzero(scores > np.float32(s.thresh_heat))
        rows = self._first_pass(parts[strong], fx[strong], fy[strong], scores[strong], paf, ratio, map_height,
                                min(s.faint_min_parts, s.min_parts), min(s.faint_min_mean_score, s.min_mean_score))
        # The greedy assembly filters only at its end, so group()'s people are exactly the rows that
        # pass its thresholds: the others are the faint ones.
        count, total = rows[:, refined_grouping.COUNT], rows[:, refined_grouping.SCORE]
        return self._completed(rows[(count < s.min_parts) | (total / count < s.min_mean_score)], strong, found)

    def _completed(self, rows: np.ndarray, strong: np.ndarray, found) -> List[GroupedPerson]:
        """First-pass rows (ids among the ``strong`` peaks) as people, their empty slots filled by the second pass."""
        parts, fx, fy, scores, paf, ratio, map_height = found
        s = self.settings
        first = rows[:, :NUM_PARTS]
        people = np.where(first >= 0, strong[np.maximum(first, 0).astype(np.int64)], -1)  # ids among all peaks
        if s.extend and len(people):
            starts = np.searchsorted(parts, np.arange(NUM_PARTS + 1)).astype(np.int64)
            extend_people(people, starts, fx, fy, paf, float(ratio), map_height, _LIMBS, _LIMB_CHANNELS,
                          s.min_samples, s.max_samples, s.thresh_vector, s.min_good_fraction)
        fx_list, fy_list, score_list = fx.tolist(), fy.tolist(), scores.tolist()
        # The person's score stays its first pass's: weak parts would only lower it (docs/decoders-and-accuracy.md).
        person_scores = rows[:, refined_grouping.SCORE] / rows[:, refined_grouping.COUNT]
        grouped = []
        for row, person_score in zip(people.tolist(), person_scores.tolist()):
            found_parts = {part: (fx_list[peak], fy_list[peak], score_list[peak])
                           for part, peak in enumerate(row) if peak >= 0}
            grouped.append(GroupedPerson(person_score, found_parts))
        return grouped

    def _first_pass(self, parts, fx, fy, scores, paf, ratio, map_height, min_parts: Optional[int] = None,
                    min_mean_score: Optional[float] = None) -> np.ndarray:
        """The greedy grouping's people: rows of peak ids (-1 where absent), summed score, count; people
        need ``min_parts`` parts of ``min_mean_score`` (default: the settings')."""
        s = self.settings
        starts = np.searchsorted(parts, np.arange(NUM_PARTS + 1)).astype(np.int64)
        conns = refined_grouping.connect_limbs(
            starts, fx, fy, paf, float(ratio), map_height, _LIMBS, _LIMB_CHANNELS,
            s.min_samples, s.max_samples, s.thresh_vector, s.min_good_fraction)
        return refined_grouping.assemble_people(
            *conns, scores, _LIMBS, NUM_STARTING_LIMBS, s.min_parts if min_parts is None else min_parts,
            s.min_mean_score if min_mean_score is None else min_mean_score)


def average_outputs(outputs: Sequence[np.ndarray]) -> np.ndarray:
    """One output, or the mean of several (multi-scale), each resized to the first one's size."""
    if len(outputs) == 1:
        return np.asarray(outputs[0], np.float32)
    height, width = outputs[0].shape[:2]
    total = np.asarray(outputs[0], np.float32).copy()
    for output in outputs[1:]:
        total += cv2.resize(np.asarray(output, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return total / len(outputs)


def warmup() -> None:
    """Compile (or load from numba's cache) the decoder's code on a two-part scene that the second
    pass extends by a weak third part."""
    output = np.zeros((12, 12, NUM_HEATMAPS + NUM_PAFS), np.float32)
    (pa, pb), (cx, _) = LIMBS[0], LIMB_PAF_CHANNELS[0]
    output[2, 2, pa] = output[2, 9, pb] = 0.9
    output[2, 2:10, NUM_HEATMAPS + cx] = 1.0
    (weak_from, weak), (wx, _) = LIMBS[1], LIMB_PAF_CHANNELS[1]
    assert weak_from == pa
    output[2, 9, weak] = 0.045  # 0.028 after the smoothing: only the second pass takes it
    output[2, 2:10, NUM_HEATMAPS + wx] = 1.0
    decoder = RefinedDecoder(RefinedSettings(min_parts=2))
    decoder.group(decoder.find_parts([output], (96, 96), (12, 12)))
