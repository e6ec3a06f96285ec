"""Every executable ends cleanly on SIGINT (Ctrl-C) and SIGTERM: exit status 0, no traceback, while running or
still starting; and the shared spinning treats an rclpy call that fails because the context was shut down as the
stop it is."""

import signal
import threading

import pytest

rclpy = pytest.importorskip('rclpy', reason='rclpy (ROS 2) is not importable')

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from node_harness import wait_for  # noqa: E402
from processes import Executable  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from tf_pose_ros.ros.spinning import (  # noqa: E402
    quiet_interrupted_finalizers,
    spin_until_shutdown,
    stopped_by_signal,
)

pytestmark = pytest.mark.ros

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _assert_clean(executable, status):
    out = executable.output
    assert status == 0, 'exit status %s; output:\n%s' % (status, out[-3000:])
    assert 'Traceback' not in out and '[FATAL]' not in out, out[-3000:]


@pytest.mark.parametrize('finished', [None, lambda: False], ids=['spin', 'until_finished'])
def test_an_rclpy_error_once_the_context_is_shut_down_ends_the_spin_cleanly(ros_domain_id, finished):
    """What a signal does between two rclpy calls, made certain: the context goes down (as rclpy's signal handler
    thread takes it down), then a call needs it (the timer a timed spin_once creates fails the same way)."""
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


def test_an_error_that_comes_before_the_signal_thread_shuts_the_context_down_is_the_stop(ros_domain_id):
    """A Ctrl-C inside an rclpy call can fail it (pybind11: 'Unable to convert call argument') a moment before
    rclpy's signal thread takes the context down; the same error with the context left up is a failure."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=ros_domain_id)
    error = RuntimeError("Unable to convert call argument '0'")
    try:
        assert not stopped_by_signal(error, context, grace_s=0.2)  # nothing takes the context down
        late = threading.Timer(0.05, context.shutdown)
        late.start()
        assert stopped_by_signal(error, context, grace_s=5.0)
        late.join()
        assert stopped_by_signal(KeyboardInterrupt(), context)
        assert not stopped_by_signal(SystemExit(1), context)
    finally:
        context.try_shutdown()


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
