"""Per-stage latency measurement of the pose pipeline."""

from __future__ import annotations

import statistics
from typing import Dict, List

import numpy as np

from tf_pose_ros.estimator import STAGES, PoseEstimator


def measure(estimator: PoseEstimator, image: np.ndarray, frames: int = 30, warmup: int = 3) -> Dict[str, float]:
    """Median milliseconds per stage over ``frames`` inferences of ``image`` (after ``warmup`` runs)."""
    if frames < 1:
        raise ValueError('frames must be at least 1')
    for _ in range(warmup):
        estimator.infer(image)
    samples: Dict[str, List[float]] = {stage: [] for stage in STAGES}
    persons = 0
    for _ in range(frames):
        result = estimator.infer(image)
        persons = len(result.persons)
        for stage in STAGES:
            samples[stage].append(result.timings_ms[stage])
    medians = {stage: statistics.median(values) for stage, values in samples.items()}
    medians['persons'] = persons
    return medians


def format_table(rows: List[Dict]) -> str:
    """A fixed-width table of bench rows (one per configuration)."""
    header = ['model', 'resolution', 'ratio', 'device'] + list(STAGES) + ['non-net %']
    lines = ['  '.join('%-12s' % h for h in header)]
    for row in rows:
        non_net = 100.0 * (row['total'] - row['network']) / row['network'] if row['network'] else float('nan')
        cells = [row['model'], row['resolution'], '%g' % row['upsample_ratio'], row['device']]
        cells += ['%.2f' % row[stage] for stage in STAGES] + ['%.1f' % non_net]
        lines.append('  '.join('%-12s' % c for c in cells))
    return '\n'.join(lines)
