"""Keypoint smoothing: jitter on a still scene and lag on motion, without and with the One Euro filter.

Jitter: a real photo of a person 240 px tall in a 640x480 frame (a person a few metres away), the
same photo every frame with fresh Gaussian sensor noise (``--noise`` grey levels), through the real
network; jitter is the standard deviation of each keypoint's position over the frames (pixels,
mean over keypoints). Lag: the demo clip (tf_pose_ros.samples.demo_frames, the astronaut panning,
played twice at 30 fps); lag is the time shift that best aligns the filtered keypoint tracks with the
unfiltered ones (ms), and the mean distance between them (pixels).

The network runs once per frame; every setting filters the same results::

    python -m tf_pose_ros.benchmarks.smoothing_bench --frames 60
"""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.people import PoseResult
from tf_pose_ros.people.smoothing import KeypointSmoother
from tf_pose_ros.people.tracking import PoseTracker

FPS = 30.0
#: (min_cutoff, beta) settings compared with no filtering.
SETTINGS = ((0.5, 0.0), (1.0, 0.0), (0.5, 5.0), (1.0, 1.0), (1.0, 5.0), (1.0, 20.0), (2.0, 5.0))
#: Frames left out at the start: the filter's first frames pass unchanged.
WARMUP = 5

Tracks = Dict[Tuple[int, int], List[Tuple[int, float, float]]]  # (track, part) -> [(frame, x, y)]


def still_frames(count: int, noise: float, seed: int = 0) -> List[np.ndarray]:
    """``count`` frames of one still person with Gaussian sensor noise of ``noise`` grey levels."""
    from tf_pose_ros.samples import agreement_photos

    photo = agreement_photos()['astronaut_small_left'].astype(np.float32)
    rng = np.random.default_rng(seed)
    return [np.clip(photo + rng.normal(0, noise, photo.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def moving_frames(count: int) -> List[np.ndarray]:
    """The demo clip, repeated to ``count`` frames (its motion is periodic)."""
    from tf_pose_ros.samples import demo_frames

    clip = list(demo_frames())
    return [clip[i % len(clip)] for i in range(count)]


def track_results(estimator, frames: Sequence[np.ndarray]) -> List[Tuple[PoseResult, List[int]]]:
    """Each frame's result with its track ids."""
    tracker = PoseTracker()
    out = []
    for frame in frames:
        result = estimator.infer(frame)
        out.append((result, tracker.update(result.persons)))
    return out


def keypoint_tracks(results, smoother: Optional[KeypointSmoother]) -> Tracks:
    """Positions per (track, part) over the frames, filtered by ``smoother`` when given."""
    tracks: Tracks = {}
    for i, (result, ids) in enumerate(results):
        if smoother is not None:
            result = smoother.smooth(result, ids, i / FPS)
        for person, track in zip(result.persons, ids):
            for k in person.keypoints:
                tracks.setdefault((track, k.id), []).append((i, k.x, k.y))
    return tracks


def jitter(tracks: Tracks) -> float:
    """Mean over keypoints (seen in most frames) of the std of their x and y after the warm-up."""
    longest = max((len(t) for t in tracks.values()), default=0)
    stds = []
    for points in tracks.values():
        xy = np.array([(x, y) for i, x, y in points if i >= WARMUP])
        if len(points) >= 0.8 * longest and len(xy) > 2:
            stds.append(xy.std(axis=0).mean())
    return float(np.mean(stds)) if stds else float('nan')


def lag(raw: Tracks, filtered: Tracks) -> Tuple[float, float]:
    """(the shift in ms that best aligns ``filtered`` with ``raw``, mean distance between them in px)."""
    shifts = np.arange(0.0, 6.01, 0.1)
    errors = np.zeros(len(shifts))
    distances = []
    for key, points in raw.items():
        if key not in filtered or len(points) < 10:
            continue
        frames = np.array([p[0] for p in points], float)
        raw_xy = np.array([p[1:] for p in points])
        filt_xy = np.array([p[1:] for p in filtered[key]])
        keep = frames >= WARMUP
        distances.extend(np.linalg.norm(raw_xy[keep] - filt_xy[keep], axis=1))
        for j, shift in enumerate(shifts):  # raw delayed by `shift` frames, by linear interpolation
            delayed = np.stack([np.interp(frames - shift, frames, raw_xy[:, c]) for c in (0, 1)], axis=1)
            ok = keep & (frames - shift >= frames[0])
            errors[j] += float(((delayed[ok] - filt_xy[ok]) ** 2).sum())
    if not distances:
        return float('nan'), float('nan')
    return float(shifts[int(np.argmin(errors))] * 1000.0 / FPS), float(np.mean(distances))


def run(estimator, frames: int, noise: float, settings=SETTINGS) -> List[dict]:
    """One row per setting: jitter (px) on the still scene, lag (ms) and distance (px) on the demo clip."""
    still = track_results(estimator, still_frames(frames, noise))
    moving = track_results(estimator, moving_frames(frames))
    raw_moving = keypoint_tracks(moving, None)
    rows = [{'smoothing': 'none', 'jitter_px': jitter(keypoint_tracks(still, None)), 'lag_ms': 0.0,
             'offset_px': 0.0}]
    for min_cutoff, beta in settings:
        filtered = keypoint_tracks(moving, KeypointSmoother(min_cutoff, beta))
        lag_ms, offset = lag(raw_moving, filtered)
        rows.append({'smoothing': 'one_euro min_cutoff=%g beta=%g' % (min_cutoff, beta),
                     'jitter_px': jitter(keypoint_tracks(still, KeypointSmoother(min_cutoff, beta))),
                     'lag_ms': lag_ms, 'offset_px': offset})
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=60, help='frames per scene (default: %(default)s)')
    parser.add_argument('--noise', type=float, default=8.0,
                        help='sensor noise, std in grey levels (default: %(default)s)')
    parser.add_argument('--model', default='mobilenet_thin')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    from tf_pose_ros.estimator import PoseEstimator

    estimator = PoseEstimator(args.model, device=args.device)
    rows = run(estimator, args.frames, args.noise)
    none = rows[0]['jitter_px']
    print('%-36s %10s %8s %8s %10s' % ('smoothing', 'jitter px', 'vs none', 'lag ms', 'offset px'))
    for row in rows:
        print('%-36s %10.2f %7.0f%% %8.0f %10.1f' % (row['smoothing'], row['jitter_px'],
                                                     100.0 * row['jitter_px'] / none, row['lag_ms'],
                                                     row['offset_px']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
