"""The benchmarks that run in seconds run to the end (their figures are for people, not asserted)."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


@pytest.mark.parametrize('module, args, last_words', [
    ('perception_bench', ['--frames', '5'], 'extra per frame'),
    ('smoothing_bench', ['--frames', '5'], 'one_euro'),
])
def test_benchmark_runs_to_its_figures(mobilenet_thin_path, module, args, last_words):
    done = subprocess.run([sys.executable, '-m', 'tf_pose_ros.benchmarks.' + module, *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert last_words in done.stdout, done.stdout[-2000:]
