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
    """A table of bench rows (one per configuration), each column as wide as its widest cell."""
    header = ['model', 'resolution', 'ratio', 'device'] + list(STAGES) + ['non-net %']
    table = [header]
    for row in rows:
        non_net = 100.0 * (row['total'] - row['network']) / row['network'] if row['network'] else float('nan')
        cells = [row['model'], row['resolution'], '%g' % row['upsample_ratio'], row['device']]
        table.append(cells + ['%.2f' % row[stage] for stage in STAGES] + ['%.1f' % non_net])
    widths = [max(len(line[col]) for line in table) for col in range(len(header))]
    return '\n'.join('  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in table)


def network_latency(network, resolution, frames: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of one network run on a random image at (width, height) ``resolution``."""
    import time

    width, height = resolution
    batch = np.random.default_rng(0).uniform(0, 255, (1, height, width, 3)).astype(np.float32)
    for _ in range(warmup):
        network(batch)
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        network(batch)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def zoo_rows(resolution=(432, 368), frames: int = 10, device: str = 'cpu', model_dir=None, names=None):
    """One row per registered model: GFLOPs and parameters counted from its graph, median latency.

    Models with weights present are measured on their real graph; the others on their architecture
    rebuilt in Keras with random weights and exported as a frozen graph (same ops, same cost).
    Yields rows as they are measured; ``names`` limits the models.
    """
    import tempfile
    from pathlib import Path

    from tf_pose_ros.model_store import weights_present
    from tf_pose_ros.config import format_resolution
    from tf_pose_ros.models import MODELS
    from tf_pose_ros.network import FrozenGraphNetwork
    from tf_pose_ros.zoo import build_model, count_graph_flops, count_parameters, export_frozen_graph

    width, height = resolution
    for name in names or MODELS:
        weights = weights_present(name, model_dir=model_dir)
        with tempfile.TemporaryDirectory(prefix='tf_pose_ros_bench_') as tmp:
            if weights is None:
                graph_path = Path(tmp) / 'graph_opt.pb'
                model = build_model(name, input_shape=(height, width, 3), fold_batchnorm=True)
                export_frozen_graph(model, graph_path)
                del model
            else:
                graph_path = weights
            network = FrozenGraphNetwork(graph_path, device=device)
            yield {'model': name, 'resolution': format_resolution(resolution),
                   'weights': 'real' if weights else 'random',
                   'gflops': count_graph_flops(graph_path, resolution),
                   'params': count_parameters(graph_path),
                   'network_ms': network_latency(network, resolution, frames),
                   'device': network.device}


def format_zoo_table(rows: List[Dict]) -> str:
    """The model table: name, resolution, GFLOPs, parameters, weights used, median network latency."""
    lines = ['%-20s %-10s %9s %10s %-8s %12s' % ('model', 'resolution', 'GFLOPs', 'params (M)', 'weights',
                                                 'network ms')]
    for row in rows:
        lines.append('%-20s %-10s %9.2f %10.2f %-8s %12.1f' % (row['model'], row['resolution'], row['gflops'],
                                                             row['params'] / 1e6, row['weights'],
                                                             row['network_ms']))
    return '\n'.join(lines)
