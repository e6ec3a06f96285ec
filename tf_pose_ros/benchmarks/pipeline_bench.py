"""Per-stage latency measurement of the pose pipeline."""

from __future__ import annotations

import statistics
from typing import Any, Dict, List

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
    header = ['model', 'resolution', 'scales', 'ratio', 'device', 'backend', 'precision'] + list(STAGES) + ['non-net %']
    table = [header]
    for row in rows:
        non_net = 100.0 * (row['total'] - row['network']) / row['network'] if row['network'] else float('nan')
        cells = [row['model'], row['resolution'], ','.join('%g' % scale for scale in row.get('scales', (1.0,))),
                 '%g' % row['upsample_ratio'], row['device'], row['backend'], row['precision']]
        table.append(cells + ['%.2f' % row[stage] for stage in STAGES] + ['%.1f' % non_net])
    widths = [max(len(line[col]) for line in table) for col in range(len(header))]
    return '\n'.join('  '.join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in table)


def network_latencies(networks: Dict[str, Any], resolution, frames: int = 10, block: int = 2) -> Dict[str, float]:
    """Median milliseconds of one run of each network on the same photo, timed in interleaved blocks."""
    import time

    from tf_pose_ros.preprocess import resize_for_network
    from tf_pose_ros.samples import group_photo_bgr

    batch = resize_for_network(group_photo_bgr(3), resolution)[np.newaxis]
    times: Dict[str, List[float]] = {name: [] for name in networks}
    for _ in range(max(1, -(-frames // block))):
        for name, network in networks.items():
            network(batch)  # untimed: wakes the engine's threads after another engine ran
            for _ in range(block):
                start = time.perf_counter()
                network(batch)
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def network_latency(network, resolution, frames: int = 10) -> float:
    """Median milliseconds of one network run on a photo at (width, height) ``resolution``."""
    return network_latencies({'network': network}, resolution, frames)['network']


def zoo_rows(resolution=(432, 368), frames: int = 10, device: str = 'cpu', model_dir=None, names=None,
             backends=('tensorflow',)):
    """One row per registered model: GFLOPs and parameters counted from its graph, median latency.

    Models with weights present are measured on their real graph; the others on their architecture
    rebuilt in Keras with random weights and exported as a frozen graph (same ops, same cost).
    ``backends`` are timed side by side (``network_ms`` per backend); ``map_diff`` is each one's
    largest difference from TensorFlow's maps on the same photo. Yields rows as they are measured;
    ``names`` limits the models.
    """
    import tempfile
    from pathlib import Path

    from tf_pose_ros.config import EstimatorConfig, format_resolution
    from tf_pose_ros.engines import open_network
    from tf_pose_ros.models import MODELS
    from tf_pose_ros.models.store import weights_present
    from tf_pose_ros.models.zoo import build_model, count_graph_flops, count_parameters, export_frozen_graph
    from tf_pose_ros.preprocess import resize_for_network
    from tf_pose_ros.samples import group_photo_bgr

    width, height = resolution
    backends = list(dict.fromkeys(['tensorflow'] + list(backends)))
    batch = resize_for_network(group_photo_bgr(3), resolution)[np.newaxis]
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
            config = EstimatorConfig(model=name, model_path=str(graph_path), resolution=resolution, device=device)
            networks = {b: open_network(config.replace(backend=b), Path(graph_path), [resolution]) for b in backends}
            reference = networks['tensorflow'](batch)
            latencies = network_latencies(networks, resolution, frames)
            yield {'model': name, 'resolution': format_resolution(resolution),
                   'weights': 'real' if weights else 'random',
                   'gflops': count_graph_flops(graph_path, resolution),
                   'params': count_parameters(graph_path),
                   'network_ms': latencies['tensorflow'], 'backend_ms': latencies,
                   'map_diff': {b: float(np.abs(n(batch) - reference).max()) for b, n in networks.items()},
                   'device': networks['tensorflow'].device}
            for network in networks.values():
                network.close()


def format_zoo_table(rows: List[Dict]) -> str:
    """The model table: GFLOPs, parameters, weights used, median network ms per backend."""
    backends = list(rows[0]['backend_ms']) if rows else ['tensorflow']
    header = ['model', 'resolution', 'GFLOPs', 'params (M)', 'weights'] + ['%s ms' % b for b in backends]
    header += ['%s max map diff' % b for b in backends[1:]]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        cells = [row['model'], row['resolution'], '%.2f' % row['gflops'], '%.2f' % (row['params'] / 1e6),
                 row['weights']] + ['%.1f' % row['backend_ms'][b] for b in backends]
        cells += ['%.1e' % row['map_diff'][b] for b in backends[1:]]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
