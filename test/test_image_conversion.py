"""sensor_msgs images <-> BGR arrays: every encoding, row padding, byte order, and every refusal."""

import array
import sys
import types

import cv2
import numpy as np
import pytest

pytest.importorskip('sensor_msgs', reason='sensor_msgs (ROS 2) is not importable')

from sensor_msgs.msg import CompressedImage, Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from tf_pose_ros.ros import image_conversion as conversion  # noqa: E402
from tf_pose_ros.ros.image_conversion import (  # noqa: E402
    SUPPORTED_ENCODINGS,
    ImageConversionError,
    bgr8_to_compressed_msg,
    bgr8_to_image_msg,
    compressed_msg_to_bgr8,
    encode_image_msg,
    image_msg_to_bgr8,
)

COLOUR = ('bgr8', 'rgb8', 'bgra8', 'rgba8', '8UC3')
MONO = ('mono8', '8UC1', 'mono16', '16UC1')
YUV = ('yuv422', 'yuv422_yuy2')

pytestmark = pytest.mark.ros


@pytest.fixture
def picture():
    """Random pixels (odd sizes, so row and column mix-ups show) and a recognisable corner."""
    image = np.random.default_rng(7).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 0)  # blue in BGR
    return image


def gray_bgr(image):
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


@pytest.fixture
def no_cv_bridge(monkeypatch):
    """As on a machine without a ROS 2 distribution: cv_bridge cannot be imported."""
    monkeypatch.setitem(sys.modules, 'cv_bridge', None)
    monkeypatch.setattr(conversion, '_bridge', conversion._UNSET)


def test_the_supported_list():
    assert set(SUPPORTED_ENCODINGS) == set(COLOUR) | set(MONO) | set(YUV)


@pytest.mark.parametrize('encoding', COLOUR)
def test_colour_round_trip_is_exact(picture, encoding):
    header = Header(frame_id='cam')
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = encode_image_msg(picture, encoding, header)
    assert (msg.width, msg.height, msg.encoding) == (53, 37, encoding)
    assert msg.step == 53 * (4 if encoding in ('bgra8', 'rgba8') else 3)
    assert len(msg.data) == msg.step * msg.height
    assert msg.header.frame_id == 'cam' and msg.header.stamp.nanosec == 345
    out = image_msg_to_bgr8(msg)
    assert out.dtype == np.uint8 and out.shape == (37, 53, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, picture)


@pytest.mark.parametrize('encoding', MONO)
def test_mono_round_trip_gives_the_gray_image(picture, encoding):
    msg = encode_image_msg(picture, encoding)
    assert msg.step == 53 * (2 if '16' in encoding else 1)
    out = image_msg_to_bgr8(msg)
    assert out.shape == (37, 53, 3) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, gray_bgr(picture))


def test_channel_order_is_really_swapped(picture):
    msg = encode_image_msg(picture, 'rgb8')
    assert list(msg.data[:3]) == [0, 0, 255]
    assert list(encode_image_msg(picture, 'rgba8').data[:4]) == [0, 0, 255, 255]
    assert list(encode_image_msg(picture, 'bgra8').data[:4]) == [255, 0, 0, 255]


@pytest.mark.parametrize('encoding', ('mono16', '16UC1'))
def test_sixteen_bit_keeps_the_most_significant_byte_in_either_byte_order(encoding):
    values = np.array([[0x1234, 0xff01, 0x00ff], [0x8000, 0x7fff, 0xabcd]], dtype=np.uint16)
    expected = (values >> 8).astype(np.uint8)
    for bigendian, dtype in ((0, '<u2'), (1, '>u2')):
        msg = Image(height=2, width=3, encoding=encoding, is_bigendian=bigendian, step=6,
                    data=values.astype(dtype).tobytes())
        out = image_msg_to_bgr8(msg)
        for channel in range(3):
            np.testing.assert_array_equal(out[:, :, channel], expected)


def test_big_endian_mono16_round_trip(picture):
    msg = encode_image_msg(picture, 'mono16', bigendian=True)
    assert msg.is_bigendian == 1
    first = int(cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY)[0, 0]) * 257
    assert list(msg.data[:2]) == [first >> 8, first & 0xff]
    np.testing.assert_array_equal(image_msg_to_bgr8(msg), gray_bgr(picture))


@pytest.mark.parametrize('encoding', SUPPORTED_ENCODINGS)
def test_padded_rows(picture, encoding):
    if encoding in YUV:
        picture = np.ascontiguousarray(picture[:, :52])  # 4:2:2 needs an even width
    plain = encode_image_msg(picture, encoding, bigendian=True)
    padding = 11  # odd on purpose: rows of 16-bit pixels start unaligned
    rows = np.frombuffer(bytes(plain.data), np.uint8).reshape(plain.height, plain.step)
    padded = np.full((plain.height, plain.step + padding), 0xEE, np.uint8)
    padded[:, :plain.step] = rows
    msg = Image(height=plain.height, width=plain.width, encoding=encoding, is_bigendian=plain.is_bigendian,
                step=plain.step + padding, data=padded.tobytes())
    np.testing.assert_array_equal(image_msg_to_bgr8(msg), image_msg_to_bgr8(plain))


@pytest.mark.parametrize('kind', ['bytes', 'bytearray', 'array', 'list', 'ndarray'])
def test_data_as_any_byte_container(picture, kind):
    raw = picture.tobytes()
    data = {'bytes': raw, 'bytearray': bytearray(raw), 'array': array.array('B', raw), 'list': list(raw),
            'ndarray': np.frombuffer(raw, np.uint8)}[kind]
    msg = Image(height=37, width=53, encoding='bgr8', step=53 * 3)
    msg._data = data  # bypass the field setter, as other producers may hand such containers
    np.testing.assert_array_equal(image_msg_to_bgr8(msg), picture)


def test_the_result_is_owned_and_writable_not_a_view_of_the_message(picture):
    msg = bgr8_to_image_msg(picture)
    out = image_msg_to_bgr8(msg)
    out[:] = 0  # the node draws on the array it gets
    assert out.flags.writeable and out.flags.owndata
    np.testing.assert_array_equal(image_msg_to_bgr8(msg), picture)
    readonly = Image(height=37, width=53, encoding='bgr8', step=159)
    readonly._data = picture.tobytes()
    assert image_msg_to_bgr8(readonly).flags.writeable


def test_bgr8_to_image_msg(picture):
    msg = bgr8_to_image_msg(picture, Header(frame_id='x'))
    assert (msg.encoding, msg.width, msg.height, msg.step, msg.is_bigendian) == ('bgr8', 53, 37, 159, 0)
    assert msg.header.frame_id == 'x' and isinstance(msg.data, array.array)
    assert bytes(msg.data) == picture.tobytes()
    assert bgr8_to_image_msg(picture[:, ::-1]).data == bgr8_to_image_msg(picture[:, ::-1].copy()).data


@pytest.mark.parametrize('bad', [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8), 'not an image'])
def test_arrays_that_are_not_bgr8_are_refused(bad):
    with pytest.raises(ImageConversionError, match='BGR|empty'):
        bgr8_to_image_msg(bad)
    with pytest.raises(ImageConversionError):
        encode_image_msg(bad, 'mono8')


def test_unknown_target_encoding_is_refused(picture):
    with pytest.raises(ImageConversionError, match="'nv21'.*bgr8"):
        encode_image_msg(picture, 'nv21')


@pytest.mark.parametrize('encoding, order', [('yuv422', 'UYVY'), ('yuv422_yuy2', 'YUYV')])
def test_yuv422_as_usb_cameras_send_it(astronaut, encoding, order):
    msg = encode_image_msg(astronaut, encoding)
    assert msg.step == 2 * msg.width and len(msg.data) == 2 * msg.width * msg.height
    # The byte order names the layout: luma at odd bytes for UYVY, at even bytes for YUYV.
    raw = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width * 2)
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY).ravel()
    luma, chroma = (raw[:, 1::2], raw[:, 0::2]) if order == 'UYVY' else (raw[:, 0::2], raw[:, 1::2])
    assert np.corrcoef(luma.ravel(), gray)[0, 1] > 0.999 > abs(np.corrcoef(chroma.ravel(), gray)[0, 1])
    back = image_msg_to_bgr8(msg)
    assert back.shape == astronaut.shape
    assert np.abs(back.astype(int) - astronaut.astype(int)).mean() < 2  # chroma is shared by pixel pairs


def test_yuv422_of_odd_width_is_refused():
    with pytest.raises(ImageConversionError, match='width 5 is odd'):
        image_msg_to_bgr8(_msg(encoding='yuv422', step=10, data=bytes(40)))


# --- refusals ------------------------------------------------------------------------------------------
def _msg(**fields):
    values = dict(height=4, width=5, encoding='bgr8', step=15, data=bytes(60))
    values.update(fields)
    return Image(**values)


@pytest.mark.parametrize('fields, pattern', [
    (dict(width=0, step=0, data=b''), r'empty \(width 0, height 4\)'),
    (dict(height=0, data=b''), r'empty \(width 5, height 0\)'),
    (dict(step=14, data=bytes(56)), r'step 14 is smaller than width \* bytes per pixel = 5 \* 3 = 15'),
    (dict(encoding='mono16', step=9, data=bytes(36)), r'step 9 is smaller than .* = 5 \* 2 = 10'),
    (dict(data=bytes(59)), r'has 59 bytes, expected step \* height = 15 \* 4 = 60 \(too short\)'),
    (dict(data=bytes(61)), r'has 61 bytes, expected step \* height = 15 \* 4 = 60 \(too long\)'),
    (dict(step=16), r'has 60 bytes, expected step \* height = 16 \* 4 = 64 \(too short\)'),
    (dict(width=50000, height=50000, step=150000, data=b''), 'larger than'),
])
def test_inconsistent_messages_are_refused_with_the_numbers(fields, pattern):
    with pytest.raises(ImageConversionError, match=pattern):
        image_msg_to_bgr8(_msg(**fields))


def test_the_error_is_a_value_error():
    assert issubclass(ImageConversionError, ValueError)


def test_bad_data_values_are_refused():
    msg = _msg()
    msg._data = [300] * 60
    with pytest.raises(ImageConversionError, match='0..255'):
        image_msg_to_bgr8(msg)


@pytest.mark.parametrize('encoding', ['nv21', '32FC1', 'bayer_rggb8', 'BGR8'])
def test_unsupported_encoding_lists_the_supported_ones(no_cv_bridge, encoding):
    with pytest.raises(ImageConversionError) as caught:
        image_msg_to_bgr8(_msg(encoding=encoding))
    text = str(caught.value)
    assert repr(encoding) in text and 'cv_bridge' in text
    for name in SUPPORTED_ENCODINGS:
        assert name in text


def test_missing_encoding(no_cv_bridge):
    with pytest.raises(ImageConversionError, match='no encoding.*bgr8'):
        image_msg_to_bgr8(_msg(encoding=''))


# --- cv_bridge fallback (a stand-in module: cv_bridge needs a ROS 2 distribution) ----------------------
class FakeBridge:
    calls = []

    def imgmsg_to_cv2(self, msg, desired_encoding='passthrough'):
        self.calls.append((msg.encoding, desired_encoding))
        if msg.encoding == 'nv21':
            return np.full((msg.height, msg.width, 3), 7, np.uint8)
        if msg.encoding == '32FC1':
            return np.zeros((msg.height, msg.width), np.float32)
        raise TypeError('Unrecognized image encoding [%s]' % msg.encoding)


@pytest.fixture
def fake_cv_bridge(monkeypatch):
    module = types.ModuleType('cv_bridge')
    module.CvBridge = FakeBridge
    FakeBridge.calls = []
    monkeypatch.setitem(sys.modules, 'cv_bridge', module)
    monkeypatch.setattr(conversion, '_bridge', conversion._UNSET)
    return FakeBridge


def test_other_encodings_go_to_cv_bridge_when_importable(fake_cv_bridge):
    out = image_msg_to_bgr8(_msg(encoding='nv21', step=10, data=bytes(40)))
    assert out.shape == (4, 5, 3) and (out == 7).all()
    assert fake_cv_bridge.calls == [('nv21', 'bgr8')]
    image_msg_to_bgr8(_msg())  # our own encodings never go there
    assert len(fake_cv_bridge.calls) == 1


def test_cv_bridge_errors_become_image_conversion_errors(fake_cv_bridge):
    with pytest.raises(ImageConversionError, match=r"cv_bridge cannot convert the 'weird' image: Unrecognized"):
        image_msg_to_bgr8(_msg(encoding='weird'))
    with pytest.raises(ImageConversionError, match='not bgr8'):
        image_msg_to_bgr8(_msg(encoding='32FC1', step=20, data=bytes(80)))


# --- compressed ----------------------------------------------------------------------------------------
def test_png_round_trip_is_exact(picture):
    header = Header(frame_id='cam')
    msg = bgr8_to_compressed_msg(picture, header, fmt='png')
    assert isinstance(msg, CompressedImage) and msg.format == 'bgr8; png compressed bgr8'
    assert msg.header.frame_id == 'cam' and bytes(msg.data[1:4]) == b'PNG'
    np.testing.assert_array_equal(compressed_msg_to_bgr8(msg), picture)


def test_jpeg_round_trip_is_close():
    smooth = cv2.resize(np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8), (160, 120))
    msg = bgr8_to_compressed_msg(smooth, fmt='jpeg', quality=95)
    assert msg.format == 'bgr8; jpeg compressed bgr8' and bytes(msg.data[:2]) == b'\xff\xd8'
    out = compressed_msg_to_bgr8(msg)
    assert out.shape == smooth.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - smooth.astype(int)).mean() < 3


def test_plain_format_strings_and_list_data_decode(picture):
    ok, png = cv2.imencode('.png', picture)
    msg = CompressedImage(format='png')
    msg._data = list(png.tobytes())
    np.testing.assert_array_equal(compressed_msg_to_bgr8(msg), picture)


def test_gray_png_decodes_to_three_channels():
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    ok, png = cv2.imencode('.png', gray)
    out = compressed_msg_to_bgr8(CompressedImage(format='png', data=png.tobytes()))
    assert out.shape == (6, 8, 3)
    np.testing.assert_array_equal(out[:, :, 1], gray)


@pytest.mark.parametrize('data, pattern', [(b'', 'no data'), (b'\xff\xd8garbage' * 10, 'cannot decode 90 bytes'),
                                           (bytes(1000), 'cannot decode 1000 bytes')])
def test_empty_or_corrupt_compressed_data_is_refused(data, pattern):
    with pytest.raises(ImageConversionError, match=pattern):
        compressed_msg_to_bgr8(CompressedImage(format='jpeg', data=data))


def test_truncated_png_is_refused(picture):
    data = bytes(bgr8_to_compressed_msg(picture, fmt='png').data)
    with pytest.raises(ImageConversionError, match='cannot decode'):
        compressed_msg_to_bgr8(CompressedImage(format='png', data=data[:len(data) // 2]))


def test_unknown_compressed_format_and_bad_quality(picture):
    with pytest.raises(ImageConversionError, match="'webp'"):
        bgr8_to_compressed_msg(picture, fmt='webp')
    with pytest.raises(ImageConversionError, match='quality'):
        bgr8_to_compressed_msg(picture, quality=0)


def _png_declaring(width, height):
    """A real 8x8 PNG whose header (with a valid checksum) claims width x height."""
    import struct
    import zlib

    data = bytearray(cv2.imencode('.png', np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    ihdr = data.index(b'IHDR')
    data[ihdr + 4:ihdr + 12] = struct.pack('>II', width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack('>I', zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    return bytes(data)


def _jpeg_declaring(width, height):
    import struct

    data = bytearray(cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    return bytes(data)


@pytest.mark.parametrize('make', [_png_declaring, _jpeg_declaring])
def test_oversized_compressed_images_are_refused_before_decoding(make):
    from tf_pose_ros.ros.image_conversion import declared_size

    assert declared_size(np.frombuffer(make(640, 480), np.uint8)) == (640, 480)
    huge = CompressedImage(format='bomb', data=make(10240, 10240))
    assert len(huge.data) < 1000
    with pytest.raises(ImageConversionError, match='declares 10240x10240 pixels'):
        compressed_msg_to_bgr8(huge)


@pytest.mark.parametrize('encoding, dtype', [('16UC1', 'u2'), ('mono16', 'u2'), ('32FC1', 'f4')])
@pytest.mark.parametrize('bigendian', [False, True])
def test_depth_images_are_read_in_their_byte_order_past_the_row_padding(encoding, dtype, bigendian):
    depth = (np.arange(12, dtype=np.float64).reshape(3, 4) * 250 + 1).astype(dtype)
    stored = depth.astype(('>' if bigendian else '<') + dtype)
    padded = np.zeros((3, 6), stored.dtype)  # two pixels of padding per row
    padded[:, :4] = stored
    msg = Image(height=3, width=4, encoding=encoding, is_bigendian=int(bigendian), step=6 * stored.itemsize,
                data=padded.tobytes())
    np.testing.assert_array_equal(conversion.depth_msg_to_array(msg), depth)
    msg.data = padded.tobytes()[:-1]
    with pytest.raises(ImageConversionError, match='too short'):
        conversion.depth_msg_to_array(msg)
    msg.step = 4 * stored.itemsize + 1
    msg.data = bytes(3 * msg.step)
    with pytest.raises(ImageConversionError, match='whole number'):
        conversion.depth_msg_to_array(msg)
    np.testing.assert_array_equal(conversion.depth_msg_to_array(conversion.depth_array_to_msg(depth, encoding)), depth)
