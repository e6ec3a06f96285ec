"""The ``image_source`` node: a stand-in camera that publishes frames from a clip, images or a video.

Publishes sensor_msgs/Image on ``image_raw`` (and CompressedImage on ``image_raw/compressed`` when
``publish_compressed``) at ``rate`` Hz, stamped with the node clock, so the pose node can run without
a camera::

    python -m tf_pose_ros.ros.image_source_node --ros-args -p source:=demo -p rate:=15.0
    ros2 run tf_pose_ros image_source --ros-args -p source:=/path/to/video.mp4 -p loop:=false
    ros2 run tf_pose_ros image_source --ros-args -p source:=camera:0 -p camera_width:=1280 -p camera_height:=720

A webcam is ``/dev/videoN`` or ``camera:N`` (the index OpenCV opens); ``camera_width``,
``camera_height`` and ``camera_fps`` are what the device is asked for (0: its own choice).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Union

import cv2
import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from tf_pose_ros.ros.image_conversion import SUPPORTED_ENCODINGS, bgr8_to_compressed_msg, encode_image_msg
from tf_pose_ros.ros.param_descriptors import describe
from tf_pose_ros.ros.qos import RELIABILITIES, image_qos, reliability_error
from tf_pose_ros.ros.spinning import run, usage, wants_help

IMAGE_SUFFIXES = ('.bmp', '.jpeg', '.jpg', '.pgm', '.png', '.ppm', '.tif', '.tiff', '.webp')


class SourceError(ValueError):
    """The image source cannot start: a missing or unreadable source, or a bad parameter."""


# --- where frames come from ----------------------------------------------------------------------------
_CAMERA_INDEX = re.compile(r'^camera:(\d+)$')
_CAMERA_PATH = re.compile(r'^/dev/video\d+$')


def parse_camera(source: str) -> Optional[Union[int, str]]:
    """The camera ``source`` names: an index for 'camera:N', the path for '/dev/videoN'; None for no camera.

    'camera:' with anything but a number is a SourceError (a camera was meant, and misspelt).
    """
    source = source.strip()
    match = _CAMERA_INDEX.match(source)
    if match:
        return int(match.group(1))
    if _CAMERA_PATH.match(source):
        return source
    if source.startswith('camera:'):
        raise SourceError("source %r: a camera is 'camera:N' (N the device index, e.g. camera:0) or "
                          '/dev/videoN' % source)
    return None


def camera_path(device: Union[int, str]) -> str:
    """The device file of a camera: the path itself, or /dev/videoN for index N."""
    return device if isinstance(device, str) else '/dev/video%d' % device


def camera_name(device: Union[int, str]) -> str:
    """How errors and the log name a camera: 'camera:0 (/dev/video0)' or '/dev/video2'."""
    return 'camera:%d (%s)' % (device, camera_path(device)) if isinstance(device, int) else device


class Camera:
    """A webcam opened once; each call starts a pass that lasts as long as the device delivers frames."""

    def __init__(self, device: Union[int, str], width: int = 0, height: int = 0, fps: float = 0.0):
        self.device, self.name = device, camera_name(device)
        if isinstance(device, str) and not Path(device).exists():
            raise SourceError('camera %s: no such device (is the camera plugged in? `ls /dev/video*` lists '
                              'the cameras there are)' % self.name)
        self.capture = cv2.VideoCapture(device)
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                            (cv2.CAP_PROP_FPS, fps)):
            if value and self.capture.isOpened():
                self.capture.set(prop, value)  # a request: the device picks the nearest mode it has
        ok, frame = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok or frame is None:
            self.release()
            raise SourceError('camera %s cannot be opened or delivers no frame: it is missing, or busy in '
                              'another program (`fuser %s` names it)' % (self.name, camera_path(self.device)))
        self.first: Optional[np.ndarray] = frame
        #: The size the device delivers, which may differ from the one asked for.
        self.size = (frame.shape[1], frame.shape[0])

    def __call__(self) -> Iterator[np.ndarray]:
        if self.first is not None:
            first, self.first = self.first, None
            yield first
        while self.capture is not None:
            ok, frame = self.capture.read()
            if not ok:
                return  # unplugged or taken away: the end of the source
            yield frame

    def release(self) -> None:
        """Let other programs use the device."""
        if self.capture is not None:
            self.capture.release()
            self.capture = None


def open_source(source: str, width: int = 640, height: int = 480,
                warn: Callable[[str], None] = lambda text: None, camera_width: int = 0, camera_height: int = 0,
                camera_fps: float = 0.0) -> Callable[[], Iterator[np.ndarray]]:
    """Check ``source`` now and return a function that starts one pass over its BGR frames.

    ``source`` is 'demo' (the built-in clip, ``width`` x ``height``), 'group' (a photo of three people),
    a camera ('/dev/videoN' or 'camera:N', asked for ``camera_width`` x ``camera_height`` at
    ``camera_fps``; a Camera), or the path of a video file, an image file or a directory of images
    (read in name order; files that fail to read later are skipped with ``warn``). Raises SourceError
    when it cannot be read.
    """
    device = parse_camera(source)
    if device is not None:
        return Camera(device, camera_width, camera_height, camera_fps)
    if source in ('demo', 'group'):
        from tf_pose_ros import samples  # scikit-image's photo: imported only when asked for

        frames = list(samples.demo_frames(width, height)) if source == 'demo' else [samples.group_photo_bgr()]
        return lambda: iter(frames)
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise SourceError('source directory %s holds no images (%s)' % (path, ' '.join(IMAGE_SUFFIXES)))
        if cv2.imread(str(files[0]), cv2.IMREAD_COLOR) is None:
            raise SourceError('cannot read image %s' % files[0])
        return lambda: _read_images(files, warn)
    if not path.is_file():
        raise SourceError("source %r: no such file or directory (use 'demo', 'group', or the path of a video, "
                          'an image or a directory of images)' % source)
    if cv2.haveImageReader(str(path)):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError('cannot read image %s' % path)
        return lambda: iter([image])
    capture = cv2.VideoCapture(str(path))
    ok = capture.isOpened() and capture.read()[0]
    capture.release()
    if not ok:
        raise SourceError('cannot read frames from %s: not an image or a video that OpenCV can decode' % path)
    return lambda: _read_video(path)


def _read_images(files: List[Path], warn: Callable[[str], None]) -> Iterator[np.ndarray]:
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            warn('skipped %s: not a readable image' % file)
        else:
            yield image


def _read_video(path: Path) -> Iterator[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


# --- the node ------------------------------------------------------------------------------------------
#: (name, default, help, descriptor options) of every parameter.
SOURCE_PARAMS = (
    ('source', 'demo', "'demo' (built-in clip), 'group' (photo of three people), a camera (/dev/videoN or "
                       "camera:N), or a video, image or image directory path", dict(read_only=True)),
    ('rate', 10.0, 'frames per second', dict(floats=(0.1, 120.0))),
    ('loop', True, 'start again at the end of the source', {}),
    ('count', 0, 'frames to publish in all, then stop (the executable exits); 0 = no limit',
     dict(ints=(0, 2 ** 31 - 1))),
    ('frame_id', 'camera', 'header.frame_id of the published images', {}),
    ('encoding', 'bgr8', 'Image encoding', dict(choices=SUPPORTED_ENCODINGS)),
    ('width', 640, "width of the 'demo' clip", dict(read_only=True, ints=(16, 8192))),
    ('height', 480, "height of the 'demo' clip", dict(read_only=True, ints=(16, 8192))),
    ('camera_width', 0, 'frame width asked of a camera source; 0 = the device default',
     dict(read_only=True, ints=(0, 8192))),
    ('camera_height', 0, 'frame height asked of a camera source; 0 = the device default',
     dict(read_only=True, ints=(0, 8192))),
    ('camera_fps', 0.0, 'frame rate asked of a camera source; 0 = the device default',
     dict(read_only=True, floats=(0.0, 240.0))),
    ('publish_compressed', False, 'also publish JPEG on image_raw/compressed', dict(read_only=True)),
    ('qos_reliability', 'reliable', 'publisher QoS reliability', dict(read_only=True, choices=tuple(RELIABILITIES))),
    ('qos_depth', 10, 'publisher QoS history depth', dict(read_only=True, ints=(1, 1000))),
)


class ImageSource(Node):
    """Publishes frames from ``source`` on ``image_raw`` at ``rate`` Hz."""

    def __init__(self, node_name: str = 'image_source', **kwargs):
        super().__init__(node_name, **kwargs)
        try:
            self._setup()
        except Exception:
            self.destroy_node()  # leave nothing behind in the context when the source is unusable
            raise

    def _setup(self) -> None:
        for name, default, help_text, options in SOURCE_PARAMS:
            self.declare_parameter(name, default, describe(help_text, **options))

        def value(name):
            return self.get_parameter(name).value

        reason = self._check_encoding(value('encoding')) or reliability_error(value('qos_reliability'))
        if reason:
            raise SourceError(reason)
        source = value('source')
        self._start_pass = open_source(source, value('width'), value('height'),
                                       warn=lambda text: self.get_logger().warning(text),
                                       camera_width=value('camera_width'), camera_height=value('camera_height'),
                                       camera_fps=value('camera_fps'))
        if isinstance(self._start_pass, Camera):
            source = '%s at %dx%d' % (self._start_pass.name, *self._start_pass.size)
        self._frames: Optional[Iterator[np.ndarray]] = None
        self.published = 0
        self.done = False

        qos = image_qos(value('qos_reliability'), value('qos_depth'))
        self.image_pub = self.create_publisher(Image, 'image_raw', qos)
        self.compressed_pub = (self.create_publisher(CompressedImage, 'image_raw/compressed', qos)
                               if value('publish_compressed') else None)
        self.timer = self.create_timer(1.0 / value('rate'), self._publish_next)
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.get_logger().info('publishing %s as %s at %g Hz on %s%s' % (
            source, value('encoding'), value('rate'), self.image_pub.topic_name,
            ' (and compressed)' if self.compressed_pub else ''))

    # --- parameters changed at run time --------------------------------------------------------------
    @staticmethod
    def _check_encoding(encoding: str) -> str:
        if encoding in SUPPORTED_ENCODINGS:
            return ''
        return 'unknown encoding %r; use one of %s' % (encoding, ', '.join(SUPPORTED_ENCODINGS))

    def _check_parameters(self, params) -> SetParametersResult:
        for param in params:
            reason = self._check_encoding(param.value) if param.name == 'encoding' else ''
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        names = {param.name for param in params}
        if 'rate' in names:
            self.timer.cancel()
            self.destroy_timer(self.timer)
            self.timer = self.create_timer(1.0 / self.get_parameter('rate').value, self._publish_next)
        if names & {'count', 'loop'}:
            self.done = False  # a new count or loop may allow more frames

    # --- publishing ----------------------------------------------------------------------------------
    def _publish_next(self) -> None:
        if self.done:
            return
        count = self.get_parameter('count').value
        if count and self.published >= count:  # count was lowered at run time
            return self._finish('count reached')
        frame = self._next_frame()
        if frame is None:
            return self._finish('end of the source')
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.get_parameter('frame_id').value)
        self.image_pub.publish(encode_image_msg(frame, self.get_parameter('encoding').value, header))
        if self.compressed_pub is not None:
            self.compressed_pub.publish(bgr8_to_compressed_msg(frame, header))
        self.published += 1
        if count and self.published >= count:
            self._finish('count reached')

    def _next_frame(self) -> Optional[np.ndarray]:
        if self._frames is not None:
            frame = next(self._frames, None)
            if frame is not None:
                return frame
            if not self.get_parameter('loop').value:
                return None
        self._frames = self._start_pass()  # first frame, or the next pass of a looping source
        return next(self._frames, None)

    def _finish(self, why: str) -> None:
        self.done = True
        self.get_logger().info('%s: published %d frames; publishing stopped' % (why, self.published))

    def destroy_node(self):
        """Close the video or image files being read, then the node."""
        frames, self._frames = getattr(self, '_frames', None), None
        if hasattr(frames, 'close'):
            frames.close()
        if isinstance(getattr(self, '_start_pass', None), Camera):
            self._start_pass.release()
        return super().destroy_node()


def main(args=None) -> int:
    """Entry point of ``image_source``; returns 1 when the source or a parameter is unusable.

    Exits by itself once ``count`` frames are published, or at the end of a source that does not loop.
    """
    if wants_help(args):
        print(usage('image_source', 'Publishes camera-like frames on image_raw (sensor_msgs/Image).',
                    ((name, default, text) for name, default, text, _ in SOURCE_PARAMS)))
        return 0
    return run('image_source', ImageSource, args, finished=lambda node: node.done,
               startup_errors=(SourceError, ParameterException))


if __name__ == '__main__':
    sys.exit(main())
