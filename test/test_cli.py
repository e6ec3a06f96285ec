"""The tf-pose-ros command line, run in-process on real images and a real video file."""

import json

import cv2
import numpy as np
import pytest

from tf_pose_ros.cli import main
from tf_pose_ros.samples import demo_frames, group_photo_bgr


@pytest.fixture
def images(tmp_path, astronaut):
    single = tmp_path / 'astronaut.png'
    group = tmp_path / 'group.png'
    cv2.imwrite(str(single), astronaut)
    cv2.imwrite(str(group), group_photo_bgr(3))
    return single, group


def test_infer_writes_json_and_overlays(tmp_path, images, mobilenet_thin_path):
    out = tmp_path / 'out.json'
    overlays = tmp_path / 'overlays'
    code = main(['infer', str(images[0]), str(images[1]), '--json', str(out), '--overlay-dir', str(overlays),
                 '--resolution', '432x368', '--device', 'cpu'])
    assert code == 0
    report = json.loads(out.read_text())
    assert report['model'] == 'mobilenet_thin' and report['resolution'] == [432, 368]
    first, second = report['images']
    assert first['file'] == str(images[0]) and (first['width'], first['height']) == (512, 512)
    assert len(first['persons']) == 1 and len(second['persons']) == 3
    keypoint = first['persons'][0]['keypoints'][0]
    assert set(keypoint) == {'id', 'name', 'x', 'y', 'score'}
    assert keypoint['id'] == 0 and keypoint['name'] == 'nose' and 180 < keypoint['x'] < 270
    for name in ('astronaut_pose.png', 'group_pose.png'):
        overlay = cv2.imread(str(overlays / name))
        assert overlay is not None and overlay.shape[2] == 3


def test_infer_reports_unreadable_files_and_continues(tmp_path, images, capsys, mobilenet_thin_path):
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not a png')
    code = main(['infer', str(broken), str(images[0]), '--device', 'cpu'])
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert 'cannot read' in report['images'][0]['error']
    assert len(report['images'][1]['persons']) == 1
    assert 'broken.png' in captured.err


def test_infer_video(tmp_path, mobilenet_thin_path, capsys):
    source = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    for frame in demo_frames(320, 240, count=4):
        writer.write(frame)
    writer.release()
    output = tmp_path / 'annotated.mp4'
    assert main(['infer', '--video', str(source), '--output', str(output), '--device', 'cpu']) == 0
    assert 'wrote' in capsys.readouterr().out
    capture = cv2.VideoCapture(str(output))
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 4


def test_bench_json(capsys, mobilenet_thin_path):
    assert main(['bench', '--frames', '2', '--json', '--device', 'cpu']) == 0
    row = json.loads(capsys.readouterr().out)
    for stage in ('preprocess', 'network', 'postprocess', 'grouping', 'total'):
        assert row[stage] > 0
    assert row['total'] >= row['network'] and row['persons'] == 3


def test_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(['infer', 'x.png', '--model-path', str(tmp_path / 'missing.pb')]) == 2
    assert 'does not exist' in capsys.readouterr().err
    assert main(['infer', 'x.png', '--resolution', '431x368']) == 2
    assert 'multiples of 16' in capsys.readouterr().err
    for flag, value in (('--model', 'resnet'), ('--interpolation', 'bicubic')):
        with pytest.raises(SystemExit) as info:
            main(['infer', 'x.png', flag, value])
        assert info.value.code == 2


def test_models_list_and_path(capsys, mobilenet_thin_path):
    assert main(['models', 'list']) == 0
    out = capsys.readouterr().out
    assert 'mobilenet_thin' in out and 'cmu' in out and 'search order' in out
    assert main(['models', 'path', 'mobilenet_thin']) == 0
    assert capsys.readouterr().out.strip() == str(mobilenet_thin_path)


def test_models_fetch_into_a_directory(tmp_path, capsys):
    from tf_pose_ros.models import get_spec
    from tf_pose_ros.models.store import sha256_of

    assert main(['models', 'fetch', 'mobilenet_thin', '--dest', str(tmp_path)]) == 0
    stored = tmp_path / 'mobilenet_thin' / 'graph_opt.pb'
    assert sha256_of(stored) == get_spec('mobilenet_thin').sha256
    assert str(stored) in capsys.readouterr().out
    # A corrupted copy is replaced on the next fetch rather than trusted.
    stored.write_bytes(b'corrupt')
    assert main(['models', 'fetch', 'mobilenet_thin', '--dest', str(tmp_path)]) == 0
    assert sha256_of(stored) == get_spec('mobilenet_thin').sha256


def test_models_fetch_refuses_unfetchable_models(tmp_path, capsys):
    assert main(['models', 'fetch', 'cmu', '--dest', str(tmp_path)]) == 2
    assert 'cannot be fetched' in capsys.readouterr().err


@pytest.mark.slow
def test_zoo_rows_real_and_random_weights():
    from tf_pose_ros.benchmarks.pipeline_bench import format_zoo_table, zoo_rows

    rows = list(zoo_rows((96, 64), frames=1, device='cpu', names=['mobilenet_thin', 'mobilenet_fast'],
                         backends=('tensorflow', 'openvino', 'litert')))
    thin, fast = rows
    assert thin['weights'] == 'real' and fast['weights'] == 'random'
    assert thin['params'] == 1930872 and fast['params'] > 0
    # GFLOPs scale with the pixels: 96x64 is 1/25.9 of 432x368, where mobilenet_thin needs ~9.9.
    assert 0.3 < thin['gflops'] < 0.45
    assert thin['network_ms'] > 0 and fast['network_ms'] > 0
    for row in rows:
        assert set(row['backend_ms']) == {'tensorflow', 'openvino', 'litert'}
        assert all(ms > 0 for ms in row['backend_ms'].values())
        # fp32 engines compute the same maps, real weights or random.
        assert row['map_diff']['tensorflow'] == 0.0 and max(row['map_diff'].values()) < 1e-3, row['map_diff']
    table = format_zoo_table(rows)
    assert 'mobilenet_fast' in table and 'random' in table and 'litert ms' in table


@pytest.mark.slow
def test_bench_backends_compares_engines_against_tensorflow(capsys):
    assert main(['bench', '--backends', 'tensorflow,openvino,litert', '--precisions', 'fp32,bf16', '--frames', '2',
                 '--json']) == 0
    rows = {(r['backend'], r['precision']): r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {(b, p) for b in ('tensorflow', 'openvino', 'litert') for p in ('fp32', 'bf16')}
    assert rows[('tensorflow', 'fp32')]['network_vs_tf'] == 1.0
    assert 'fp32 only' in rows[('litert', 'bf16')]['error'] and 'fp32 only' in rows[('tensorflow', 'bf16')]['error']
    for backend in ('tensorflow', 'openvino', 'litert'):
        row = rows[(backend, 'fp32')]
        assert row['same_people'] == '14/14' and row['keypoints_within'] == 1.0, row
        assert row['network_ms'] > 0 and row['pipeline_ms'] > row['network_ms']
        assert row['load_s'] > 0 and row['first_frame_ms'] > 0 and row['rss_mb'] > 100
        assert row['tensorflow_loaded'] is (backend == 'tensorflow')


def test_bench_backends_refuses_auto_and_unknown_names(capsys):
    assert main(['bench', '--backends', 'auto,openvino']) == 2
    assert 'not auto' in capsys.readouterr().err
    assert main(['bench', '--backends', 'tensorrt']) == 2
    assert 'expected one of' in capsys.readouterr().err


def test_infer_video_smoothing_changes_the_moving_overlay_only_after_the_first_frame(tmp_path, mobilenet_thin_path):
    source = tmp_path / 'clip.avi'
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*'MJPG'), 10, (320, 240))
    for frame in demo_frames(320, 240, count=6):
        writer.write(frame)
    writer.release()
    outputs = {}
    for method in ('none', 'one_euro'):
        output = tmp_path / ('%s.mp4' % method)
        assert main(['infer', '--video', str(source), '--output', str(output), '--device', 'cpu',
                     '--smoothing', method, '--smoothing-beta', '0']) == 0
        capture = cv2.VideoCapture(str(output))
        outputs[method] = [capture.read()[1] for _ in range(6)]
    assert np.array_equal(outputs['none'][0], outputs['one_euro'][0])  # a track's first frame passes unchanged
    assert any(not np.array_equal(a, b) for a, b in zip(outputs['none'][1:], outputs['one_euro'][1:]))
    with pytest.raises(SystemExit):
        main(['infer', '--video', str(source), '--smoothing', 'kalman'])
