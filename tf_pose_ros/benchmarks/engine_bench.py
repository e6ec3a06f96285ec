"""Engines side by side: speed against the bare TensorFlow fp32 network, cost to load, agreement.

Every configuration is loaded in one process and timed in interleaved blocks on the same frame,
so machine noise hits them alike; figures are medians and ratios to TensorFlow fp32's network time
from the same run. Load time, first-frame time and memory are measured in a fresh child process per
configuration (engines share libraries and allocators within a process). Agreement compares the
people each configuration finds on samples.agreement_photos() with TensorFlow fp32's.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from tf_pose_ros.config import EstimatorConfig, format_resolution
from tf_pose_ros.people import Person

REFERENCE = ('tensorflow', 'fp32')
#: Keypoints agree when both coordinates are within this fraction of the image's longer side.
KEYPOINT_TOLERANCE = 0.01


def compare_poses(reference: Sequence[Person], other: Sequence[Person], image_size: Tuple[int, int],
                  tolerance: float = KEYPOINT_TOLERANCE) -> Tuple[bool, int, int]:
    """(same number of people, reference keypoints matched, reference keypoints in all).

    People are compared in order (both come from the same grouping); a keypoint matches when the
    other person has that part within ``tolerance`` x the image's longer side.
    """
    limit = tolerance * max(image_size)
    matched = total = 0
    for ref_person, person in zip(reference, other):
        for keypoint in ref_person.keypoints:
            twin = person.keypoint(keypoint.id)
            matched += twin is not None and abs(twin.x - keypoint.x) <= limit and abs(twin.y - keypoint.y) <= limit
    total = sum(len(p.keypoints) for p in reference)
    return len(reference) == len(other), matched, total


def _rss_mb() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def probe(config: EstimatorConfig) -> Dict[str, float]:
    """Load time, first-frame time and resident memory of ``config`` in this (fresh) process."""
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.runtime.allocator import keep_freed_memory
    from tf_pose_ros.samples import group_photo_bgr

    keep_freed_memory()
    image = group_photo_bgr(3)
    rss_before = _rss_mb()
    started = time.perf_counter()
    estimator = PoseEstimator.from_config(config)
    loaded = time.perf_counter()
    estimator.infer(image)
    first = time.perf_counter()
    return {'load_s': loaded - started, 'first_frame_ms': (first - loaded) * 1e3, 'rss_mb': _rss_mb(),
            'rss_added_mb': _rss_mb() - rss_before, 'tensorflow_loaded': 'tensorflow' in sys.modules}


def probe_in_child(config: EstimatorConfig, timeout: float = 900.0) -> Dict[str, float]:
    """probe() in a fresh Python process (cold libraries, honest memory)."""
    settings = {name: getattr(config, name) for name in config.__dataclass_fields__}
    out = subprocess.run([sys.executable, '-m', 'tf_pose_ros.benchmarks.engine_bench', json.dumps(settings)],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        raise RuntimeError('probe of %s failed: %s' % (config.describe(), lines[-1] if lines else out.returncode))
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_engines(base: EstimatorConfig, combos: Iterable[Tuple[str, str]], frames: int = 30,
                    block: int = 3, isolated: bool = True, progress=None) -> List[Dict]:
    """One row per (backend, precision) in ``combos`` plus TensorFlow fp32 (the reference).

    Rows: network/pipeline ms (medians), their ratios to the reference network, agreement with the
    reference on the photos, and (``isolated``) load_s, first_frame_ms, rss_mb. A combination this
    machine cannot run gets a row with its 'error'.
    """
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.samples import agreement_photos, group_photo_bgr

    combos = list(dict.fromkeys([REFERENCE] + list(combos)))
    estimators: Dict[Tuple[str, str], PoseEstimator] = {}
    rows: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for backend, precision in combos:
        row: Dict[str, Any] = {'model': base.model, 'resolution': format_resolution(base.input_resolution),
               'backend': backend, 'precision': precision}
        rows[(backend, precision)] = row
        try:
            estimators[(backend, precision)] = PoseEstimator.from_config(
                base.replace(backend=backend, precision=precision))
        except ValueError as err:  # e.g. a precision this CPU lacks
            row['error'] = str(err)
        if progress:
            progress('loaded %s %s' % (backend, precision))
    if REFERENCE not in estimators:
        raise RuntimeError('the TensorFlow fp32 reference could not be loaded: %s' % rows[REFERENCE]['error'])

    image = group_photo_bgr(3)
    samples: Dict[Tuple[str, str], Dict[str, List[float]]] = {k: {'network': [], 'total': []} for k in estimators}
    rounds = max(1, -(-frames // block))
    for _ in range(rounds):
        for key, estimator in estimators.items():
            estimator.infer(image)  # the engine's threads wake up untimed after another engine ran
            for _ in range(block):
                timings = estimator.infer(image).timings_ms
                samples[key]['network'].append(timings['network'])
                samples[key]['total'].append(timings['total'])
    reference_ms = statistics.median(samples[REFERENCE]['network'])

    photos = agreement_photos()
    reference_people = {name: estimators[REFERENCE].infer(photo) for name, photo in photos.items()}
    for key, estimator in estimators.items():
        row = rows[key]
        row['network_ms'] = statistics.median(samples[key]['network'])
        row['pipeline_ms'] = statistics.median(samples[key]['total'])
        row['network_vs_tf'] = row['network_ms'] / reference_ms
        row['pipeline_vs_tf'] = row['pipeline_ms'] / reference_ms
        same = matched = total = 0
        for name, photo in photos.items():
            result = estimator.infer(photo)
            equal_count, hit, count = compare_poses(reference_people[name].persons, result.persons,
                                                    result.image_size)
            same += equal_count
            matched += hit
            total += count
        row['same_people'] = '%d/%d' % (same, len(photos))
        row['keypoints_within'] = matched / max(total, 1)
        row['people'] = sum(len(estimator.infer(photo).persons) for photo in photos.values())
    for estimator in estimators.values():
        estimator.close()
    if isolated:
        for key in estimators:
            rows[key].update(probe_in_child(base.replace(backend=key[0], precision=key[1])))
            if progress:
                progress('probed %s %s' % key)
    return [rows[key] for key in combos]


def format_engine_table(rows: List[Dict]) -> str:
    """The comparison as a Markdown table."""
    header = ['model', 'backend', 'precision', 'network ms', 'x TF net', 'pipeline ms', 'pipeline x TF net',
              'same people', 'keypoints within 1%', 'load s', 'first frame ms', 'RSS MB', 'TF loaded']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        if 'error' in row:
            cells = [row['model'], row['backend'], row['precision'], 'not run: ' + row['error']]
            cells += [''] * (len(header) - len(cells))
        else:
            cells = [row['model'], row['backend'], row['precision'], '%.1f' % row['network_ms'],
                     '%.2f' % row['network_vs_tf'], '%.1f' % row['pipeline_ms'], '%.2f' % row['pipeline_vs_tf'],
                     row['same_people'], '%.1f%%' % (100 * row['keypoints_within'])]
            cells += (['%.2f' % row['load_s'], '%.0f' % row['first_frame_ms'], '%.0f' % row['rss_mb'],
                       'yes' if row['tensorflow_loaded'] else 'no'] if 'load_s' in row else ['-'] * 4)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def parse_combos(backends: str, precisions: str) -> List[Tuple[str, str]]:
    """'tensorflow,openvino' x 'fp32,bf16' -> every pair (validated names)."""
    from tf_pose_ros.config import parse_backend, parse_precision

    names = [parse_backend(b) for b in backends.split(',') if b.strip()]
    if 'auto' in names:
        raise ValueError('compare named backends, not auto')
    return [(b, parse_precision(p)) for b in names for p in precisions.split(',') if p.strip()]


def main(argv: Optional[List[str]] = None) -> int:
    """Child-process entry: probe one configuration given as JSON; prints the figures as JSON."""
    args = sys.argv[1:] if argv is None else argv
    config = EstimatorConfig.from_mapping(json.loads(args[0]))
    print(json.dumps(probe(config)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
