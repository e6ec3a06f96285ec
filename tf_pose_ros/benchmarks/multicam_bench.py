"""Several cameras: one pose node for all of them (image_topics) against one node per camera.

For each camera count N, N stand-in camera drivers (stand_in_camera.py, reliable, 640x480) publish
at ``--rate``; then either one ``pose_estimator`` process with N image_topics, or N
``pose_estimator`` processes with one image_topic each, runs at its defaults. This process only
listens to the Persons topics and measures, per camera, the rate of results and their
stamp-to-arrival latency, and the CPU time the pose node processes used per result (what a frame
costs, whatever share of a busy machine the processes got); rows of both kinds alternate in one
run, so they meet the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from typing import Dict, List

import rclpy
from rclpy.node import Node

from tf_pose_ros.benchmarks.stand_in_camera import driver_command
from tf_pose_ros.msg import Persons
from tf_pose_ros.ros.spinning import spin_in_background
from tf_pose_ros.streams.stats import nearest_rank


def _camera_topic(index: int) -> str:
    return '/bench_cam%d/image_raw' % index


def _start_drivers(args, count: int, env) -> List[subprocess.Popen]:
    frames = int(args.rate * (args.seconds + args.warmup + 120))
    return [subprocess.Popen(
        driver_command(_camera_topic(i), 'reliable', args.size, args.rate, frames, wait_subscriber=120),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(count)]


def _start_nodes(args, count: int, one_node: bool, env) -> List[subprocess.Popen]:
    """The pose node(s); returns the processes."""
    base = [sys.executable, '-m', 'tf_pose_ros.ros.pose_estimator_node', '--ros-args', '-p', 'device:=cpu',
            '-p', 'publish_annotated:=false', '-p', 'model:=%s' % args.model, '-p', 'backend:=%s' % args.backend]
    if one_node:
        topics = ', '.join('cam%d=%s' % (i, _camera_topic(i)) for i in range(count))
        commands = [base + ['-p', 'image_topics:=[%s]' % topics, '-p', 'batch_wait:=%g' % args.batch_wait]]
    else:
        commands = [base + ['-r', '__node:=pose_estimator_%d' % i, '-p', 'image_topic:=%s' % _camera_topic(i)]
                    for i in range(count)]
    return [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _persons_topic(index: int, count: int, one_node: bool) -> str:
    if one_node:
        return '/pose_estimator/cam%d/persons' % index
    return '/pose_estimator_%d/persons' % index


class Listener:
    """Arrival time and latency of every Persons message, per camera."""

    def __init__(self, node: Node, topics: List[str]):
        self._lock = threading.Lock()
        self.results: Dict[int, List] = {i: [] for i in range(len(topics))}
        self._node = node
        self._subs = [node.create_subscription(Persons, topic, self._keep(i), 50) for i, topic in enumerate(topics)]

    def _keep(self, index):
        def callback(msg):
            now = self._node.get_clock().now().nanoseconds
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            with self._lock:
                self.results[index].append((time.monotonic(), (now - stamp) * 1e-6))
        return callback

    def between(self, start: float, end: float) -> Dict[int, List[float]]:
        with self._lock:
            return {i: [lat for t, lat in r if start <= t < end] for i, r in self.results.items()}

    def destroy(self):
        for sub in self._subs:
            self._node.destroy_subscription(sub)


def run_row(args, node: Node, count: int, one_node: bool, env) -> dict:
    """One configuration: start drivers and node(s), wait for results of every camera, measure."""
    drivers = _start_drivers(args, count, env)
    nodes = _start_nodes(args, count, one_node, env)
    listener = Listener(node, [_persons_topic(i, count, one_node) for i in range(count)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(listener.results[i] for i in range(count)):
            time.sleep(0.2)
        time.sleep(args.warmup)
        cpu_before = sum(cpu_seconds(p.pid) for p in nodes)
        start = time.monotonic()
        time.sleep(args.seconds)
        window = listener.between(start, time.monotonic())
        cpu = sum(cpu_seconds(p.pid) for p in nodes) - cpu_before
    finally:
        listener.destroy()
        for proc in nodes + drivers:
            proc.terminate()
        for proc in nodes + drivers:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    cameras = []
    for i in range(count):
        latencies = sorted(window[i])
        cameras.append({'rate_hz': len(latencies) / args.seconds,
                        'latency_ms_median': statistics.median(latencies) if latencies else float('nan'),
                        'latency_ms_p99': nearest_rank(latencies, 0.99) if latencies else float('nan')})
    mode = 'one node' if one_node else '%d node%s' % (count, 's' if count > 1 else '')
    return {'cameras': count, 'mode': mode, 'per_camera': cameras,
            'total_hz': sum(c['rate_hz'] for c in cameras),
            'cpu_ms_per_frame': 1e3 * cpu / max(1, sum(len(w) for w in window.values())),
            'rate_hz_mean': statistics.mean(c['rate_hz'] for c in cameras),
            'latency_ms_median': statistics.median(c['latency_ms_median'] for c in cameras),
            'latency_ms_p99': max(c['latency_ms_p99'] for c in cameras)}


def main(argv=None) -> int:
    """Entry point: ``python -m tf_pose_ros.benchmarks.multicam_bench`` (``make bench-multicam``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cameras', default='1,2,4', help='camera counts (default: %(default)s)')
    parser.add_argument('--rate', type=float, default=15.0, help='each camera, Hz (default: %(default)s)')
    parser.add_argument('--size', default='640x480')
    parser.add_argument('--seconds', type=float, default=15.0, help='measuring time per row (default: %(default)s)')
    parser.add_argument('--warmup', type=float, default=5.0, help='seconds after the first results, not measured')
    parser.add_argument('--repeats', type=int, default=1, help='rounds over every row (default: %(default)s)')
    parser.add_argument('--model', default='mobilenet_thin')
    parser.add_argument('--backend', default='auto')
    parser.add_argument('--batch-wait', type=float, default=0.005, help='the one node\'s batch_wait')
    parser.add_argument('--json', action='store_true', help='print the rows as JSON at the end')
    args = parser.parse_args(argv)
    domain = str(os.environ.get('ROS_DOMAIN_ID', 90 + os.getpid() % 10))
    env = dict(os.environ, ROS_DOMAIN_ID=domain)
    rclpy.init(domain_id=int(domain))
    node = Node('multicam_bench')
    stop = spin_in_background(node)
    rows = []
    print('| cameras | nodes | per-camera rate Hz (each) | total Hz | CPU ms per frame | latency median ms '
          '| latency p99 ms (worst) |')
    print('|---|---|---|---|---|---|---|')
    try:
        for repeat in range(args.repeats):
            for count in (int(c) for c in args.cameras.split(',')):
                # With 1 camera: image_topics of one against image_topic. Every other round the other
                # kind goes first, so neither always meets what the previous row left behind.
                for one_node in (True, False) if repeat % 2 == 0 else (False, True):
                    row = run_row(args, node, count, one_node, env)
                    rows.append(row)
                    print('| %d | %s | %s | %.1f | %.1f | %.1f | %.1f |' % (
                        count, row['mode'], ', '.join('%.1f' % c['rate_hz'] for c in row['per_camera']),
                        row['total_hz'], row['cpu_ms_per_frame'], row['latency_ms_median'], row['latency_ms_p99']),
                        flush=True)
                    time.sleep(2.0)  # the processes are gone before the next row
    finally:
        stop()
        node.destroy_node()
        rclpy.try_shutdown()
    print_medians(rows)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


def print_medians(rows) -> None:
    """Per camera count and kind of row: medians over the rounds."""
    print('\nmedians over the rounds:')
    print('| cameras | nodes | rounds | per-camera rate Hz | total Hz | CPU ms per frame | latency median ms '
          '| latency p99 ms (worst camera) |')
    print('|---|---|---|---|---|---|---|---|')
    for key in sorted({(r['cameras'], r['mode'] != 'one node') for r in rows}):
        same = [r for r in rows if (r['cameras'], r['mode'] != 'one node') == key]
        medians = [statistics.median(r[name] for r in same) for name in (
            'rate_hz_mean', 'total_hz', 'cpu_ms_per_frame', 'latency_ms_median', 'latency_ms_p99')]
        print('| %d | %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |'
              % ((key[0], same[0]['mode'], len(same)) + tuple(medians)))


if __name__ == '__main__':
    sys.exit(main())
