"""Conversions between sensor_msgs images and OpenCV BGR arrays, without cv_bridge.

The pose network wants H x W x 3 uint8 BGR. ``image_msg_to_bgr8`` reads the common camera encodings
straight from the message buffer (row padding and 16-bit byte order included); other encodings go to
cv_bridge when a ROS 2 distribution provides it. Every problem with a message is reported as an
``ImageConversionError`` saying what is wrong, so a node can drop the frame and log why.
"""

from __future__ import annotations

import array
from typing import Optional

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from tf_pose_ros.streams.image_messages import (
    LAYOUTS,
    SUPPORTED_ENCODINGS,
    ImageConversionError,
    checked_rows,
    compressed_to_bgr8,
    declared_size,
    raw_to_bgr8,
)

# The decoding without ROS lives in streams/image_messages.py; these stay importable from here.
__all__ = ['COMPRESSED_FORMATS', 'DEPTH_ENCODINGS', 'SUPPORTED_ENCODINGS', 'ImageConversionError',
           'bgr8_to_compressed_msg', 'bgr8_to_image_msg', 'compressed_msg_to_bgr8', 'compressed_problem',
           'declared_size',
           'depth_array_to_msg', 'depth_msg_to_array', 'encode_image_msg', 'image_msg_to_bgr8', 'image_problem']

#: How encode_image_msg derives each encoding from BGR (None: the BGR pixels as they are).
_FROM_BGR = {
    'bgr8': None, '8UC3': None, 'rgb8': cv2.COLOR_BGR2RGB, 'bgra8': cv2.COLOR_BGR2BGRA,
    'rgba8': cv2.COLOR_BGR2RGBA, 'mono8': cv2.COLOR_BGR2GRAY, '8UC1': cv2.COLOR_BGR2GRAY,
    'mono16': cv2.COLOR_BGR2GRAY, '16UC1': cv2.COLOR_BGR2GRAY,
    'yuv422': cv2.COLOR_BGR2YUV_UYVY, 'yuv422_yuy2': cv2.COLOR_BGR2YUV_YUY2,
}
COMPRESSED_FORMATS = {'jpeg': '.jpg', 'jpg': '.jpg', 'png': '.png'}

_UNSET = object()
_bridge = _UNSET  # a cv_bridge.CvBridge, or None when cv_bridge is not importable; loaded on first need


# --- messages to arrays ------------------------------------------------------------------------------
def image_msg_to_bgr8(msg: Image) -> np.ndarray:
    """A sensor_msgs/Image as a contiguous H x W x 3 uint8 BGR array that the caller owns.

    Reads bgr8, rgb8, bgra8, rgba8, mono8, 8UC1, 8UC3, mono16 and 16UC1 (16-bit keeps its 8 most
    significant bits), yuv422 (UYVY) and yuv422_yuy2 (YUYV), honouring ``step`` and ``is_bigendian``
    (streams/image_messages.py, shared with recordings); other encodings need cv_bridge.
    Raises ImageConversionError when the message is inconsistent or the encoding is not readable.
    """
    if msg.encoding not in LAYOUTS:
        return _convert_with_cv_bridge(msg)
    return raw_to_bgr8(msg)


#: Depth encodings read by depth_msg_to_array: encoding -> numpy type (byte order from the message).
DEPTH_ENCODINGS = {'16UC1': 'u2', 'mono16': 'u2', '32FC1': 'f4'}


def depth_msg_to_array(msg: Image) -> np.ndarray:
    """A depth sensor_msgs/Image as an H x W array viewing the message buffer (no copy).

    16UC1/mono16 give integer units (millimetres on most cameras; scale them), 32FC1 metres.
    Raises ImageConversionError for other encodings and inconsistent messages.
    """
    kind = DEPTH_ENCODINGS.get(msg.encoding)
    if kind is None:
        raise ImageConversionError('depth image encoding %r is not one of %s'
                                   % (msg.encoding, ', '.join(DEPTH_ENCODINGS)))
    dtype = np.dtype(('>' if msg.is_bigendian else '<') + kind)
    rows = checked_rows(msg, dtype.itemsize)
    if msg.step % dtype.itemsize:
        raise ImageConversionError('%s image step %d is no whole number of %d-byte pixels'
                                   % (msg.encoding, msg.step, dtype.itemsize))
    return rows.view(dtype)[:, :int(msg.width)]


def depth_array_to_msg(depth: np.ndarray, encoding: str, header: Optional[Header] = None) -> Image:
    """An H x W depth array as a sensor_msgs/Image (little-endian, unpadded); depth_msg_to_array reads it back.

    16UC1/mono16 store the values as integer units (round millimetres first), 32FC1 as float metres.
    """
    kind = DEPTH_ENCODINGS.get(encoding)
    if kind is None:
        raise ImageConversionError('cannot encode depth as %r; depth encodings are %s'
                                   % (encoding, ', '.join(DEPTH_ENCODINGS)))
    pixels = np.asarray(depth)
    if pixels.ndim != 2 or 0 in pixels.shape:
        raise ImageConversionError('expected a non-empty H x W depth array, got shape %s' % (pixels.shape,))
    return _pixels_to_msg(pixels.astype('<' + kind), encoding, header)


def compressed_msg_to_bgr8(msg: CompressedImage) -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg, png, or anything OpenCV decodes) as H x W x 3 uint8 BGR."""
    return compressed_to_bgr8(msg)


def image_problem(msg: Image) -> str:
    """Why ``msg`` cannot be read, as far as its encoding and size fields tell without decoding it ('' when
    they fit): cheap enough for a subscription callback, so a bad frame never displaces a good one."""
    try:
        if msg.encoding in LAYOUTS:
            channels, channel_bytes = LAYOUTS[msg.encoding]
            checked_rows(msg, channels * channel_bytes)
        elif _get_cv_bridge() is None or not msg.encoding:
            raise _unsupported(msg.encoding)
    except ImageConversionError as err:
        return str(err)
    return ''


def compressed_problem(msg: CompressedImage) -> str:
    """Why a CompressedImage surely cannot be read without decoding it ('' when it may be)."""
    return '' if len(msg.data) else 'compressed image (format %r) has no data' % msg.format


def _unsupported(encoding: str) -> ImageConversionError:
    return ImageConversionError(
        '%s; supported encodings are %s (with a ROS 2 distribution, an importable cv_bridge adds the '
        'other sensor_msgs image encodings)' % ('unsupported image encoding %r' % encoding if encoding
                                                else 'image has no encoding', ', '.join(SUPPORTED_ENCODINGS)))


def _convert_with_cv_bridge(msg: Image) -> np.ndarray:
    encoding = msg.encoding
    bridge = _get_cv_bridge()
    if bridge is None or not encoding:
        raise _unsupported(encoding)
    try:
        image = bridge.imgmsg_to_cv2(msg, desired_encoding='bgr8')
    except Exception as err:  # cv_bridge raises CvBridgeError, TypeError, ValueError, cv2.error, ...
        raise ImageConversionError('cv_bridge cannot convert the %r image: %s' % (encoding, err)) from err
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageConversionError('cv_bridge returned a %s array of shape %s for %r, not bgr8'
                                   % (image.dtype, image.shape, encoding))
    return np.ascontiguousarray(image)


def _get_cv_bridge():
    global _bridge
    if _bridge is _UNSET:
        try:
            from cv_bridge import CvBridge
        except ImportError:
            _bridge = None
        else:
            _bridge = CvBridge()
    return _bridge


# --- arrays to messages ------------------------------------------------------------------------------
def bgr8_to_image_msg(image: np.ndarray, header: Optional[Header] = None) -> Image:
    """An H x W x 3 uint8 BGR array as a bgr8 sensor_msgs/Image with ``header``."""
    return _pixels_to_msg(_check_bgr8(image), 'bgr8', header)


def bgr8_to_compressed_msg(image: np.ndarray, header: Optional[Header] = None, fmt: str = 'jpeg',
                           quality: int = 90) -> CompressedImage:
    """An H x W x 3 uint8 BGR array as a CompressedImage; ``fmt`` is 'jpeg' (``quality`` 1..100) or 'png'.

    ``format`` follows compressed_image_transport ('bgr8; jpeg compressed bgr8'), so image_transport
    subscribers decode it too.
    """
    extension = COMPRESSED_FORMATS.get(fmt.lower())
    if extension is None:
        raise ImageConversionError('unsupported compressed format %r; use %s' % (fmt, ', '.join(COMPRESSED_FORMATS)))
    if not 1 <= quality <= 100:
        raise ImageConversionError('jpeg quality must be within 1..100, got %r' % quality)
    options = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if extension == '.jpg' else []
    ok, encoded = cv2.imencode(extension, _check_bgr8(image), options)
    if not ok:
        raise ImageConversionError('OpenCV could not encode the image as %s' % fmt)
    name = 'jpeg' if extension == '.jpg' else 'png'
    msg = CompressedImage(header=header if header is not None else Header(),
                          format='bgr8; %s compressed bgr8' % name)
    msg.data = _byte_array(encoded)
    return msg


def encode_image_msg(image_bgr: np.ndarray, encoding: str, header: Optional[Header] = None,
                     bigendian: bool = False) -> Image:
    """An H x W x 3 uint8 BGR array as a sensor_msgs/Image in any of SUPPORTED_ENCODINGS.

    Mono encodings carry the gray image; mono16/16UC1 scale it by 257 so that 255 becomes 65535 and
    the 8 most significant bits are the gray value again; ``bigendian`` picks their byte order.
    """
    if encoding not in _FROM_BGR:
        raise ImageConversionError('cannot encode as %r; supported encodings are %s'
                                   % (encoding, ', '.join(SUPPORTED_ENCODINGS)))
    image = _check_bgr8(image_bgr)
    conversion = _FROM_BGR[encoding]
    pixels = image if conversion is None else cv2.cvtColor(image, conversion)
    if LAYOUTS[encoding][1] == 2:
        pixels = (pixels.astype(np.uint16) * 257).astype('>u2' if bigendian else '<u2')
    return _pixels_to_msg(pixels, encoding, header, bigendian=bigendian and pixels.itemsize == 2)


def _check_bgr8(image) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageConversionError('expected an H x W x 3 uint8 BGR array, got %s' % (
            '%s array of shape %s' % (image.dtype, image.shape) if isinstance(image, np.ndarray)
            else type(image).__name__))
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageConversionError('image is empty (%dx%d)' % (image.shape[1], image.shape[0]))
    return image


def _pixels_to_msg(pixels: np.ndarray, encoding: str, header: Optional[Header], bigendian: bool = False) -> Image:
    height, width = pixels.shape[:2]
    msg = Image(header=header if header is not None else Header(), height=height, width=width,
                encoding=encoding, is_bigendian=int(bigendian), step=pixels[0].nbytes)
    msg.data = _byte_array(pixels)
    return msg


def _byte_array(pixels: np.ndarray) -> array.array:
    # An array.array('B') is what rclpy stores; building it directly skips a per-byte check.
    data = array.array('B')
    data.frombytes(np.ascontiguousarray(pixels).reshape(-1).view(np.uint8))
    return data
