"""3D keypoints from registered depth (pinhole back-projection) and pairing depth frames by stamp."""

import threading

import numpy as np
import pytest

from tf_pose_ros.people.depth import DepthError, PinholeCamera, lift_points, sample_depth, scale_factors
from tf_pose_ros.streams.stamp_buffer import StampBuffer

#: A 640x480 colour camera (RealSense-like intrinsics).
CAMERA = PinholeCamera(fx=615.0, fy=612.0, cx=322.5, cy=241.0, width=640, height=480)


def ramp(width, height, scale_to_colour=1.0):
    """Depth in metres of a floor-like ramp: 1.5 m at the top row, 0.002 m more per colour row."""
    rows = (np.arange(height, dtype=np.float64) + 0.5) * scale_to_colour - 0.5
    return np.repeat((1.5 + 0.002 * rows)[:, None], width, axis=1)


def pinhole(points, depth_m):
    x, y = points[:, 0], points[:, 1]
    return np.stack(((x - CAMERA.cx) * depth_m / CAMERA.fx, (y - CAMERA.cy) * depth_m / CAMERA.fy, depth_m), axis=1)


POINTS = np.array([[322.5, 241.0], [10.0, 20.0], [630.2, 470.7], [100.4, 300.6], [500.0, 55.5]])


@pytest.mark.parametrize('encoding', ['16UC1', '32FC1'])
@pytest.mark.parametrize('depth_size', [(640, 480), (320, 240), (1280, 960)])
def test_lifted_points_follow_the_pinhole_formula(encoding, depth_size):
    width, height = depth_size
    metres = ramp(width, height, 640 / width)
    if encoding == '16UC1':
        depth, scale = np.round(metres * 1000).astype(np.uint16), 0.001
    else:
        depth, scale = metres.astype(np.float32), 1.0
    lifted = lift_points(POINTS, depth, CAMERA, (640, 480), window=5, depth_scale=scale)
    expected = pinhole(POINTS, 1.5 + 0.002 * POINTS[:, 1])
    error = np.abs(lifted - expected).max()
    # The ramp rises 2 mm per colour row; the depth is read at the nearest depth pixel (up to half a
    # depth pixel away) and 16UC1 rounds to whole millimetres.
    rows_off = 0.5 * 640 / width + 0.01
    assert error < 0.002 * rows_off * 1.2 + (0.0006 if encoding == '16UC1' else 1e-5), error


def test_camera_info_of_another_size_is_scaled_to_the_colour_image():
    half = PinholeCamera.from_k([CAMERA.fx / 2, 0, (CAMERA.cx + 0.5) / 2 - 0.5, 0, CAMERA.fy / 2,
                                 (CAMERA.cy + 0.5) / 2 - 0.5, 0, 0, 1], 320, 240)
    depth = np.full((480, 640), 2.0, np.float32)
    np.testing.assert_allclose(lift_points(POINTS, depth, half, (640, 480)), pinhole(POINTS, np.full(5, 2.0)),
                               atol=1e-9)


def test_holes_edges_and_out_of_range_readings_are_ignored():
    depth = np.full((100, 100), 3000, np.uint16)
    depth[40:60, 40:60] = 0                      # no return
    depth[10:13, 10:13] = 60000                  # 60 m: beyond depth_max
    depth[70:100, 70:100] = 1000                 # a nearer surface: the window's majority wins
    z = sample_depth(depth, np.array([50.0, 41.0, 11.0, 71.0, 98.0]), np.array([50.0, 41.0, 11.0, 71.0, 98.0]),
                     window=5, depth_scale=0.001, depth_range=(0.1, 20.0))
    assert np.isnan(z[0])                        # the whole window is a hole
    assert z[1] == pytest.approx(3.0)            # a window partly in the hole reads the valid pixels
    assert z[2] == pytest.approx(3.0)
    assert z[3] == pytest.approx(1.0)            # 16 of 25 pixels on the near surface
    assert z[4] == pytest.approx(1.0)            # the image edge: only pixels inside count
    floats = np.full((20, 20), np.nan, np.float32)
    floats[5, 5] = 2.5
    floats[5, 6] = np.inf
    assert sample_depth(floats, np.array([5.0]), np.array([5.0]), window=3)[0] == pytest.approx(2.5)


def test_views_of_different_aspect_cannot_be_matched():
    with pytest.raises(DepthError, match='aspect'):
        scale_factors((640, 480), (640, 360))
    with pytest.raises(DepthError, match='aspect'):
        lift_points(POINTS, np.zeros((360, 640), np.float32), CAMERA, (640, 480))
    with pytest.raises(DepthError, match='calibration'):
        PinholeCamera.from_k([0.0] * 9, 640, 480)


def test_no_points_no_work():
    assert lift_points(np.empty((0, 2)), np.ones((480, 640), np.float32), CAMERA, (640, 480)).shape == (0, 3)


def test_stamp_buffer_finds_the_nearest_stamp_and_keeps_the_latest_arrivals():
    buffer = StampBuffer(capacity=3)
    assert buffer.closest(100) is None
    for stamp in (100, 300, 200, 400):  # one arrives late; the first to arrive (100) goes
        buffer.add(stamp, 'frame%d' % stamp)
    assert len(buffer) == 3
    assert buffer.closest(90) == ('frame200', 110)
    assert buffer.closest(260) == ('frame300', 40)
    assert buffer.closest(1000) == ('frame400', -600)
    # The clock jumps back (a bag played again): the new frames are kept and found at once.
    for stamp in (0, 1, 2):
        buffer.add(stamp, 'again%d' % stamp)
    assert buffer.closest(2) == ('again2', 0)


def test_stamp_buffer_across_threads():
    buffer = StampBuffer(capacity=5)

    def produce():
        for stamp in range(2000):
            buffer.add(stamp, stamp)

    thread = threading.Thread(target=produce)
    thread.start()
    while thread.is_alive():
        found = buffer.closest(10_000)
        assert found is None or found[0] == 10_000 + found[1]
    thread.join()
    assert buffer.closest(10_000) == (1999, 1999 - 10_000)
