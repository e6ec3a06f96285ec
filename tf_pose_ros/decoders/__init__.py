"""Decoders: network output (heatmaps and PAFs) -> people; registry.py builds them.

A decoder has a name, the upsample ratio it runs at and the resizing of frames to the network input
it was measured with (unless the configuration sets them), and two
stages the estimator times separately: ``find_parts(outputs, resolution, map_size)`` (the part
peaks) and ``group(found)`` (the people, as grouping.GroupedPerson in map pixels, which
people.persons_from_grouping scales to the image). One decoder instance serves one thread.

- ``original``: tf-pose-estimation's post-processing exactly (postprocess.py, peaks.py,
  grouping.py), the people the original finds.
- ``refined``: the same networks decoded with sub-pixel peaks at network resolution
  (refined.py), the default: higher COCO AP in less time (docs/decoders-and-accuracy.md).
"""

from __future__ import annotations

from typing import Dict, Tuple

# Plain names here, so the configuration can validate a decoder without importing numba code.
DECODERS: Tuple[str, ...] = ('refined', 'original')
DEFAULT_DECODER = 'refined'
#: The upsample ratio each decoder runs at when the configuration leaves it unset.
DEFAULT_RATIOS: Dict[str, float] = {'refined': 1.0, 'original': 4.0}
#: How each decoder's frames are resized to the network input unless the configuration says:
#: refined as the networks were trained (INTER_AREA, +0.007 COCO AP), original as the original does.
DEFAULT_INTERPOLATIONS: Dict[str, str] = {'refined': 'area', 'original': 'cubic'}
#: Whether each decoder's network input follows the frame's aspect ratio unless the configuration says:
#: refined yes (+COCO AP, docs/accuracy-presets.md), original no (the original squeezes to resolution).
DEFAULT_KEEP_ASPECT: Dict[str, bool] = {'refined': True, 'original': False}
