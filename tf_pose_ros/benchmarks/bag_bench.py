"""The bag command's throughput against ``tf-pose-ros bench``'s frames per second, one run, interleaved.

Two bags are written first (recordings/sample_bag.py), each ``--frames`` frames of the demo clip
(tf_pose_ros.samples.demo_frames) at ``--size``: one a raw bgr8 Image topic, one a JPEG CompressedImage
topic. Each round then times, with one estimator, bench's measurement on a frame of that clip
(pipeline_bench.measure: median ms of estimator.infer, as ``tf-pose-ros bench`` reports it; fps = 1000
/ ms) and process_bag on each bag (fps = frames / seconds from opening the input to the output in
place, tracking and smoothing on). The figures are the medians over the rounds::

    python -m tf_pose_ros.benchmarks.bag_bench --frames 60 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

#: The two bags: raw bgr8 Image frames, or JPEG CompressedImage ones.
KINDS = {'raw': 'Image', 'compressed': 'CompressedImage'}


def measure(estimator, frames: int, rounds: int, size, workdir: Path, anonymize: bool = False,
            batch_size: int = 4) -> Dict[str, Dict[str, float]]:
    """{kind: {'bench_fps', 'bag_fps', 'ratio'}}, medians over ``rounds`` interleaved rounds."""
    from tf_pose_ros.benchmarks.pipeline_bench import measure as bench_measure
    from tf_pose_ros.recordings.processing import BagOptions, process_bag
    from tf_pose_ros.recordings.sample_bag import write_clip_bag
    from tf_pose_ros.samples import demo_frames

    clip = list(demo_frames(size[0], size[1], frames))
    for kind in KINDS:
        write_clip_bag(workdir / kind, clip, raw=kind == 'raw', compressed=kind == 'compressed', camera_info=False)
    estimator.prepare([size])
    bench: List[float] = []
    bags: Dict[str, List[float]] = {kind: [] for kind in KINDS}
    for round_index in range(rounds):
        bench.append(1e3 / bench_measure(estimator, clip[len(clip) // 3], frames=frames)['total'])
        for kind in KINDS:
            out = workdir / ('%s_pose_%d' % (kind, round_index))
            summary = process_bag(estimator, workdir / kind, out, BagOptions(anonymize=anonymize,
                                                                            batch_size=batch_size))
            assert summary.inferred == frames, summary
            bags[kind].append(summary.fps)
        print('round %d: bench %.1f fps, %s' % (round_index + 1, bench[-1], ', '.join(
            'bag %s %.1f fps' % (kind, values[-1]) for kind, values in bags.items())), file=sys.stderr)
    bench_fps = statistics.median(bench)
    return {kind: {'bench_fps': bench_fps, 'bag_fps': statistics.median(values),
                   'ratio': statistics.median(values) / bench_fps} for kind, values in bags.items()}


def format_rows(rows: Dict[str, Dict[str, float]], description: str, size) -> str:
    """A markdown table: topic, bench fps, bag fps, their ratio."""
    lines = ['%s, %dx%d frames' % (description, size[0], size[1]), '',
             '| topic | bench fps | bag fps | bag / bench |', '|---|---|---|---|']
    for kind, row in rows.items():
        lines.append('| %s (%s) | %.1f | %.1f | %.2fx |' % (kind, KINDS[kind], row['bench_fps'], row['bag_fps'],
                                                          row['ratio']))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    from tf_pose_ros.config import parse_resolution
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.runtime.allocator import keep_freed_memory

    parser = argparse.ArgumentParser(prog='python -m tf_pose_ros.benchmarks.bag_bench',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=60,
                        help='frames per bag and per bench block (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved rounds (default: %(default)s)')
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
