"""Turning caller images into network input: validation, colour normalisation, resizing, letterboxing."""

from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

#: Bigger frames than this are refused rather than risking memory on a robot (about 100 MP).
MAX_IMAGE_PIXELS = 100_000_000


class InvalidImageError(ValueError):
    """The image cannot be used as pose input; the message says why."""


def to_bgr8(image) -> np.ndarray:
    """Validate an image and return it as a contiguous H x W x 3 uint8 BGR array.

    Accepts uint8/uint16 BGR, BGRA, grayscale (H x W or H x W x 1), and float images in [0, 1].
    16-bit images keep their 8 most significant bits.
    """
    if image is None:
        raise InvalidImageError('image is None (was the file read correctly?)')
    if not isinstance(image, np.ndarray):
        raise InvalidImageError('image must be a numpy array, got %s' % type(image).__name__)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InvalidImageError('image shape %s: expected H x W (gray), H x W x 3 (BGR) or H x W x 4 (BGRA)'
                                % (image.shape,))
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise InvalidImageError('image is empty (%dx%d)' % (width, height))
    if height * width > MAX_IMAGE_PIXELS:
        raise InvalidImageError('image %dx%d is larger than %d pixels' % (width, height, MAX_IMAGE_PIXELS))
    image = _to_uint8(image)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if image.dtype in (np.float32, np.float64, np.float16):
        if not np.all(np.isfinite(image)):
            raise InvalidImageError('float image contains NaN or infinity')
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            raise InvalidImageError('float image values must lie in [0, 1], got [%g, %g]' % (low, high))
        return np.round(image * 255.0).astype(np.uint8)
    raise InvalidImageError('unsupported image dtype %s (use uint8, uint16 or float in [0, 1])' % image.dtype)


#: How frames are resized to the network input: 'area' as the networks were trained (tf-pose's
#: augmentation resizes with cv2.INTER_AREA), 'cubic' as the original's inference does.
INTERPOLATIONS = {'area': cv2.INTER_AREA, 'cubic': cv2.INTER_CUBIC}


def resize_for_network(image_bgr: np.ndarray, resolution: Tuple[int, int], interpolation: str = 'cubic') -> np.ndarray:
    """Resize to (width, height) with ``interpolation`` (INTERPOLATIONS); returns float32 for the network."""
    width, height = resolution
    if image_bgr.shape[1] != width or image_bgr.shape[0] != height:
        image_bgr = cv2.resize(image_bgr, (width, height), interpolation=INTERPOLATIONS[interpolation])
    return image_bgr.astype(np.float32)


def letterbox_size(size: Tuple[int, int], aspect: float) -> Tuple[int, int]:
    """(width, height) of an image of ``size`` padded to the aspect ratio ``aspect``."""
    width, height = size
    return max(width, int(round(height * aspect))), max(height, int(round(width / aspect)))


def letterbox_image(image: np.ndarray, aspect: float) -> Tuple[np.ndarray, Tuple[float, float]]:
    """``image`` padded with black, centred, to the aspect ratio ``aspect`` (width / height), and the
    (x, y) offset of the image in it. A camera of that shape sees the scene this way."""
    height, width = image.shape[:2]
    target_w, target_h = letterbox_size((width, height), aspect)
    dx, dy = (target_w - width) // 2, (target_h - height) // 2
    padded = np.zeros((target_h, target_w) + image.shape[2:], image.dtype)
    padded[dy:dy + height, dx:dx + width] = image
    return padded, (float(dx), float(dy))
