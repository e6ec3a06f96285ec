"""Every executable ends cleanly on SIGINT (Ctrl-C) and SIGTERM: exit status 0, no traceback, while running or
still starting; a signal is a request the main thread carries out in order; and the shared spinning treats an
rclpy call that fails because the context was shut down as the stop it is."""

import os
import signal
import subprocess
import sys
import time

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from node_harness import wait_for  # noqa: E402
from processes import REPO, Executable  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from tf_pose_ros.ros.spinning import (  # noqa: E402
    StopSignals,
    quiet_interrupted_finalizers,
    spin_until_shutdown,
)

pytestmark = pytest.mark.ros

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _assert_clean(executable, status):
    out = executable.output
    assert status == 0, 'exit status %s; output:\n%s' % (status, out[-3000:])
    assert 'Traceback' not in out and '[FATAL]' not in out, out[-3000:]


@pytest.fixture
def own_signal_handlers():
    """Puts pytest's SIGINT and SIGTERM handlers back after a test that installs StopSignals."""
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize('finished', [None, lambda: False], ids=['spin', 'until_finished'])
def test_an_rclpy_error_once_the_context_is_shut_down_ends_the_spin_cleanly(ros_domain_id, finished):
    """Another part of the process shuts the context down inside a callback, then a call there needs it."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    node = Node('stopped_mid_callback', context=context)
    calls = []

    def callback():
        calls.append(1)
        context.shutdown()
        node.create_timer(1.0, lambda: None)  # RCLError: failed to create timer: the given context is not valid

    node.create_timer(0.01, callback)
    assert spin_until_shutdown(node, finished) == 0
    assert calls == [1] and not context.ok()


def test_an_error_with_the_context_up_is_a_failure_and_still_cleans_up(ros_domain_id):
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    node = Node('failing_callback', context=context)

    def callback():
        raise RuntimeError('a real fault')

    node.create_timer(0.01, callback)
    with pytest.raises(RuntimeError, match='a real fault'):
        spin_until_shutdown(node)
    assert not context.ok()


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_interrupts_the_start_once_and_later_only_requests_the_stop(signum, own_signal_handlers):
    stop = StopSignals().install()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
        time.sleep(5.0)  # the signal ends the sleep: Python runs its handler in the main thread
    assert stop.requested
    os.kill(os.getpid(), signum)  # the second signal of a process group and `ros2 launch`: no interrupt
    assert stop.requested

    running = StopSignals().install()
    running.started()
    os.kill(os.getpid(), signum)
    assert running.requested


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_spinning_ends_the_spin_in_order(signum, ros_domain_id, own_signal_handlers):
    """The signal comes from a callback, as it would while frames are handled; the spin ends by itself, then the
    node and the context go down."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    node = Node('signalled', context=context)
    stop = StopSignals().install()
    stop.started()
    calls = []

    def callback():
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signum)

    node.create_timer(0.01, callback)
    assert spin_until_shutdown(node, stop=stop) == 0
    assert stop.requested and not context.ok()
    assert 3 <= len(calls) <= 4  # at most the callback already under way when the spin saw the request


# Many quick stops in one process, each with 200 executors (their guard conditions are what rclpy's signal thread
# triggers). With rclpy's own handlers, 4 of 5 such runs crashed or hung (2026-12-07): the thread triggered guard
# conditions that the main thread was freeing after the KeyboardInterrupt. The image source once died so in CI.
_STOP_CYCLES = """
import os, signal, sys, time
from rclpy.executors import SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions, get_current_signal_handlers_options
import rclpy
from tf_pose_ros.ros.spinning import StopSignals, init_rclpy
for cycle in range(int(sys.argv[1])):
    stop = StopSignals().install()
    init_rclpy([])
    assert get_current_signal_handlers_options() == SignalHandlerOptions.NO
    executors = [SingleThreadedExecutor() for _ in range(200)]
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    assert stop.requested
    for executor in executors:
        executor.shutdown()
    rclpy.try_shutdown()
print('stopped', cycle + 1, 'times')
"""


def test_stops_in_quick_succession_never_crash():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, '-c', _STOP_CYCLES, '1000'], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert 'stopped 1000 times' in done.stdout


class _Finalizer:
    def __init__(self, error):
        self.error = error

    def __del__(self):
        raise self.error


def test_a_ctrl_c_in_a_finalizer_prints_nothing_and_other_errors_there_still_do(monkeypatch):
    # The demo once printed "Exception ignored in: <function Future.__del__ ...> Traceback ... KeyboardInterrupt".
    seen = []
    monkeypatch.setattr('sys.unraisablehook', lambda unraisable: seen.append(type(unraisable.exc_value)))
    quiet_interrupted_finalizers()
    quiet_interrupted_finalizers()  # once is enough: a second call adds nothing
    _Finalizer(KeyboardInterrupt())
    _Finalizer(ValueError('a real fault'))
    assert seen == [ValueError]


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_image_source_stops_cleanly_at_any_moment(signum):
    # The reported race struck once in 11 stops; at 100 Hz each stop lands somewhere else in the publishing cycle.
    for _ in range(6):
        source = Executable('image_source', '--ros-args', '-r', '__ns:=/stop_source', '-p', 'rate:=100.0')
        try:
            source.wait_for('publishing demo')
            _assert_clean(source, source.stop(signum))
        finally:
            source.kill()


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_persons_echo_stops_cleanly(signum):
    echo = Executable('persons_echo', '--ros-args', '-r', '__ns:=/stop_echo')
    try:
        echo.wait_for('listening on')
        _assert_clean(echo, echo.stop(signum))
    finally:
        echo.kill()


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_pose_estimator_stops_cleanly_while_running(signum, mobilenet_thin_path):
    node = Executable('pose_estimator', '--ros-args', '-r', '__ns:=/stop_pose', '-p', 'device:=cpu')
    try:
        node.wait_for('listening on')
        _assert_clean(node, node.stop(signum))
    finally:
        node.kill()
    assert 'loaded mobilenet_thin' in node.output


@pytest.mark.parametrize('signum', SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_an_active_lifecycle_node_stops_cleanly(signum, ros_context, mobilenet_thin_path):
    node = Executable('pose_estimator_lifecycle', '--ros-args', '-r', '__ns:=/stop_lc', '-p', 'device:=cpu')
    manager = Node('stop_manager', context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(manager)
    try:
        change = manager.create_client(ChangeState, '/stop_lc/pose_estimator/change_state')
        for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            assert change.wait_for_service(timeout_sec=30.0)
            future = change.call_async(ChangeState.Request(transition=Transition(id=transition)))
            executor.spin_until_future_complete(future, timeout_sec=60.0)
            assert future.done() and future.result().success, node.output[-3000:]
        node.wait_for('listening on')  # subscribed and inferring: its worker thread runs
        _assert_clean(node, node.stop(signum))
    finally:
        node.kill()
        executor.shutdown()
        manager.destroy_node()


@pytest.mark.parametrize('signum, moment, event', [
    (signal.SIGINT, 'running', 'frame   1 '),
    (signal.SIGTERM, 'running', 'frame   1 '),
    # The image source is up and the pose node loads its network: a stop while the executable starts.
    (signal.SIGINT, 'starting', 'publishing demo'),
    (signal.SIGTERM, 'starting', 'publishing demo'),
], ids=['SIGINT-running', 'SIGTERM-running', 'SIGINT-starting', 'SIGTERM-starting'])
def test_the_demo_stops_cleanly(signum, moment, event, tmp_path, mobilenet_thin_path):
    demo = Executable('tf_pose_demo', '--frames', '1000', '--rate', '10', '--out-dir', str(tmp_path))
    try:
        demo.wait_for(event, timeout=120.0)
        _assert_clean(demo, demo.stop(signum))
    finally:
        demo.kill()
    assert 'received ' in demo.output  # the summary, after an orderly clean-up


def test_an_unconfigured_lifecycle_node_stops_cleanly(ros_context):
    node = Executable('pose_estimator_lifecycle', '--ros-args', '-r', '__ns:=/stop_lc_idle')
    peer = Node('stop_idle_peer', context=ros_context)
    try:
        client = peer.create_client(ChangeState, '/stop_lc_idle/pose_estimator/change_state')
        wait_for(client.service_is_ready, timeout=30.0, what='the lifecycle services')
        _assert_clean(node, node.stop(signal.SIGTERM))
    finally:
        node.kill()
        peer.destroy_node()
