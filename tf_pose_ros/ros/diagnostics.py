"""The pose node's /diagnostics status, built from its figures (no node needed)."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

from tf_pose_ros.streams.stats import COUNTERS, IDLE, LATENCY_PARTS, PROBLEM_COUNTERS

#: Window figures reported with two decimals when present.
_FIGURES = ('rate_hz', 'latency_ms_mean', 'latency_ms_median', 'latency_ms_p99', 'latency_ms_max',
            'pipeline_ms_mean') + tuple('latency_ms_%s' % part for part in LATENCY_PARTS)


def problem_count(figures: Mapping[str, float]) -> int:
    """Frames that went wrong so far (invalid, failed, or no model)."""
    return sum(int(figures.get(key, 0)) for key in PROBLEM_COUNTERS)


def pose_status(name: str, figures: Mapping[str, float], settings: Mapping[str, str],
                load_error: Optional[str], previous_problems: int,
                input_period: Optional[float], depth_problem: str = '',
                input_warnings: Sequence[str] = ()) -> Tuple[DiagnosticStatus, int]:
    """The status and the problem count to pass next time.

    ERROR while no model is loaded (``load_error``); WARN with the causes in ``input_warnings``
    (frames that do not arrive or cannot be read, input_health.py), when frames went wrong since the
    last report, or when ``depth_problem`` says why recent results lack 3D keypoints; OK otherwise.
    ``settings`` (model, device, backend, ...) are reported as they are; ``input_period`` is the
    measured time between arriving frames.
    """
    problems = problem_count(figures)
    status = DiagnosticStatus(name=name, hardware_id=settings.get('device', 'none'))
    if load_error is not None:
        status.level, status.message = DiagnosticStatus.ERROR, 'no model loaded: %s' % load_error
    elif input_warnings:
        status.level, status.message = DiagnosticStatus.WARN, '; '.join(input_warnings)
    elif problems > previous_problems:
        status.level, status.message = DiagnosticStatus.WARN, 'bad or failed frames since last report'
    elif depth_problem:
        status.level, status.message = DiagnosticStatus.WARN, 'no 3D keypoints: %s' % depth_problem
    elif settings.get('enabled') == 'false':
        status.level, status.message = DiagnosticStatus.OK, 'inference paused (~/enable, or lifecycle inactive)'
    else:
        status.level, status.message = DiagnosticStatus.OK, 'running at %.1f Hz' % figures.get('rate_hz', 0.0)
    values: Dict[str, str] = dict(settings)
    for key in COUNTERS:
        values[key] = str(int(figures.get(key, 0)))
    for key in _FIGURES:
        if key in figures:
            values[key] = '%.2f' % figures[key]
    if input_period:  # below the camera's rate: frames are lost before they reach the node
        values['input_hz'] = '%.2f' % (1.0 / input_period)
    if IDLE in figures:
        values[IDLE] = '%.2f' % figures[IDLE]
    status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
    return status, problems
