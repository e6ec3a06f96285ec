"""Benchmark of the pose node against a live camera-like source.

An image_source process publishes 640x480 frames at 30 Hz; the pose node runs here and this prints
its stamp-to-publish latency and publish rate against its own pipeline time (targets: latency at
most 1.15 x pipeline, rate at least 0.95 / pipeline). With ``--drivers``: the frames that stand-in
third-party drivers (Fast DDS at its defaults, reliable or sensor-data QoS) get to the node at its
defaults, as a table per driver QoS, size, rate and Fast DDS profile.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time

import rclpy
from rclpy.parameter import Parameter

from tf_pose_ros.benchmarks.stand_in_camera import driver_command
from tf_pose_ros.ros.fastdds_profile import PROFILE_ENV, use_large_frame_transport
from tf_pose_ros.ros.pose_estimator_node import PoseEstimatorNode
from tf_pose_ros.ros.spinning import spin_in_background
from tf_pose_ros.runtime.allocator import keep_freed_memory
from tf_pose_ros.streams.stats import DROPPED, LATENCY_PARTS, LOST, PROCESSED, RECEIVED


class GcPauses:
    """Durations of the garbage collector's passes, by generation, while installed."""

    def __init__(self):
        self.pauses = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase, info):
        if phase == 'start':
            self._started = time.perf_counter()
        else:
            self.pauses[info['generation']].append((time.perf_counter() - self._started) * 1e3)

    def summary(self) -> dict:
        return {'gc_gen%d' % g: {'count': len(p), 'max_ms': max(p, default=0.0)} for g, p in self.pauses.items()}


def _run_driver(args, node, qos: str, size: str, rate: float, profile: bool, env: dict) -> dict:
    """One stand-in camera driver process, run to its end; its JSON summary and the node's QoS meanwhile."""
    driver = subprocess.Popen(driver_command('/image_raw', qos, size, rate, args.count, profile), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    node_qos = 'not subscribed'
    while driver.poll() is None:
        adaptive = node.cameras[0].subscriptions.image
        if adaptive is not None and adaptive.publishers:
            node_qos = adaptive.reliability or node_qos
        time.sleep(0.2)
    out, err = driver.communicate()
    if driver.returncode != 0:
        raise RuntimeError('the stand-in driver failed: %s' % err[-2000:])
    return dict(json.loads(out.strip().splitlines()[-1]), node_qos=node_qos)


def delivery_table(args) -> int:
    """Frames a third-party-like driver gets to the node at its defaults, per driver QoS, size, rate, profile."""
    domain = str(os.environ.get('ROS_DOMAIN_ID', 90 + os.getpid() % 10))
    # The driver as a user starts it: Fast DDS at its defaults unless the row gives it the profile.
    env = {k: v for k, v in os.environ.items() if k != PROFILE_ENV}
    env['ROS_DOMAIN_ID'] = domain
    use_large_frame_transport()  # the node, as the pose_estimator executable runs it
    rclpy.init(domain_id=int(domain))
    keep_freed_memory()
    node = PoseEstimatorNode(parameter_overrides=[
        Parameter('model', value=args.model), Parameter('backend', value=args.backend),
        Parameter('publish_annotated', value=False)])
    stop = spin_in_background(node)
    rows = []
    try:
        for profile in (False, True) if args.profiles == 'both' else (args.profiles == 'yes',):
            for qos in args.driver_qos.split(','):
                for size in args.sizes.split(','):
                    for rate in (float(r) for r in args.rates.split(',')):
                        before = node.cameras[0].stats.snapshot()
                        summary = _run_driver(args, node, qos, size, rate, profile, env)
                        time.sleep(1.0)  # the last frames are taken
                        after = node.cameras[0].stats.snapshot()
                        received = after.get(RECEIVED, 0) - before.get(RECEIVED, 0)
                        row = {'driver_qos': qos, 'size': size, 'rate_hz': rate, 'driver_profile': profile,
                               'published': summary['published'], 'received': received,
                               'lost': after.get(LOST, 0) - before.get(LOST, 0),
                               'node_qos': summary['node_qos']}
                        rows.append(row)
                        print('| %s | %s | %g Hz | %s | %d of %d (%.0f%%) | %s |' % (
                            qos, size, rate, 'yes' if profile else 'no', received, row['published'],
                            100.0 * received / max(1, row['published']), row['node_qos']), flush=True)
                        # The driver is gone: let the node see it before the next one starts.
                        time.sleep(1.0)
    finally:
        stop()
        node.destroy_node()
        rclpy.try_shutdown()
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


def main(argv=None) -> int:
    """Entry point: ``python -m tf_pose_ros.benchmarks.node_bench`` (``make bench-node``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seconds', type=float, default=20.0, help='measuring time (default: %(default)s)')
    parser.add_argument('--warmup', type=float, default=5.0, help='seconds ignored at the start')
    parser.add_argument('--rate', type=float, default=30.0, help='source rate in Hz (default: %(default)s)')
    parser.add_argument('--size', default='640x480', help='source frame size (default: %(default)s)')
    parser.add_argument('--qos', default='best_effort', choices=('best_effort', 'reliable'),
                        help='reliability of the source and of the node (default: %(default)s)')
    parser.add_argument('--model', default='mobilenet_thin')
    parser.add_argument('--resolution', default='432x368')
    parser.add_argument('--device', default='auto')
    parser.add_argument('--backend', default='auto', help='inference engine (default: %(default)s)')
    parser.add_argument('--precision', default='fp32', help='network precision (default: %(default)s)')
    parser.add_argument('--json', action='store_true', help='print JSON')
    drivers = parser.add_argument_group(
        'third-party drivers', '--drivers: instead of image_source, stand-in camera drivers (plain rclpy, Fast DDS '
        'at its defaults) publish --count frames for each driver QoS x size x rate; the node runs at its defaults '
        '(qos_reliability auto) and the frames it received are printed as a table')
    drivers.add_argument('--drivers', action='store_true', help='measure delivery from third-party-like drivers')
    drivers.add_argument('--driver-qos', default='reliable,sensor_data', help='default: %(default)s')
    drivers.add_argument('--sizes', default='640x480,1280x720,1920x1080', help='default: %(default)s')
    drivers.add_argument('--rates', default='15,30', help='default: %(default)s')
    drivers.add_argument('--count', type=int, default=150, help='frames per driver run (default: %(default)s)')
    drivers.add_argument('--profiles', default='both', choices=('no', 'yes', 'both'),
                         help="driver started with the package's Fast DDS profile (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.drivers:
        print('| driver QoS | size | rate | driver has the profile | received by the node | node subscribed |')
        print('|---|---|---|---|---|---|')
        return delivery_table(args)
    width, height = (int(v) for v in args.size.lower().split('x'))

    domain = str(os.environ.get('ROS_DOMAIN_ID', 90 + os.getpid() % 10))
    env = dict(os.environ, ROS_DOMAIN_ID=domain)
    source = subprocess.Popen(
        [sys.executable, '-m', 'tf_pose_ros.ros.image_source_node', '--ros-args',
         '-p', 'source:=demo', '-p', 'rate:=%f' % args.rate, '-p', 'width:=%d' % width, '-p', 'height:=%d' % height,
         '-p', 'count:=0', '-p', 'qos_reliability:=%s' % args.qos, '-p', 'qos_depth:=1'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    use_large_frame_transport()  # before rclpy.init: Fast DDS reads it then
    rclpy.init(domain_id=int(domain))
    keep_freed_memory()  # as the pose_estimator executable does
    node = PoseEstimatorNode(parameter_overrides=[
        Parameter('model', value=args.model), Parameter('resolution', value=args.resolution),
        Parameter('device', value=args.device), Parameter('backend', value=args.backend),
        Parameter('precision', value=args.precision), Parameter('publish_annotated', value=False),
        Parameter('qos_reliability', value=args.qos)])
    node.cameras[0].stats.window = args.seconds + args.warmup + 10.0
    stop = spin_in_background(node)  # as the pose_estimator executable spins it
    pauses = GcPauses()
    try:
        time.sleep(args.warmup)
        start = node.cameras[0].stats.snapshot()
        node.cameras[0].stats.reset_window()
        gc.callbacks.append(pauses)
        time.sleep(args.seconds)
        end = node.cameras[0].stats.snapshot()
    finally:
        if pauses in gc.callbacks:
            gc.callbacks.remove(pauses)
        stop()
        node.destroy_node()
        rclpy.try_shutdown()
        source.terminate()
        source.wait(timeout=10)

    if 'pipeline_ms_mean' not in end:
        print('no frames were processed: is the image source running?', file=sys.stderr)
        return 1
    pipeline = end['pipeline_ms_mean']
    row = {
        'model': args.model, 'resolution': args.resolution,
        'device': node.estimator.device if node.estimator else node.config['device'],
        'rmw': os.environ.get('RMW_IMPLEMENTATION', 'default'),
        'fastdds_transports': os.environ.get('FASTDDS_BUILTIN_TRANSPORTS', 'DEFAULT'),
        'fastdds_profile': os.path.basename(os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE', '')) or 'none',
        'discovery_range': os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE', 'default'),
        'source_hz': args.rate, 'source_size': args.size, 'qos': args.qos, 'seconds': args.seconds,
        RECEIVED: end[RECEIVED] - start.get(RECEIVED, 0),
        PROCESSED: end[PROCESSED] - start.get(PROCESSED, 0),
        DROPPED: end.get(DROPPED, 0) - start.get(DROPPED, 0),
        LOST: end.get(LOST, 0) - start.get(LOST, 0),
        'backend': node.estimator.backend if node.estimator else node.config['backend'],
        'precision': node.estimator.precision if node.estimator else node.config['precision'],
        'pipeline_ms': pipeline, 'latency_ms': end['latency_ms_mean'], 'latency_ms_max': end['latency_ms_max'],
        'latency_ms_median': end['latency_ms_median'], 'latency_ms_p99': end['latency_ms_p99'],
        'publish_hz': end['rate_hz'],
    }
    row.update(pauses.summary())
    row['latency_split_ms'] = {part: end['latency_ms_%s' % part] for part in LATENCY_PARTS
                               if 'latency_ms_%s' % part in end}
    row['latency_over_pipeline'] = row['latency_ms'] / pipeline
    row['rate_times_pipeline'] = row['publish_hz'] * pipeline / 1e3
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        print('%s %s on %s (%s, %s), source %g Hz %s %s, %g s' % (
            row['model'], row['resolution'], row['device'], row['backend'], row['precision'], args.rate, args.size,
            args.qos, args.seconds))
        print('%s, Fast DDS transports %s, profile %s, discovery range %s' % (
            row['rmw'], row['fastdds_transports'], row['fastdds_profile'], row['discovery_range']))
        print('received %d (%.1f Hz), lost on the way %d, processed %d, dropped %d' % (
            row[RECEIVED], row[RECEIVED] / args.seconds, row[LOST], row[PROCESSED], row[DROPPED]))
        print('pipeline %.1f ms | latency mean %.1f ms (max %.1f) = %.3f x pipeline (target <= 1.15)'
              % (pipeline, row['latency_ms'], row['latency_ms_max'], row['latency_over_pipeline']))
        print('latency median %.1f ms, p99 %.1f ms = %.2f x median (target <= 1.3)'
              % (row['latency_ms_median'], row['latency_ms_p99'], row['latency_ms_p99'] / row['latency_ms_median']))
        print('latency split (means): %s' % ', '.join(
            '%s %.1f ms' % item for item in row['latency_split_ms'].items()))
        print('garbage collections: %s' % ', '.join(
            'gen%d %d (max %.1f ms)' % (g, row['gc_gen%d' % g]['count'], row['gc_gen%d' % g]['max_ms'])
            for g in range(3)))
        print('publish rate %.2f Hz = %.3f / pipeline (target >= 0.95)' % (row['publish_hz'],
                                                                          row['rate_times_pipeline']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
