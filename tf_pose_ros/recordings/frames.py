"""Image messages of a bag: decoded for the network, written back with faces blurred (in the message's own
encoding or compression), and annotated images built."""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from tf_pose_ros.privacy import Box, pixelate
from tf_pose_ros.recordings.message_types import COMPRESSED_IMAGE, IMAGE
from tf_pose_ros.streams.image_messages import (
    LAYOUTS,
    ImageConversionError,
    checked_rows,
    compressed_to_bgr8,
    data_bytes,
    raw_to_bgr8,
)

#: JPEG quality of blurred and annotated compressed images (the original's quality is not recorded).
JPEG_QUALITY = 95
_PNG_SIGNATURE = b'\x89PNG'


def decode(msg, msgtype: str) -> np.ndarray:
    """The frame of an Image or CompressedImage message as H x W x 3 uint8 BGR; ImageConversionError if unreadable."""
    return compressed_to_bgr8(msg) if msgtype == COMPRESSED_IMAGE else raw_to_bgr8(msg)


def blurred_message(types, msg, msgtype: str, header, image: np.ndarray, boxes: Sequence[Box]):
    """A new message of ``msgtype`` with ``header``: ``msg``'s frame with ``boxes`` pixelated (``image`` is
    that frame decoded). Raw images keep their encoding, row padding and byte order, and every pixel
    outside the boxes; compressed ones are encoded again as they were (PNG as PNG, else JPEG)."""
    if msgtype == IMAGE:
        return types.types[IMAGE](header=header, height=msg.height, width=msg.width, encoding=msg.encoding,
                                  is_bigendian=msg.is_bigendian, step=msg.step, data=blurred_pixels(msg, boxes))
    data = data_bytes(msg.data)
    png = data[:4].tobytes() == _PNG_SIGNATURE
    return types.types[COMPRESSED_IMAGE](header=header, format=msg.format,
                                         data=encode(pixelate(image, boxes), 'png' if png else 'jpeg'))


def blurred_pixels(msg, boxes: Sequence[Box]) -> np.ndarray:
    """A copy of a raw Image message's data bytes with ``boxes`` pixelated in its own pixel layout."""
    encoding = msg.encoding
    if encoding not in LAYOUTS:
        raise ImageConversionError('cannot blur %r images' % encoding)  # decode() refused it already
    channels, depth = LAYOUTS[encoding]
    rows = checked_rows(msg, channels * depth).copy()
    width, height = int(msg.width), int(msg.height)
    used = rows[:, :width * channels * depth]
    if channels == 2:
        # 4:2:2: a pixel pair shares its chroma, so blocks are taken over whole pairs (U Y V Y), each
        # byte averaged with the same byte of the other pairs: the result is valid 4:2:2 again.
        pixels = used.reshape(height, width // 2, 4)
        boxes = [Box(box.x0 // 2, box.y0, math.ceil(box.x1 / 2), box.y1) for box in boxes]
    elif depth == 2:
        pixels = used.view('>u2' if msg.is_bigendian else '<u2').reshape(height, width, channels)
    else:
        pixels = used.reshape(height, width, channels)
    pixels[...] = pixelate(pixels, boxes)
    return rows.reshape(-1)


def encode(image: np.ndarray, codec: str) -> np.ndarray:
    """``image`` compressed as 'png' or 'jpeg' (JPEG_QUALITY), as a uint8 array."""
    options = [] if codec == 'png' else [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    ok, encoded = cv2.imencode('.png' if codec == 'png' else '.jpg', image, options)
    if not ok:
        raise ImageConversionError('OpenCV could not encode a %dx%d image as %s' % (image.shape[1], image.shape[0],
                                                                                   codec))
    return encoded.reshape(-1)


def annotated_message(types, msgtype: str, header, image: np.ndarray):
    """A drawn-on BGR frame as a message of the input's kind: bgr8 Image, or JPEG CompressedImage."""
    if msgtype == IMAGE:
        return types.types[IMAGE](header=header, height=image.shape[0], width=image.shape[1], encoding='bgr8',
                                  is_bigendian=0, step=image.shape[1] * 3, data=np.ascontiguousarray(image).reshape(-1))
    return types.types[COMPRESSED_IMAGE](header=header, format='bgr8; jpeg compressed bgr8',
                                         data=encode(image, 'jpeg'))
