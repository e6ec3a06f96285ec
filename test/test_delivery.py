"""Telling a collapse in frame delivery from a healthy stream and from a camera that runs slower."""

from tf_pose_ros.ros.input_health import DELIVERY, InputFacts, input_warnings
from tf_pose_ros.streams.delivery import DeliveryMonitor


def feed(monitor, start, seconds, hz, transport_s, sequence_hz=None, publisher=b'cam', first_sequence=1):
    """Frames arriving at ``hz`` for ``seconds`` from ``start``; the publisher numbers them at ``sequence_hz``
    (``hz`` when None: nothing lost). Returns (the time after the last frame, the next sequence number)."""
    sequence_hz = sequence_hz or hz
    count = int(round(seconds * hz))
    for i in range(count):
        at = start + i / hz
        monitor.arrived(at, transport_s, publisher, first_sequence + int(round(i * sequence_hz / hz)))
    return start + count / hz, first_sequence + int(round(count * sequence_hz / hz))


def assessments(monitor, start, end):
    """assess() once a second from ``start`` to ``end`` (as /diagnostics does): [(time, kind or '')]."""
    out, t = [], start
    while t <= end:
        collapse = monitor.assess(t)
        out.append((t, collapse.kind if collapse else ''))
        t += 1.0
    return out


def run_stream(monitor, phases):
    """Feed phases (seconds, hz, transport_s, sequence_hz) one after another, assessing each second."""
    t, sequence, verdicts = 0.0, 1, []
    for seconds, hz, transport, sent in phases:
        for second in range(int(seconds)):
            end, sequence = feed(monitor, t + second, 1.0, hz, transport, sent, first_sequence=sequence)
            verdicts += assessments(monitor, end, end)
        t += seconds
    return verdicts


def test_a_steady_stream_is_never_a_collapse():
    verdicts = run_stream(DeliveryMonitor(), [(120, 30, 0.015, None)])
    assert {kind for _, kind in verdicts} == {''}


def test_a_camera_that_slows_down_keeps_its_latency_and_is_no_collapse():
    # A webcam lowering its rate in the dark: half the frames, sent and received alike, no later.
    verdicts = run_stream(DeliveryMonitor(), [(60, 30, 0.015, None), (60, 15, 0.016, None)])
    assert {kind for _, kind in verdicts} == {''}


def test_fewer_and_later_frames_are_named_within_ten_seconds():
    # The default reliable driver after minutes: 11 of 30 frames a second, 150 ms late instead of 15 ms.
    verdicts = run_stream(DeliveryMonitor(), [(60, 30, 0.015, None), (30, 11, 0.15, None)])
    named = [t for t, kind in verdicts if kind == 'late']
    assert named and 60 < named[0] <= 70, named
    assert all(kind == 'late' for t, kind in verdicts if t >= named[0])  # in force while it lasts


def test_frames_sent_but_never_received_are_a_collapse_from_the_start():
    # A best-effort driver whose large frames mostly never arrive: the sequence numbers run at 30/s.
    verdicts = run_stream(DeliveryMonitor(), [(20, 8, 0.02, 30)])
    named = [t for t, kind in verdicts if kind == 'lost']
    assert named and named[0] <= 10, verdicts


def test_recovery_needs_a_margin_and_ends_the_collapse():
    monitor = DeliveryMonitor()
    verdicts = run_stream(monitor, [(60, 30, 0.015, None), (20, 10, 0.2, None), (5, 26, 0.1, None),
                                    (20, 30, 0.015, None)])
    kinds = [kind for _, kind in verdicts]
    assert kinds[70] == 'late'
    assert kinds[84] == 'late'  # 26 of 30 (87%) is not yet back above 90%
    assert kinds[-1] == '' and monitor.collapse is None


def test_a_reload_pause_keeps_what_was_learned():
    monitor = DeliveryMonitor()
    run_stream(monitor, [(30, 30, 0.015, None)])
    healthy = monitor.healthy
    monitor.restart_window()
    assert monitor.assess(31.0) is None and monitor.healthy == healthy


def test_a_restarted_publisher_starts_its_sequence_again():
    monitor = DeliveryMonitor()
    end, _ = feed(monitor, 0.0, 3.0, 30, 0.015, first_sequence=5000)
    end, _ = feed(monitor, end, 3.0, 30, 0.015, first_sequence=1)  # same key, numbers from 1 again
    window = monitor.window(end)
    assert window is not None and abs(window.sent_hz - window.received_hz) < 1.0


def test_the_warning_names_the_rates_and_the_remedy_for_large_frames():
    monitor = DeliveryMonitor()
    run_stream(monitor, [(60, 30, 0.015, None), (15, 11, 0.15, None)])
    facts = InputFacts(topic='/image_raw', reliability='reliable', seconds_without_publisher=0.0, seconds_silent=0.0,
                       frame_bytes=640 * 480 * 3, lost=0, profile_path='/x/fastdds_large_frames.xml',
                       collapse=monitor.collapse)
    (warning,) = input_warnings(facts)
    assert warning.kind == DELIVERY
    assert 'delivery fell to 11.0 frames/s on /image_raw (reliable), from 30.0' in warning.text
    assert 'FASTDDS_DEFAULT_PROFILES_FILE=/x/fastdds_large_frames.xml' in warning.text


def test_a_collapse_with_lost_frames_gives_the_remedy_once():
    monitor = DeliveryMonitor()
    run_stream(monitor, [(60, 30, 0.015, None), (15, 11, 0.015, 30)])
    facts = InputFacts(topic='/image_raw', reliability='best_effort', seconds_without_publisher=0.0,
                       seconds_silent=0.0, frame_bytes=640 * 480 * 3, lost=285,
                       profile_path='/x/fastdds_large_frames.xml', collapse=monitor.collapse)
    warnings = input_warnings(facts)
    assert [w.kind for w in warnings] == [DELIVERY, 'lost_large_best_effort']
    assert warnings[0].text.startswith('delivery fell to 11.0 of the 29.')
    assert sum(w.text.count('FASTDDS_DEFAULT_PROFILES_FILE') for w in warnings) == 1
    assert warnings[1].text == '285 frames lost on the way (see the delivery warning)'



def test_frames_that_went_by_during_a_reload_are_put_down_to_it_and_the_rest_to_the_transport():
    facts = dict(topic='/image_raw', reliability='best_effort', seconds_without_publisher=0.0, seconds_silent=0.0,
                 frame_bytes=640 * 480 * 3, profile_path='/x/fastdds_large_frames.xml')
    (reload,) = input_warnings(InputFacts(lost=13, lost_in_reload=13, **facts))
    assert reload.kind == 'lost_in_reload'
    assert reload.text.startswith('13 frames went by while the node loaded a new network')
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' not in reload.text  # the driver is not to blame
    reload, transport = input_warnings(InputFacts(lost=20, lost_in_reload=13, **facts))
    assert reload.kind == 'lost_in_reload' and transport.kind == 'lost_large_best_effort'
    assert transport.text.startswith('7 frames lost on the way') and 'FASTDDS_DEFAULT_PROFILES_FILE' in transport.text
