"""The bag command's throughput against ``tf-pose-ros bench``'s frames per second, one run, interleaved.

Two bags are written first (recordings/sample_bag.py), each ``--frames`` frames of the demo clip
(tf_pose_ros.samples.demo_frames) at ``--size``: one a raw bgr8 Image topic, one a JPEG CompressedImage
topic. With one estimator, bench's measurement on a frame of that clip (pipeline_bench.measure:
median ms of estimator.infer, as ``tf-pose-ros bench`` reports it; fps = 1000 / ms) alternates with
process_bag on each bag (fps = frames / seconds from opening the input to the output in place,
tracking and smoothing on): bench, raw bag, bench, compressed bag, bench, ... Each bag run is compared
with the bench blocks on either side of it, by bench's fps and by the bench block's own frames per
second (which, like the bag's, counts the slow frames a busy machine adds); the figures are medians
over the rounds::

    python -m tf_pose_ros.benchmarks.bag_bench --frames 30 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: The two bags: raw bgr8 Image frames, or JPEG CompressedImage ones.
KINDS = {'raw': 'Image', 'compressed': 'CompressedImage'}
#: Untimed frames before each bench block (pipeline_bench.measure's).
BENCH_WARMUP = 3


def measure(estimator, frames: int, rounds: int, size, workdir: Path, anonymize: bool = False,
            batch_size: int = 4) -> Dict[str, Dict[str, float]]:
    """Per kind of bag, medians over ``rounds`` rounds of bench, raw bag, bench, compressed bag (and a last
    bench): 'bench_fps' (1000 / bench's median ms, as it reports), 'bench_throughput' (the bench block's
    frames / seconds), 'bag_fps', and each bag run's 'ratio' and 'throughput_ratio' to the mean of the
    bench blocks beside it, so that a machine slowing down for a while slows both sides of a ratio."""
    from tf_pose_ros.benchmarks.pipeline_bench import measure as bench_measure
    from tf_pose_ros.recordings.processing import BagOptions, process_bag
    from tf_pose_ros.recordings.sample_bag import write_clip_bag
    from tf_pose_ros.samples import demo_frames

    clip = list(demo_frames(size[0], size[1], frames))
    for kind in KINDS:
        write_clip_bag(workdir / kind, clip, raw=kind == 'raw', compressed=kind == 'compressed', camera_info=False)
    estimator.prepare([size])

    def bench() -> Tuple[float, float]:
        started = time.perf_counter()
        median_ms = bench_measure(estimator, clip[len(clip) // 3], frames=frames, warmup=BENCH_WARMUP)['total']
        return 1e3 / median_ms, (frames + BENCH_WARMUP) / (time.perf_counter() - started)

    benches = [bench()]
    figures: Dict[str, Dict[str, List[float]]] = {
        kind: {'bag_fps': [], 'ratio': [], 'throughput_ratio': []} for kind in KINDS}
    for round_index in range(rounds):
        for kind in KINDS:
            out = workdir / ('%s_pose_%d' % (kind, round_index))
            summary = process_bag(estimator, workdir / kind, out, BagOptions(anonymize=anonymize,
                                                                            batch_size=batch_size))
            assert summary.inferred == frames, summary
            benches.append(bench())
            beside = benches[-2:]
            row = figures[kind]
            row['bag_fps'].append(summary.fps)
            row['ratio'].append(summary.fps / statistics.mean(b[0] for b in beside))
            row['throughput_ratio'].append(summary.fps / statistics.mean(b[1] for b in beside))
        print('round %d: bench %.1f fps, %s' % (round_index + 1, benches[-1][0], ', '.join(
            'bag %s %.1f fps (%.2fx)' % (kind, row['bag_fps'][-1], row['ratio'][-1])
            for kind, row in figures.items())), file=sys.stderr)
    bench_fps = statistics.median(b[0] for b in benches)
    bench_throughput = statistics.median(b[1] for b in benches)
    return {kind: dict({name: statistics.median(values) for name, values in row.items()}, bench_fps=bench_fps,
                       bench_throughput=bench_throughput) for kind, row in figures.items()}


def format_rows(rows: Dict[str, Dict[str, float]], description: str, size) -> str:
    """A markdown table: topic, bench fps and throughput, bag fps, their ratios."""
    lines = ['%s, %dx%d frames' % (description, size[0], size[1]), '',
             '| topic | bench fps (median ms) | bench frames/s | bag frames/s | bag / bench fps | '
             'bag / bench frames/s |', '|---|---|---|---|---|---|']
    for kind, row in rows.items():
        lines.append('| %s (%s) | %.1f | %.1f | %.1f | %.2fx | %.2fx |' % (
            kind, KINDS[kind], row['bench_fps'], row['bench_throughput'], row['bag_fps'], row['ratio'],
            row['throughput_ratio']))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    from tf_pose_ros.config import parse_resolution
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.runtime.allocator import keep_freed_memory

    parser = argparse.ArgumentParser(prog='python -m tf_pose_ros.benchmarks.bag_bench',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=30,
                        help='frames per bag and per bench block (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=7, help='interleaved rounds (default: %(default)s)')
    parser.add_argument('--size', default='640x480', help='frame size (default: %(default)s)')
    parser.add_argument('--model', default='mobilenet_thin')
    parser.add_argument('--preset', default='default')
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--batch-size', type=int, default=4, help="the bag command's (default: %(default)s)")
    parser.add_argument('--anonymize', action='store_true', help='the bags with --anonymize')
    args = parser.parse_args(argv)
    size = parse_resolution(args.size)
    keep_freed_memory()
    estimator = PoseEstimator(args.model, preset=args.preset, backend=args.backend)
    try:
        with tempfile.TemporaryDirectory(prefix='tf_pose_ros_bag_bench_') as workdir:
            rows = measure(estimator, args.frames, args.rounds, size, Path(workdir), args.anonymize, args.batch_size)
        print(format_rows(rows, '%s%s' % (estimator.config.describe(), ', --anonymize' if args.anonymize else ''),
                          size))
    finally:
        estimator.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
