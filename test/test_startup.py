"""A fresh start is quick: the warm-up compiles every path a real frame takes, caches are on disk and
say where, and a first-use conversion says what it does."""

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tf_pose_ros.runtime.compile_cache import cache_report, choose_cache_dir

REPO = Path(__file__).resolve().parent.parent

_COUNT_SIGNATURES = """
import json, sys
import numba
from tf_pose_ros.decoders import peaks
from tf_pose_ros.decoders.original import grouping
from tf_pose_ros.decoders.refined import grouping as refined_grouping
from tf_pose_ros.decoders.refined import subpixel
from tf_pose_ros.estimator import PoseEstimator
from tf_pose_ros.samples import astronaut_bgr, group_photo_bgr

def signatures():
    return {m.__name__ + '.' + n: len(getattr(m, n).signatures)
            for m in (grouping, peaks, refined_grouping, subpixel) for n in dir(m)
            if isinstance(getattr(m, n), numba.core.registry.CPUDispatcher)}

decoder = sys.argv[1]
estimator = PoseEstimator('mobilenet_thin', resolution='432x368', device='cpu', decoder=decoder)
loaded = signatures()
people = [len(estimator.infer(image).persons) for image in (astronaut_bgr(), group_photo_bgr(3))]
print(json.dumps({'loaded': loaded, 'after': signatures(), 'people': people,
                  'warmup_people': len(estimator.warmup_persons)}))
"""


@pytest.mark.parametrize('decoder', ['original', 'refined'])
def test_real_frames_compile_nothing_after_the_warm_up(mobilenet_thin_path, decoder):
    """In a fresh process: every numba signature real frames need exists once the estimator is built."""
    done = subprocess.run([sys.executable, '-c', _COUNT_SIGNATURES, decoder], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    new = {name: (figures['loaded'][name], count) for name, count in figures['after'].items()
           if count != figures['loaded'][name]}
    assert not new, 'compiled on a real frame, not during the warm-up: %s' % new
    assert figures['people'][0] == 1 and figures['people'][1] >= 3 and figures['warmup_people'] >= 3


def test_compiled_code_goes_to_the_user_cache_when_the_install_is_read_only(tmp_path):
    # /proc takes no new files, not even from root: a read-only install directory.
    where, why = choose_cache_dir(Path('/proc/tf_pose_ros_install'), tmp_path / 'numba')
    assert where == tmp_path / 'numba' and where.is_dir()
    assert 'read-only install' in why and '/proc/tf_pose_ros_install/__pycache__' in why


def test_nothing_writable_turns_caching_off_with_the_reason():
    where, why = choose_cache_dir(Path('/proc/tf_pose_ros_install'), Path('/proc/numba_cache'))
    assert where is None
    assert 'not cached' in why and 'every start compiles' in why


def test_the_package_cache_is_used_and_reported_here():
    assert cache_report().startswith('compiled code cached in ')


def test_warmup_command_converts_compiles_and_says_where(capsys, tmp_path, mobilenet_thin_path, caplog):
    from tf_pose_ros.cli import main

    # A copy of the weights in a fresh directory: the OpenVINO conversion happens now, on first use.
    weights = tmp_path / 'graph_opt.pb'
    shutil.copy(mobilenet_thin_path, weights)
    from tf_pose_ros.config import EstimatorConfig
    from tf_pose_ros.engines import resolve_preset
    from tf_pose_ros.estimator import plan_input
    from tf_pose_ros.runtime.warmup import CAMERA_FRAME_SIZES

    # The preset's form for this CPU: fp32 at 432x368, or bf16 at 1.25 times the pixels; converted for the
    # input a 640x480 camera runs at (the warm-up frame's shape).
    run = resolve_preset(EstimatorConfig(model_path=str(weights), backend='openvino', device='cpu'))
    size = '%dx%d' % plan_input(run, CAMERA_FRAME_SIZES[0]).sizes[0]
    with caplog.at_level(logging.INFO, logger='tf_pose_ros'):
        assert main(['warmup', '--model-path', str(weights), '--backend', 'openvino', '--device', 'cpu']) == 0
    out = capsys.readouterr().out
    scale = '' if run.scales == (1.0,) else ', scale %g' % run.scales[0]
    assert 'warmed up custom at 432x368%s (openvino, %s' % (scale, run.precision) in out
    assert '3 people on the warm-up photo' in out and 'compiled code cached in' in out
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith('converting %s for openvino at %s (first use' % (weights, size)) for m in messages)
    assert any(m.startswith('converted graph_opt.pb for openvino at %s in ' % size) for m in messages)
    assert list((tmp_path / 'converted').glob('openvino-%s-*.json' % size))


def test_a_missing_warmup_photo_is_a_clear_error(monkeypatch, tmp_path):
    from tf_pose_ros.runtime import warmup

    monkeypatch.setattr(warmup, 'WARMUP_IMAGE', tmp_path / 'gone.jpg')
    with pytest.raises(FileNotFoundError, match='warm-up photo .*gone.jpg is missing'):
        warmup.warmup_image()
