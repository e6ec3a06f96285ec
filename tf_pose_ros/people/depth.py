"""3D keypoints from a depth image registered to the colour image, by pinhole back-projection.

Pixel coordinates follow OpenCV and sensor_msgs/CameraInfo: the centre of pixel (i, j) is at
x = i, y = j. Positions are in the colour camera's optical frame (x right, y down, z forward), in
metres. No ROS: the node feeds it arrays and the camera_info's K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: Relative difference of width/height ratios beyond which two images do not show the same view.
ASPECT_TOLERANCE = 0.01
DEFAULT_WINDOW = 5
DEFAULT_RANGE = (0.1, 20.0)


class DepthError(ValueError):
    """Depth and colour cannot be combined (sizes, calibration, encoding); the text says why."""


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of a camera for images of ``width`` x ``height`` pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> 'PinholeCamera':
        """From CameraInfo.k (row-major 3x3); DepthError when it holds no calibration.

        K describes the raw (distorted) image; RGB-D drivers publish colour with negligible
        distortion, so K and P agree there and distortion is not undone.
        """
        fx, fy, cx, cy = float(k[0]), float(k[4]), float(k[2]), float(k[5])
        if not (np.isfinite([fx, fy, cx, cy]).all() and fx > 0 and fy > 0):
            raise DepthError('camera_info has no usable calibration (K has fx=%g, fy=%g)' % (fx, fy))
        if width <= 0 or height <= 0:
            raise DepthError('camera_info gives no image size (%dx%d)' % (width, height))
        return cls(fx, fy, cx, cy, int(width), int(height))

    def scaled_to(self, width: int, height: int) -> 'PinholeCamera':
        """The same camera for images resized to ``width`` x ``height`` (DepthError if the view differs)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = scale_factors((self.width, self.height), (width, height), 'camera_info', 'colour image')
        return PinholeCamera(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
                             int(width), int(height))

    def back_project(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """N x 3 points (metres) of pixels (x, y) seen at depths z; NaN rows where z is NaN."""
        return np.stack(((x - self.cx) * z / self.fx, (y - self.cy) * z / self.fy, z), axis=-1)


def scale_factors(source: Tuple[int, int], target: Tuple[int, int], source_name: str = 'depth image',
                  target_name: str = 'colour image') -> Tuple[float, float]:
    """(sx, sy) taking ``source`` (width, height) pixels to ``target``; DepthError when the aspect differs."""
    (sw, sh), (tw, th) = source, target
    if min(sw, sh, tw, th) <= 0:
        raise DepthError('empty image size: %s %dx%d, %s %dx%d' % (source_name, sw, sh, target_name, tw, th))
    sx, sy = tw / sw, th / sh
    if abs(sx / sy - 1.0) > ASPECT_TOLERANCE:
        raise DepthError('%s %dx%d and %s %dx%d have different aspect ratios: not the same view, so their '
                         'pixels cannot be matched' % (source_name, sw, sh, target_name, tw, th))
    return sx, sy


def sample_depth(depth: np.ndarray, x: np.ndarray, y: np.ndarray, window: int = DEFAULT_WINDOW,
                 depth_scale: float = 1.0, depth_range: Tuple[float, float] = DEFAULT_RANGE) -> np.ndarray:
    """Robust depth in metres at pixels (x, y) of ``depth``: NaN where none is valid.

    The median over a ``window`` x ``window`` square around each pixel, leaving out 0 (no return),
    NaN/inf, values outside ``depth_range`` and pixels outside the image, so a keypoint on a
    silhouette edge or a hole still gets the depth of the surface most of its window sees. Integer
    images are multiplied by ``depth_scale`` (metres per unit); float images are metres already.
    """
    height, width = depth.shape[:2]
    if not len(x):
        return np.empty(0, np.float32)
    radius = window // 2
    offsets = np.arange(-radius, radius + 1)
    # Pixel i covers [i - 0.5, i + 0.5): floor(x + 0.5) finds it (np.rint would round ties to even).
    cols = np.floor(np.asarray(x, np.float64) + 0.5).astype(np.int64)[:, None, None] + offsets[None, None, :]
    rows = np.floor(np.asarray(y, np.float64) + 0.5).astype(np.int64)[:, None, None] + offsets[None, :, None]
    cols, rows = np.broadcast_arrays(cols, rows)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    raw = depth[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)].reshape(len(cols), -1)
    values = raw.astype(np.float32)
    if np.issubdtype(depth.dtype, np.integer):
        values *= np.float32(depth_scale)
    with np.errstate(invalid='ignore'):
        valid = inside.reshape(len(cols), -1) & (raw != 0) & np.isfinite(values) \
            & (values >= depth_range[0]) & (values <= depth_range[1])
    values[~valid] = np.nan
    ordered = np.sort(values, axis=1)  # NaN sorts last, so each row's valid values come first
    count = valid.sum(axis=1)
    low = np.maximum(count - 1, 0) // 2
    high = count // 2
    index = np.arange(len(ordered))
    median = 0.5 * (ordered[index, low] + ordered[index, np.minimum(high, ordered.shape[1] - 1)])
    median[count == 0] = np.nan
    return median


def lift_points(points: np.ndarray, depth: np.ndarray, camera: PinholeCamera, image_size: Tuple[int, int],
                window: int = DEFAULT_WINDOW, depth_scale: float = 1.0,
                depth_range: Tuple[float, float] = DEFAULT_RANGE) -> np.ndarray:
    """N x 3 positions (metres, optical frame) of N colour-image pixels ``points`` (N x 2); NaN rows without depth.

    ``depth`` is registered to the colour image but may have another size (scaled to match);
    ``camera`` is the colour camera's, scaled to ``image_size`` (width, height) when it differs.
    """
    points = np.asarray(points, np.float64).reshape(-1, 2)
    camera = camera.scaled_to(*image_size)
    sx, sy = scale_factors(image_size, (depth.shape[1], depth.shape[0]), 'colour image', 'depth image')
    if not len(points):
        return np.empty((0, 3))
    z = sample_depth(depth, (points[:, 0] + 0.5) * sx - 0.5, (points[:, 1] + 0.5) * sy - 0.5,
                     window, depth_scale, depth_range)
    return camera.back_project(points[:, 0], points[:, 1], z.astype(np.float64))


def lift_persons(persons: Sequence, depth: np.ndarray, camera: PinholeCamera, image_size: Tuple[int, int],
                 window: int = DEFAULT_WINDOW, depth_scale: float = 1.0,
                 depth_range: Tuple[float, float] = DEFAULT_RANGE) -> List[np.ndarray]:
    """Per person (people.Person), a K x 3 array of its K keypoints' positions (NaN rows without depth)."""
    counts = [len(person.keypoints) for person in persons]
    points = np.array([(k.x, k.y) for person in persons for k in person.keypoints], np.float64).reshape(-1, 2)
    lifted = lift_points(points, depth, camera, image_size, window, depth_scale, depth_range)
    return np.split(lifted, np.cumsum(counts)[:-1]) if counts else []


def check_window(window: int) -> Optional[str]:
    """Why ``window`` is no usable median window size, or None."""
    if window < 1 or window % 2 == 0:
        return 'depth_window must be an odd number of pixels >= 1, got %r' % window
    return None
