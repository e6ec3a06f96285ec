"""Soak benchmark: the pose node as its own process against a stand-in camera driver for minutes.

The node is the installed ``pose_estimator`` at its defaults; the driver is
``stand_in_camera`` (plain rclpy, Fast DDS at its defaults unless ``--driver-profile``). This
process only listens: Persons, /diagnostics, and the node's RSS and CPU from /proc. It prints a
row a minute and a summary, and exits 1 when a target is missed::

    python -m tf_pose_ros.benchmarks.soak_bench --minutes 30 --size 640x480
    python -m tf_pose_ros.benchmarks.soak_bench --minutes 30 --size 640x480 --driver-profile
    python -m tf_pose_ros.benchmarks.soak_bench --minutes 15 --faults --driver-profile

Targets (docs/benchmarks.md, "Soak"):

- delivery: every minute >= 90% of the first minute's Persons; where not, /diagnostics must have
  named the collapse within 10 s of it. With ``--driver-profile``: >= 95% of every minute's frames
  reach the node, and the node answers at its steady rate: every minute it answers >= 95% of the
  frames sent, or it waits with no frame to take (its ``idle_s`` on /diagnostics) for at most 5% of
  the minute; no gap over 1 s in Persons. Persons against the first minute's are printed too; they
  also follow the machine's speed.
- ``--faults``: a schedule of driver restarts with the other reliability, bursts of corrupt frames,
  live reloads (``preset`` fast and back) and a second camera joining and leaving. The node must
  stay alive, leave no gap over 1 s in the first camera's Persons outside 5 s after each restart
  or reload, count every corrupt frame on /diagnostics, and end with an RSS within 5% of the
  first minute's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from tf_pose_ros.benchmarks.stand_in_camera import driver_command
from tf_pose_ros.ros.fastdds_profile import PROFILE_ENV
from tf_pose_ros.streams.stats import IDLE, nearest_rank

#: Share of the first minute's Persons every later minute must reach (a default driver).
MINUTE_FLOOR = 0.90
#: Share of the frames sent, and of the time at the node's steady rate, every minute must reach with the
#: profile on the driver.
PROFILE_FLOOR = 0.95
#: Seconds within which /diagnostics must name a collapse in delivery.
DETECT_WITHIN_S = 10.0
#: Longest allowed gap between Persons while good frames flow, outside the windows after a change.
MAX_GAP_S = 1.0
#: Seconds after a restart or reload during which gaps are allowed.
SETTLE_S = 5.0
#: Allowed growth of RSS from the first minute's to the end.
RSS_GROWTH = 0.05
#: Corrupt frames in each burst: a third each of short data, an unknown encoding and zero size.
CORRUPT_BURST = 30
#: The words of the node's warning about a collapse in delivery (input_health.delivery_warning).
COLLAPSE_WORDS = 'delivery fell'


# --- the node and the driver as processes ------------------------------------------------------------
def _executable(name: str) -> str:
    found = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if found is None:
        raise SystemExit('%s is not installed: run make setup' % name)
    return found


@dataclass
class ProcessSample:
    """One look at a process: resident memory, the part of it that is its own (not shared memory mapped
    from other processes, such as the camera drivers' Fast DDS segments), and the CPU seconds it has used."""

    rss_mb: float
    own_mb: float
    cpu_s: float


def sample_process(pid: int) -> Optional[ProcessSample]:
    """RSS, anonymous plus file-backed RSS, and user+system CPU time of ``pid`` from /proc (None when gone)."""
    try:
        with open('/proc/%d/status' % pid) as status:
            kb = {line.split(':')[0]: int(line.split()[1]) for line in status if line.startswith(('VmRSS', 'RssAnon',
                                                                                                    'RssFile'))}
        with open('/proc/%d/stat' % pid) as stat:
            fields = stat.read().rsplit(')', 1)[1].split()
        ticks = os.sysconf('SC_CLK_TCK')
        return ProcessSample(kb['VmRSS'] / 1024.0, (kb['RssAnon'] + kb['RssFile']) / 1024.0,
                             (int(fields[11]) + int(fields[12])) / ticks)
    except (OSError, KeyError, IndexError, ValueError):
        return None


class Driver:
    """A stand-in camera process; counts what it reports as published."""

    def __init__(self, topic: str, qos: str, size: str, rate: float, seconds: float, profile: bool, env: dict):
        self.qos = qos
        command = driver_command(topic, qos, size, rate, int(rate * seconds) + 1, profile,
                                 wait_subscriber=60.0, report_every=1.0)
        driver_env = {k: v for k, v in env.items() if k != PROFILE_ENV}
        self.process = subprocess.Popen(command, env=driver_env, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.published = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.published = int(json.loads(line).get('published', self.published))
            except ValueError:
                continue

    def stop(self) -> int:
        """Stop the driver as Ctrl-C would; the frames it published."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        return self.published


# --- what this process hears -----------------------------------------------------------------------
@dataclass
class Heard:
    """Persons arrivals of one camera: (monotonic arrival, stamp-to-arrival latency s)."""

    arrivals: List[Tuple[float, float]] = field(default_factory=list)


class Listener:
    """An rclpy node that records Persons per camera and every /diagnostics status of the pose node."""

    def __init__(self, persons_topics: Dict[str, str], status_name: str):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import QoSProfile

        from tf_pose_ros.msg import Persons

        self.node = Node('soak_listener')
        self.heard = {name: Heard() for name in persons_topics}
        self.lock = threading.Lock()
        #: status name -> latest key/values; and every (time, level, message) that was not OK.
        self.status: Dict[str, Dict[str, str]] = {}
        self.warnings: List[Tuple[float, int, str, str]] = []
        #: (monotonic time, the node's 'received' counter) of the first camera, from each of its statuses.
        self.received: List[Tuple[float, int]] = []
        #: The node's latest idle seconds (its inference thread without a frame).
        self.idle_s = 0.0
        self.status_name = status_name
        for name, topic in persons_topics.items():
            self.node.create_subscription(Persons, topic, self._on_persons(name), QoSProfile(depth=100))
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, QoSProfile(depth=50))
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self._rclpy = rclpy

    def _spin(self) -> None:
        while not self._stop.is_set():
            self._executor.spin_once(timeout_sec=0.1)

    def _on_persons(self, name: str) -> Callable:
        def callback(msg) -> None:
            now = self.node.get_clock().now().nanoseconds * 1e-9
            stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
            with self.lock:
                self.heard[name].arrivals.append((time.monotonic(), now - stamp))
        return callback

    def _on_diagnostics(self, msg) -> None:
        with self.lock:
            for status in msg.status:
                if 'pose estimation' not in status.name:
                    continue
                self.status[status.name] = {kv.key: kv.value for kv in status.values}
                if status.name == self.status_name:
                    self.received.append((time.monotonic(), int(self.status[status.name].get('received', 0))))
                    self.idle_s = float(self.status[status.name].get(IDLE, self.idle_s))
                level = ord(status.level) if isinstance(status.level, bytes) else int(status.level)
                if level != 0:
                    self.warnings.append((time.monotonic(), level, status.name, status.message))

    def count(self, camera: str, start: float, end: float) -> int:
        with self.lock:
            return sum(1 for t, _ in self.heard[camera].arrivals if start <= t < end)

    def window(self, camera: str, start: float, end: float) -> List[Tuple[float, float]]:
        with self.lock:
            return [a for a in self.heard[camera].arrivals if start <= a[0] < end]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._executor.shutdown()
        self.node.destroy_node()


# --- faults -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """One scheduled change: at ``at`` seconds, ``kind`` (restart, corrupt, preset, join, leave)."""

    at: float
    kind: str
    value: str = ''


def fault_schedule(seconds: float, period: float) -> List[Fault]:
    """The faults of a run of ``seconds``: each ``period`` has, at fixed fractions of it, a corrupt burst,
    a reload to ``fast`` and back, a second camera joining and leaving, and a driver restart."""
    faults = []
    start = 0.0
    while start + period <= seconds + 1e-6:
        faults += [Fault(start + 0.2 * period, 'corrupt'), Fault(start + 0.35 * period, 'preset', 'fast'),
                   Fault(start + 0.5 * period, 'preset', 'default'), Fault(start + 0.6 * period, 'join'),
                   Fault(start + 0.75 * period, 'leave'), Fault(start + 0.9 * period, 'restart')]
        start += period
    return faults


def corrupt_messages(count: int) -> list:
    """``count`` Image messages no node can read: short data, an unknown encoding, zero size, in turn."""
    from sensor_msgs.msg import Image

    messages = []
    for i in range(count):
        msg = Image(height=8, width=8, encoding='bgr8', step=24)
        if i % 3 == 0:
            msg.data = bytes(10)  # shorter than step * height
        elif i % 3 == 1:
            msg.encoding, msg.data = 'soak_unknown', bytes(8 * 24)
        else:
            msg.height = msg.width = msg.step = 0
        msg.header.frame_id = 'corrupt'
        messages.append(msg)
    return messages


def set_preset(node, value: str, timeout: float = 30.0) -> bool:
    """Set the pose node's ``preset`` through its parameter service; True when accepted."""
    from rcl_interfaces.msg import Parameter as ParameterMsg
    from rcl_interfaces.msg import ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    client = node.create_client(SetParameters, '/pose_estimator/set_parameters')
    try:
        if not client.wait_for_service(timeout_sec=timeout):
            return False
        request = SetParameters.Request(parameters=[ParameterMsg(
            name='preset', value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value))])
        future = client.call_async(request)
        deadline = time.monotonic() + timeout
        while not future.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(future.done() and future.result().results[0].successful)
    finally:
        node.destroy_client(client)


# --- the run ----------------------------------------------------------------------------------------
@dataclass
class Minute:
    """One printed row."""

    minute: int
    sent: int
    received: int  # frames that reached the node (its /diagnostics counter)
    persons: int
    p50_ms: float
    p99_ms: float
    longest_gap_s: float
    rss_mb: float
    own_mb: float  # RSS less shared memory mapped from other processes
    cpu_cores: float
    idle_pct: float  # share of the minute the node's inference thread had no frame to take

    def line(self) -> str:
        return ('%6d  %6d  %8d  %7d  %7.0f  %7.0f  %8.2f  %7.0f  %6.0f  %5.2f  %6.1f'
                % (self.minute, self.sent, self.received, self.persons, self.p50_ms, self.p99_ms,
                   self.longest_gap_s, self.rss_mb, self.own_mb, self.cpu_cores, self.idle_pct))


HEADER = 'minute    sent  received  persons  p50 ms   p99 ms  gap max s   RSS MB  own MB   CPU  idle %'


def longest_gap(times: List[float], start: float, end: float, excluded: List[Tuple[float, float]]) -> float:
    """The longest time between consecutive ``times`` in [start, end), leaving out gaps that overlap ``excluded``."""
    points = [start] + sorted(t for t in times if start <= t < end) + [end]
    longest = 0.0
    for a, b in zip(points, points[1:]):
        if any(a < x1 and b > x0 for x0, x1 in excluded):
            continue
        longest = max(longest, b - a)
    return longest


def collapse_onsets(received: List[Tuple[float, int]], start: float, end: float, rate_hz: float,
                    window_s: float = 5.0, recovered_s: float = 30.0) -> List[float]:
    """Each time frames reaching the node fell below MINUTE_FLOOR of the driver's ``rate_hz`` for a whole
    ``window_s`` (the node's 'received' counter, (time, count) pairs, in [start, end)): the first time, and
    again after each stretch of at least ``recovered_s`` above it (a shorter one is the same collapse)."""
    points = [p for p in received if start <= p[0] < end]
    onsets: List[float] = []
    healthy_since: Optional[float] = start
    for i, (t, count) in enumerate(points):
        later = next((p for p in points[i:] if p[0] >= t + window_s), None)
        if later is None:
            break
        if (later[1] - count) / (later[0] - t) < MINUTE_FLOOR * rate_hz:
            if healthy_since is not None and (not onsets or t - healthy_since >= recovered_s):
                onsets.append(t)
            healthy_since = None
        elif healthy_since is None:
            healthy_since = t
    return onsets


def run(args) -> int:
    import rclpy

    domain = int(os.environ.get('ROS_DOMAIN_ID') or 100 + os.getpid() % 100)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    env.pop(PROFILE_ENV, None)  # the node picks the package's profile itself, as it does on a robot
    seconds = args.minutes * 60.0
    faults = fault_schedule(seconds, args.fault_period) if args.faults else []
    cameras = {'cam0': '/soak/cam0/image_raw', 'cam1': '/soak/cam1/image_raw'} if args.faults else {
        'cam0': '/soak/image_raw'}
    node_command = [_executable('pose_estimator'), '--ros-args']
    if args.faults:
        node_command += ['-p', 'image_topics:=[%s]' % ', '.join('%s=%s' % kv for kv in cameras.items())]
        persons = {name: '/pose_estimator/%s/persons' % name for name in cameras}
        status_name = '/pose_estimator: pose estimation cam0'
    else:
        node_command += ['-p', 'image_topic:=%s' % cameras['cam0']]
        persons = {'cam0': '/pose_estimator/persons'}
        status_name = '/pose_estimator: pose estimation'
    for override in args.param:
        node_command += ['-p', override]

    rclpy.init(domain_id=domain)
    listener = Listener(persons, status_name)
    node_log = open(args.node_log, 'w') if args.node_log else subprocess.DEVNULL
    node = subprocess.Popen(node_command, env=env, stdout=node_log, stderr=subprocess.STDOUT)
    driver = Driver(cameras['cam0'], args.driver_qos, args.size, args.rate, seconds + 120, args.driver_profile, env)
    second: Optional[Driver] = None
    corrupt_pub = None
    if args.faults:
        from rclpy.qos import QoSProfile
        from sensor_msgs.msg import Image
        corrupt_pub = listener.node.create_publisher(Image, cameras['cam0'], QoSProfile(depth=50))
    print('soak: %s %s at %g Hz for %g min, driver %s%s, node pid %d, ROS_DOMAIN_ID %d' % (
        args.size, 'bgr8', args.rate, args.minutes, args.driver_qos,
        ' with the profile' if args.driver_profile else ' at Fast DDS defaults', node.pid, domain), flush=True)

    # The clock starts with the first Persons: start-up and discovery are startup_bench's subject.
    deadline = time.monotonic() + args.start_timeout
    while listener.count('cam0', 0, float('inf')) == 0 and time.monotonic() < deadline and node.poll() is None:
        time.sleep(0.1)
    if listener.count('cam0', 0, float('inf')) == 0:
        print('soak: no Persons within %g s of the start (node %s)' % (
            args.start_timeout, 'exited %s' % node.returncode if node.poll() is not None else 'running'))
        driver.stop()
        node.kill()
        listener.close()
        rclpy.try_shutdown()
        return 1
    # ... at the node's next status, so that its counters and the driver's count start together.
    statuses = len(listener.received)
    deadline = time.monotonic() + 5.0
    while len(listener.received) == statuses and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    print(HEADER, flush=True)
    rows: List[Minute] = []
    excluded: List[Tuple[float, float]] = []
    sent_before = driver.published
    sent_total = 0
    corrupt_sent = 0
    reloads_failed = 0
    restarts = 0
    pending = list(faults)
    cpu_before = sample_process(node.pid)
    with listener.lock:
        received_before = int(listener.status.get(status_name, {}).get('received', 0))
        idle_before = listener.idle_s
    for minute in range(1, int(args.minutes) + 1):
        end = t0 + minute * 60.0
        while time.monotonic() < end and node.poll() is None:
            now = time.monotonic() - t0
            while pending and pending[0].at <= now:
                fault = pending.pop(0)
                if fault.kind == 'corrupt':
                    assert corrupt_pub is not None
                    for msg in corrupt_messages(CORRUPT_BURST):
                        corrupt_pub.publish(msg)
                        time.sleep(0.02)
                    corrupt_sent += CORRUPT_BURST
                elif fault.kind == 'preset':
                    excluded.append((time.monotonic(), time.monotonic() + SETTLE_S))
                    if not set_preset(listener.node, fault.value):
                        reloads_failed += 1
                    excluded[-1] = (excluded[-1][0], time.monotonic() + SETTLE_S)
                elif fault.kind == 'join':
                    second = Driver(cameras['cam1'], 'reliable', args.size, args.rate, seconds, args.driver_profile,
                                    env)
                elif fault.kind == 'leave' and second is not None:
                    second.stop()
                    second = None
                elif fault.kind == 'restart':
                    excluded.append((time.monotonic(), time.monotonic() + SETTLE_S))
                    sent_total += driver.stop() - sent_before
                    qos = 'sensor_data' if driver.qos == 'reliable' else 'reliable'
                    driver = Driver(cameras['cam0'], qos, args.size, args.rate, seconds + 120, args.driver_profile,
                                    env)
                    sent_before = 0
                    restarts += 1
                    # The new driver waits for the subscription; the window ends with its first frame.
                    first = listener.count('cam0', 0, float('inf'))
                    wait_until = time.monotonic() + 60.0
                    while listener.count('cam0', 0, float('inf')) == first and time.monotonic() < wait_until:
                        time.sleep(0.05)
                    excluded[-1] = (excluded[-1][0], time.monotonic() + SETTLE_S)
            time.sleep(0.2)
        sample = sample_process(node.pid)
        arrivals = listener.window('cam0', end - 60.0, end)
        latencies = sorted(1e3 * lat for _, lat in arrivals) or [0.0]
        cpu = ((sample.cpu_s - cpu_before.cpu_s) / 60.0) if sample and cpu_before else 0.0
        cpu_before = sample
        sent_now = sent_total + driver.published - sent_before
        with listener.lock:
            received_now = int(listener.status.get(status_name, {}).get('received', 0))
            idle_now = listener.idle_s
        rows.append(Minute(minute, sent_now - sum(r.sent for r in rows), received_now - received_before,
                           len(arrivals), nearest_rank(latencies, 0.5), nearest_rank(latencies, 0.99),
                           longest_gap([t for t, _ in arrivals], end - 60.0, end, excluded),
                           sample.rss_mb if sample else 0.0, sample.own_mb if sample else 0.0, cpu,
                           100.0 * (idle_now - idle_before) / 60.0))
        received_before, idle_before = received_now, idle_now
        print(rows[-1].line(), flush=True)
        if node.poll() is not None:
            break
    alive = node.poll() is None
    time.sleep(2.5)  # a last /diagnostics after the final frames
    with listener.lock:
        status = dict(listener.status.get(status_name, {}))
        warnings = list(listener.warnings)
    received = list(listener.received)
    driver.stop()
    if second is not None:
        second.stop()
    if alive:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.kill()
    listener.close()
    rclpy.try_shutdown()
    return summarize(args, rows, received, t0, warnings, status, alive, node.returncode, corrupt_sent,
                     reloads_failed, restarts)


def warning_onsets(warnings, t0: float, quiet_s: float = 5.0) -> List[Tuple[float, int, str]]:
    """The warnings where each one began ((seconds from ``t0``, level, message)): a message other than the
    one before (numbers aside), or any after ``quiet_s`` without warnings; not every report of it."""
    onsets: List[Tuple[float, int, str]] = []
    previous, last_at = None, float('-inf')
    for at, level, _name, message in warnings:
        key = re.sub(r'[0-9.]+', '#', message)
        if key != previous or at - last_at > quiet_s:
            onsets.append((round(at - t0, 1), level, message))
        previous, last_at = key, at
    return onsets


def summarize(args, rows: List[Minute], received: List[Tuple[float, int]], t0: float, warnings,
              status: Dict[str, str],
              alive: bool, exit_code: Optional[int], corrupt_sent: int, reloads_failed: int, restarts: int) -> int:
    """Print the summary and each target's verdict; the exit status (1 when a target is missed)."""
    missed = []
    if not alive or len(rows) < int(args.minutes):
        missed.append('the node died (exit %s)' % exit_code)
    first = rows[0].persons if rows else 0
    sent = sum(r.sent for r in rows)
    persons = sum(r.persons for r in rows)
    worst = min((r.persons for r in rows), default=0)
    print('summary: %d frames sent, %d Persons (%.1f%%), worst minute %d = %.0f%% of the first; '
          'RSS %.0f -> %.0f MB (own %.0f -> %.0f MB); CPU %.2f cores' % (
              sent, persons, 100.0 * persons / max(1, sent), worst, 100.0 * worst / max(1, first),
              rows[0].rss_mb if rows else 0, rows[-1].rss_mb if rows else 0,
              rows[0].own_mb if rows else 0, rows[-1].own_mb if rows else 0,
              sum(r.cpu_cores for r in rows) / max(1, len(rows))))
    collapses = [w for w in warnings if COLLAPSE_WORDS in w[3]]
    if collapses:
        print('first collapse warning at %.0f s: %s' % (collapses[0][0] - t0, collapses[0][3][:300]))
    if not args.faults:
        floor = PROFILE_FLOOR if args.driver_profile else MINUTE_FLOOR
        if args.driver_profile:
            short = [r.minute for r in rows if r.received < floor * r.sent]
            if short:
                missed.append('minutes %s with fewer than %.0f%% of the frames sent reaching the node'
                              % (short, 100 * floor))
            # At its steady rate the node answers nearly every frame sent, or is never short of one. Persons
            # against the first minute also follow the machine's speed (a shared host's neighbours).
            starved = [r.minute for r in rows if r.persons < floor * r.sent and r.idle_pct > 100.0 * (1.0 - floor)]
            if starved:
                missed.append('minutes %s in which the node waited for frames more than %.0f%% of the time'
                              % (starved, 100 * (1.0 - floor)))
            if IDLE not in status:
                missed.append('the node reports no %s on /diagnostics' % IDLE)
            gaps = max((r.longest_gap_s for r in rows), default=0.0)
            if gaps > MAX_GAP_S:  # a stalled inference thread is not idle either
                missed.append('a gap of %.2f s in Persons' % gaps)
        else:
            # Persons also fall when the machine gets busier; the transport's collapse is what reaches the node.
            onsets = collapse_onsets(received, t0, t0 + 60.0 * rows[-1].minute if rows else t0, args.rate)
            for onset in onsets:
                named = [w for w in collapses if w[0] >= onset - DETECT_WITHIN_S]
                print('frames reaching the node fell below %.0f%% of those sent from %.0f s; named on /diagnostics %s'
                      % (100 * MINUTE_FLOOR, onset - t0, 'at %.0f s' % (named[0][0] - t0) if named else 'never'))
                if not named or named[0][0] - onset > DETECT_WITHIN_S:
                    missed.append('the collapse in delivery from %.0f s was not named within %.0f s'
                                  % (onset - t0, DETECT_WITHIN_S))
            low = [r.minute for r in rows if r.persons < floor * first]
            if not onsets and low:
                missed.append('minutes %s below 90%% of the first with every frame reaching the node' % low)
    else:
        gaps = max((r.longest_gap_s for r in rows), default=0.0)
        invalid = int(status.get('invalid', '-1'))
        # The node's own memory: the drivers' shared-memory segments it maps come and go with the drivers.
        growth = rows[-1].own_mb / rows[0].own_mb - 1.0 if rows and rows[0].own_mb else 0.0
        print('faults: %d restarts, %d corrupt frames sent, %s counted invalid, %d reloads refused, '
              'longest gap %.2f s, own RSS growth %+.1f%%' % (restarts, corrupt_sent, invalid, reloads_failed, gaps,
                                                         100.0 * growth))
        if gaps > MAX_GAP_S:
            missed.append('a gap of %.2f s in Persons' % gaps)
        if invalid != corrupt_sent:
            missed.append('%d corrupt frames sent, %d counted' % (corrupt_sent, invalid))
        if reloads_failed:
            missed.append('%d reloads refused' % reloads_failed)
        if growth > RSS_GROWTH:
            missed.append('own RSS grew by %.1f%%' % (100.0 * growth))
    if args.json:
        with open(args.json, 'w') as out:
            json.dump({'rows': [r.__dict__ for r in rows], 'missed': missed,
                       'warnings': warning_onsets(warnings, t0),
                       'received': [(round(t - t0, 1), count) for t, count in received]}, out, indent=1)
    for reason in missed:
        print('TARGET MISSED: %s' % reason)
    if not missed:
        print('targets met')
    return 1 if missed else 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=30.0)
    parser.add_argument('--size', default='640x480', help='WIDTHxHEIGHT of the frames (default: %(default)s)')
    parser.add_argument('--rate', type=float, default=30.0, help='frames per second (default: %(default)s)')
    parser.add_argument('--driver-qos', default='reliable', choices=('reliable', 'sensor_data'))
    parser.add_argument('--driver-profile', action='store_true',
                        help="the driver runs with the package's Fast DDS profile (config/fastdds_large_frames.xml)")
    parser.add_argument('--faults', action='store_true', help='restarts, corrupt frames, reloads, a second camera')
    parser.add_argument('--fault-period', type=float, default=300.0,
                        help='seconds of one round of the fault schedule (default: %(default)s)')
    parser.add_argument('--param', action='append', default=[], help='NAME:=VALUE for the node (repeatable)')
    parser.add_argument('--start-timeout', type=float, default=120.0)
    parser.add_argument('--node-log', default='', help="write the node's output to this file")
    parser.add_argument('--json', default='', help='write the rows and verdicts to this file')
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
