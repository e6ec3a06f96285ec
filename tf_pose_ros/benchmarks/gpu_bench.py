"""The torch engine timed on a GPU: network and whole pipeline, one camera and a batch of cameras.

``python -m tf_pose_ros.benchmarks.gpu_bench`` (``make bench-gpu``) needs only torch, numpy, numba, scipy and
OpenCV (no TensorFlow, OpenVINO or ROS) and the weights (their converted program is made on first
use, without TensorFlow). Every time is a synchronised wall clock (the CUDA stream is drained before
and after), warm-up excluded; the table gives medians and p99. ``--device cpu`` runs it on the CPU.

- network: a preprocessed batch (numpy, host) -> the maps on the device, ready.
- pipeline: ``PoseEstimator.infer`` / ``infer_batch`` from the BGR frames to the people (the peak
  search on the GPU, the grouping on the CPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from tf_pose_ros.streams.stats import nearest_rank

DEFAULT_CASES = ('mobilenet_thin:432x368', 'cmu:656x368')


def _timed(run: Callable[[], object], sync: Callable[[], None], frames: int, warmup: int) -> List[float]:
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        run()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return sorted(times)


def _summary(times: List[float]) -> Dict[str, float]:
    return {'median_ms': statistics.median(times), 'p99_ms': nearest_rank(times, 0.99)}


def measure(model: str, resolution: str, precision: str, device: str, cameras: int, frames: int,
            warmup: int, model_dir: Optional[str] = None, frame: Optional[np.ndarray] = None) -> Dict:
    """One row: network and pipeline, single frame and ``cameras`` frames batched."""
    from tf_pose_ros.engines.torch_engine import import_torch

    torch = import_torch()

    from tf_pose_ros.config import EstimatorConfig, parse_resolution
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.preprocess import resize_for_network

    config = EstimatorConfig(model=model, resolution=parse_resolution(resolution), device=device, backend='torch',
                             precision=precision, model_dir=model_dir or '')
    row: Dict = {'model': model, 'resolution': resolution, 'precision': precision}
    try:
        estimator = PoseEstimator.from_config(config)
    except (ValueError, RuntimeError, OSError) as err:  # a precision the GPU lacks, absent weights, no CUDA
        row['error'] = ' '.join(str(err).split())
        return row
    network = estimator.network
    assert network is not None
    cuda = network.device.startswith('/GPU')
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if frame is None:
        from tf_pose_ros.samples import group_photo_bgr  # scikit-image's photo

        frame = group_photo_bgr(3)  # three people, 1104 x 368
    frames_batch = [frame] * cameras
    single = resize_for_network(frame, estimator.resolution)[np.newaxis]
    batch = np.repeat(single, cameras, axis=0)
    device_maps = network.device_maps
    row['device'] = torch.cuda.get_device_name(int(network.device.split(':')[1])) if cuda else 'CPU'
    row['people'] = len(estimator.infer(frame).persons)
    for key, run, count in (('network_1', lambda: device_maps(single), 1),
                            ('pipeline_1', lambda: estimator.infer(frame), 1),
                            ('network_%d' % cameras, lambda: device_maps(batch), cameras),
                            ('pipeline_%d' % cameras, lambda: estimator.infer_batch(frames_batch), cameras)):
        summary = _summary(_timed(run, sync, frames, warmup))
        row[key] = summary
        row[key + '_fps'] = count * 1e3 / summary['median_ms']
    estimator.close()
    return row


def _cell(row: Dict, key: str) -> str:
    return '%.2f / %.2f' % (row[key]['median_ms'], row[key]['p99_ms'])


def install_skeleton(model: str, skeleton_path: Path, model_dir: Path) -> None:
    """Make ``model`` load from ``model_dir`` as its skeleton with random weights (speed only).

    The skeleton file stands in for the weights; its converted program (random weights) goes into
    the conversion cache beside it, so the estimator loads it like any converted model.
    """
    from tf_pose_ros.engines.torch_convert import random_weights, save_program
    from tf_pose_ros.engines.torch_engine import PROGRAM_VARIANT, program_cache

    weights = model_dir / model / 'graph_opt.pb'
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(skeleton_path.read_bytes())
    program = json.loads(skeleton_path.read_text())

    def build(stem: Path) -> List[str]:
        save_program(program['steps'], random_weights(program), Path(str(stem) + '.npz'))
        return ['.npz']

    program_cache(weights).store(PROGRAM_VARIANT, build)


def format_table(rows: Sequence[Dict], cameras: int) -> str:
    """Markdown table: per-frame median / p99 ms of network and pipeline, batched frames per second."""
    batch = '%d' % cameras
    header = ['model', 'resolution', 'precision', 'device', 'network ms (median / p99)',
              'pipeline ms (median / p99)', 'network %s cams ms a batch' % batch, 'pipeline %s cams ms a batch' % batch,
              'pipeline %s cams fps' % batch, 'people']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for row in rows:
        if 'error' in row:
            cells = [row['model'], row['resolution'], row['precision'], 'not run: ' + row['error']]
            cells += [''] * (len(header) - len(cells))
        else:
            cell = partial(_cell, row)
            cells = [row['model'], row['resolution'], row['precision'], row['device'], cell('network_1'),
                     cell('pipeline_1'), cell('network_' + batch), cell('pipeline_' + batch),
                     '%.0f' % row['pipeline_%s_fps' % batch], str(row['people'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m tf_pose_ros.benchmarks.gpu_bench',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='gpu', help="'gpu', 'gpu:N' or 'cpu' (default: %(default)s)")
    parser.add_argument('--cases', default=','.join(DEFAULT_CASES), metavar='MODEL:WxH,...',
                        help='models and resolutions (default: %(default)s)')
    parser.add_argument('--precisions', default='fp32,fp16,bf16', help='(default: %(default)s)')
    parser.add_argument('--cameras', type=int, default=8, help='frames in the batched rows (default: %(default)s)')
    parser.add_argument('--frames', type=int, default=200, help='timed runs per figure (default: %(default)s)')
    parser.add_argument('--warmup', type=int, default=20, help='untimed runs first (default: %(default)s)')
    parser.add_argument('--model-dir', help='directory searched first for <model>/graph_opt.pb')
    parser.add_argument('--skeleton', action='append', default=[], metavar='MODEL=SKELETON.json',
                        help='time MODEL with random weights from its skeleton (torch_convert --skeleton)')
    parser.add_argument('--image', help='the frame to time (default: three people, 1104x368, from scikit-image)')
    args = parser.parse_args(argv)
    frame = None
    if args.image:
        import cv2

        frame = cv2.imread(args.image)
        if frame is None:
            parser.error('cannot read image %s' % args.image)
    rows = []
    scratch = None
    if args.skeleton:
        scratch = tempfile.TemporaryDirectory(prefix='gpu_bench-')
        args.model_dir = scratch.name
        for item in args.skeleton:
            model, _, path = item.partition('=')
            install_skeleton(model, Path(path), Path(scratch.name))
    for case in args.cases.split(','):
        model, _, resolution = case.strip().partition(':')
        for precision in args.precisions.split(','):
            row = measure(model, resolution or '432x368', precision.strip(), args.device, args.cameras,
                          args.frames, args.warmup, args.model_dir, frame)
            rows.append(row)
            print('done: %s %s %s' % (model, resolution, precision), file=sys.stderr, flush=True)
    print(format_table(rows, args.cameras))
    if scratch is not None:
        scratch.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
