"""sensor_msgs image messages to BGR arrays, without ROS.

A message here is anything with the fields of sensor_msgs/Image (encoding, width, height, step,
is_bigendian, data) or sensor_msgs/CompressedImage (format, data): rclpy's messages in the node,
a bag reader's in recordings/. The node adds cv_bridge for the encodings not read here
(ros/image_conversion.py); recordings count such frames as unreadable.
"""

from __future__ import annotations

import array
import io
import warnings
from typing import Optional, Tuple

import cv2
import numpy as np

from tf_pose_ros.preprocess import MAX_IMAGE_PIXELS, InvalidImageError, to_bgr8


class ImageConversionError(ValueError):
    """An image message cannot be converted (or an array cannot become a message); the text says why."""


#: encoding -> (channels, bytes per channel), for the encodings read without cv_bridge.
LAYOUTS = {
    'bgr8': (3, 1), 'rgb8': (3, 1), 'bgra8': (4, 1), 'rgba8': (4, 1), 'mono8': (1, 1),
    'mono16': (1, 2), '16UC1': (1, 2), '8UC1': (1, 1), '8UC3': (3, 1),
    # 4:2:2 YUV, what many USB (UVC) cameras deliver: two bytes a pixel, chroma shared by pixel pairs.
    'yuv422': (2, 1), 'yuv422_yuy2': (2, 1),
}
SUPPORTED_ENCODINGS = tuple(LAYOUTS)
#: Encodings OpenCV converts to BGR itself; the others go through preprocess.to_bgr8.
TO_BGR = {'rgb8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGBA2BGR,
          'yuv422': cv2.COLOR_YUV2BGR_UYVY, 'yuv422_yuy2': cv2.COLOR_YUV2BGR_YUY2}


def raw_to_bgr8(msg) -> np.ndarray:
    """An Image message of one of SUPPORTED_ENCODINGS as a contiguous H x W x 3 uint8 BGR array the caller owns.

    16-bit encodings keep their 8 most significant bits; ``step`` and ``is_bigendian`` are honoured.
    Raises ImageConversionError when the message is inconsistent or its encoding is not one of them.
    """
    encoding = msg.encoding
    layout = LAYOUTS.get(encoding)
    if layout is None:
        raise ImageConversionError('%s; supported encodings are %s' % (
            'unsupported image encoding %r' % encoding if encoding else 'image has no encoding',
            ', '.join(SUPPORTED_ENCODINGS)))
    channels, depth = layout
    if channels == 2 and int(msg.width) % 2:
        raise ImageConversionError('%s image width %d is odd: 4:2:2 pixels come in pairs' % (encoding, msg.width))
    rows = checked_rows(msg, channels * depth)  # views only from here: no copy until the conversion
    width, height = int(msg.width), int(msg.height)
    row_bytes = width * channels * depth
    if depth == 2:
        # The most significant byte of each pixel is the first of its pair when big-endian.
        first = 0 if msg.is_bigendian else 1
        pixels = rows[:, first:row_bytes:2]
    else:
        pixels = rows[:, :row_bytes].reshape(height, width, channels)
    try:
        if encoding in TO_BGR:
            image = cv2.cvtColor(pixels, TO_BGR[encoding])
        else:
            image = to_bgr8(pixels)
    except InvalidImageError as err:
        raise ImageConversionError('%s image: %s' % (encoding, err)) from err
    if np.may_share_memory(image, rows):  # bgr8 without padding: detach from the message buffer
        image = image.copy()
    return image


def checked_rows(msg, pixel_bytes: int) -> np.ndarray:
    """The message's data as height x step bytes (a view), after checking its size fields against it."""
    encoding = msg.encoding
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    if width == 0 or height == 0:
        raise ImageConversionError('%s image is empty (width %d, height %d)' % (encoding, width, height))
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageConversionError('%s image %dx%d is larger than %d pixels'
                                   % (encoding, width, height, MAX_IMAGE_PIXELS))
    row_bytes = width * pixel_bytes
    if step < row_bytes:
        raise ImageConversionError('%s image step %d is smaller than width * bytes per pixel = %d * %d = %d'
                                   % (encoding, step, width, pixel_bytes, row_bytes))
    buffer = data_bytes(msg.data)
    if buffer.size != step * height:
        raise ImageConversionError('%s image data has %d bytes, expected step * height = %d * %d = %d (%s)'
                                   % (encoding, buffer.size, step, height, step * height,
                                      'too short' if buffer.size < step * height else 'too long'))
    return buffer.reshape(height, step)


def compressed_to_bgr8(msg) -> np.ndarray:
    """A CompressedImage message (jpeg, png, or anything OpenCV decodes) as H x W x 3 uint8 BGR."""
    buffer = data_bytes(msg.data)
    if buffer.size == 0:
        raise ImageConversionError('compressed image (format %r) has no data' % msg.format)
    size = declared_size(buffer)
    # Checked before decoding: a 0.3 MB PNG can declare 10240x10240, 315 MB once decoded.
    if size is not None and (size[0] * size[1] > MAX_IMAGE_PIXELS or 0 in size):
        raise ImageConversionError('compressed image (format %r) declares %dx%d pixels; at most %d are '
                                   'accepted' % (msg.format, size[0], size[1], MAX_IMAGE_PIXELS))
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        raise ImageConversionError('cannot decode %d bytes of compressed image data (format %r): corrupt, '
                                   'or not a format OpenCV reads' % (buffer.size, msg.format))
    return image


def declared_size(buffer: np.ndarray) -> Optional[Tuple[int, int]]:
    """(width, height) from a compressed image's header, without decoding it; None if unreadable."""
    from PIL import Image as PilImage
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', PilImage.DecompressionBombWarning)  # we judge the size ourselves
            with PilImage.open(io.BytesIO(buffer.tobytes())) as header:  # reads the header only
                return header.size
    except PilImage.DecompressionBombError as err:  # Pillow's own limit, far above ours
        raise ImageConversionError('compressed image is too large: %s' % err) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None  # not a format Pillow knows: OpenCV may still decode it, and the size is checked after


def data_bytes(data) -> np.ndarray:
    """The message's data as a flat uint8 array, without copying where the data is a buffer."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if isinstance(data, (bytes, bytearray, memoryview, array.array)):
        try:
            return np.frombuffer(data, np.uint8)
        except (ValueError, TypeError) as err:
            raise ImageConversionError('image data is not a contiguous byte buffer: %s' % err) from err
    try:
        return np.asarray(data, dtype=np.uint8).reshape(-1)
    except (ValueError, TypeError, OverflowError) as err:
        raise ImageConversionError('image data must be bytes or a sequence of integers 0..255: %s' % err) from err
