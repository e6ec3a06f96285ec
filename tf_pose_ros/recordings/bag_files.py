"""Opening recordings and writing new ones: which bags are read, which topics are images, and an output
that appears under its name only once complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from tf_pose_ros.recordings.message_types import IMAGE_TYPES

#: Output storage formats (rosbag2 storage plugins).
STORAGES = ('mcap', 'sqlite3')
#: rosbag2 metadata version written: 8 is read by Iron, Jazzy and Kilted (9 only from Jazzy on).
BAG_VERSION = 8


class BagError(Exception):
    """A problem with the input or output bag, worded for the user."""


def open_reader(path):
    """An opened rosbags AnyReader of a rosbag2 bag (directory with metadata.yaml, or a lone .mcap or
    .db3 file) or a ROS 1 .bag file; BagError saying why ``path`` is none of these."""
    from rosbags.highlevel import AnyReader, AnyReaderError
    from rosbags.typesys import Stores, get_typestore

    path = Path(path)
    if not path.exists():
        raise BagError('%s does not exist' % path)
    try:
        # Bags recorded without message definitions (early rosbag2 SQLite3) are read with Kilted's types.
        reader = AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED))
        reader.open()
    except (AnyReaderError, OSError, ValueError, KeyError, AssertionError) as err:
        raise BagError('%s is not a bag that can be read (rosbag2 MCAP or SQLite3 directory, .mcap, .db3, or ROS 1 '
                       '.bag): %s' % (path, err or type(err).__name__)) from None
    return reader


def topic_types(reader) -> Dict[str, str]:
    """topic -> message type of every topic of an opened reader."""
    return {connection.topic: connection.msgtype for connection in reader.connections}


def select_image_topics(types: Dict[str, str], wanted: Sequence[str] = ()) -> List[str]:
    """The image topics to process: ``wanted`` (checked), or every Image and CompressedImage topic.

    BagError for a wanted topic that is not in the bag or not an image, or when there is none.
    """
    images = sorted(topic for topic, msgtype in types.items() if msgtype in IMAGE_TYPES)
    if not wanted:
        if not images:
            raise BagError('the bag has no sensor_msgs/Image or CompressedImage topic (its topics: %s)'
                           % (', '.join('%s [%s]' % item for item in sorted(types.items())) or 'none'))
        return images
    chosen = []
    for topic in wanted:
        if topic not in types:
            raise BagError('topic %s is not in the bag; its image topics: %s' % (topic, ', '.join(images) or 'none'))
        if types[topic] not in IMAGE_TYPES:
            raise BagError('topic %s is %s, not an Image or CompressedImage; the image topics: %s'
                           % (topic, types[topic], ', '.join(images) or 'none'))
        if topic not in chosen:
            chosen.append(topic)
    return chosen


def image_topics_of(path, wanted: Sequence[str] = ()) -> List[str]:
    """select_image_topics of the bag at ``path``, read from its metadata alone (BagError as open_reader's)."""
    reader = open_reader(path)
    try:
        return select_image_topics(topic_types(reader), wanted)
    finally:
        reader.close()


def default_output(source) -> Path:
    """<source without suffix>_pose beside the source (a rosbag2 bag is a directory)."""
    source = Path(source)
    stem = source.name if source.is_dir() else source.stem
    return source.with_name(stem + '_pose')


class OutputBag:
    """A rosbag2 writer whose bag is built in a hidden directory beside ``destination`` and moved there
    when the block ends without an error: an interrupted run leaves nothing under the output's name.

    With ``overwrite`` an existing ``destination`` is replaced, only once the new bag is complete.
    """

    def __init__(self, destination, storage: str = 'mcap', overwrite: bool = False, source=None):
        self.destination = Path(destination)
        if storage not in STORAGES:
            raise BagError('storage %r: expected one of %s' % (storage, ', '.join(STORAGES)))
        if source is not None and self.destination.resolve() == Path(source).resolve():
            raise BagError('the output %s is the input bag' % self.destination)
        if self.destination.exists() and not overwrite:
            raise BagError('%s exists; give another --out, or --overwrite to replace it' % self.destination)
        self.storage = storage
        self._scratch: Optional[Path] = None
        self.writer = None

    def __enter__(self):
        from rosbags.rosbag2 import StoragePlugin, Writer

        parent = self.destination.parent
        parent.mkdir(parents=True, exist_ok=True)
        self._scratch = Path(tempfile.mkdtemp(prefix='.%s.' % self.destination.name, suffix='.partial', dir=parent))
        # Named as the destination inside the scratch directory: the storage file takes the bag's name.
        plugin = StoragePlugin.MCAP if self.storage == 'mcap' else StoragePlugin.SQLITE3
        self.writer = Writer(self._scratch / self.destination.name, version=BAG_VERSION, storage_plugin=plugin)
        self.writer.open()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        assert self._scratch is not None and self.writer is not None
        try:
            if exc_type is None:
                self.writer.close()
                self._move_into_place(self._scratch / self.destination.name)
            else:
                self.writer.abort()
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _move_into_place(self, built: Path) -> None:
        assert self._scratch is not None
        if self.destination.exists() or self.destination.is_symlink():
            # Out of the way into the scratch directory, which goes as a whole afterwards.
            os.replace(self.destination, self._scratch / 'replaced')
        os.replace(built, self.destination)
