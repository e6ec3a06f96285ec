"""The bag command's loop: every frame of the image topics in record order through the estimator, the
results and every other message into a new bag.

Messages are read and decoded ahead on a thread of their own (prefetch.py). Frames are gathered
into batches of ``batch_size`` for PoseEstimator.infer_batch (one network run where the engine
batches); the messages read meanwhile wait with them, so the output is written in the input's order.
Each image topic has its own tracker and keypoint smoother, timed by the image stamps, as
``infer --video`` has for its video.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.people import smoothing as keypoint_smoothing
from tf_pose_ros.people.tracking import DEFAULT_MAX_AGE, PoseTracker
from tf_pose_ros.privacy import blurred_people, face_boxes, pixelate
from tf_pose_ros.recordings import frames
from tf_pose_ros.recordings.bag_files import OutputBag, open_reader, select_image_topics, topic_types
from tf_pose_ros.recordings.message_types import PERSONS, output_typestore
from tf_pose_ros.recordings.persons import header_of, persons_message, stamp_seconds
from tf_pose_ros.recordings.prefetch import prefetched

#: Unreadable frames named in the summary (all are counted).
PROBLEMS_SHOWN = 5
#: Messages read and decoded ahead of the network (at least two batches).
PREFETCH = 8


@dataclass(frozen=True)
class BagOptions:
    """What the bag command writes and how it follows people (defaults: the CLI's)."""

    topics: Tuple[str, ...] = ()  # image topics to process; () = every Image and CompressedImage topic
    storage: str = 'mcap'
    annotate: bool = False  # add <topic>/annotated
    anonymize: bool = False  # faces blurred in the image topics, in place of the originals
    overwrite: bool = False
    tracking: bool = True  # Person.id is a track id (else the index in the message)
    track_max_age: int = DEFAULT_MAX_AGE
    smoothing: str = keypoint_smoothing.DEFAULT_METHOD
    smoothing_min_cutoff: float = keypoint_smoothing.DEFAULT_MIN_CUTOFF
    smoothing_beta: float = keypoint_smoothing.DEFAULT_BETA
    batch_size: int = 4


@dataclass
class BagSummary:
    """What a run read and wrote."""

    destination: Path
    topics: List[str]
    frames: int = 0  # image messages read
    inferred: int = 0  # of those, decoded and run through the estimator
    persons: int = 0  # persons in the Persons messages written
    copied: int = 0  # messages of other topics copied
    unreadable: Dict[str, int] = field(default_factory=dict)  # topic -> frames that could not be read
    problems: List[str] = field(default_factory=list)  # the first PROBLEMS_SHOWN of them, with the reason
    seconds: float = 0.0

    @property
    def unreadable_count(self) -> int:
        return sum(self.unreadable.values())

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Frame:
    """One image message on its way: read and decoded, then inferred, then written."""

    topic: str
    connection: Any  # rosbags' Connection
    timestamp: int
    raw: Any  # the serialized message
    msg: Any = None  # deserialized
    image: Optional[np.ndarray] = None  # decoded: None when unreadable
    problem: str = ''


class _TopicOutput:
    """One image topic's tracker, smoother and output connections."""

    def __init__(self, options: BagOptions):
        self.tracker = PoseTracker(max_age=options.track_max_age) if options.tracking else None
        self.smoother = keypoint_smoothing.make_smoother(options.smoothing, options.smoothing_min_cutoff,
                                                         options.smoothing_beta)
        # Smoothing follows tracks even where Person.id is no track id (as infer --video).
        self.follow = self.tracker or (PoseTracker(max_age=options.track_max_age) if self.smoother else None)
        self.persons = self.image = self.annotated = None


def process_bag(estimator, source, destination, options: BagOptions = BagOptions(),
                progress: Optional[Callable[[int], None]] = None, on_start: Optional[Callable[[int], None]] = None
                ) -> BagSummary:
    """Process every frame of the image topics of the bag ``source`` into a new bag at ``destination``.

    ``on_start(frames)`` is told how many frames there are before the first; ``progress(1)`` after each.
    Raises BagError for an unreadable input, an unknown topic or an output that exists (without
    ``overwrite``); nothing is left at ``destination`` when it fails or is interrupted.
    """
    started = time.perf_counter()
    reader = open_reader(source)
    try:
        topics = select_image_topics(topic_types(reader), options.topics)
        output = OutputBag(destination, options.storage, options.overwrite, source=source)
        summary = BagSummary(destination=output.destination, topics=topics)
        if on_start is not None:
            on_start(sum(c.msgcount for c in reader.connections if c.topic in topics))
        with output:
            _Run(estimator, reader, output.writer, topics, options, summary, progress).run()
    finally:
        reader.close()
    summary.seconds = time.perf_counter() - started
    return summary


class _Run:
    """One pass over the bag (process_bag's work)."""

    def __init__(self, estimator, reader, writer, topics: List[str], options: BagOptions, summary: BagSummary,
                 progress: Optional[Callable[[int], None]]):
        from rosbags.convert.converter import create_connections_converters

        self.estimator, self.reader, self.writer = estimator, reader, writer
        self.options, self.summary = options, summary
        self.progress = progress or (lambda count: None)
        self.types = output_typestore()
        self.outputs = {topic: _TopicOutput(options) for topic in topics}
        copied = [c for c in reader.connections if c.topic not in self.outputs or not options.anonymize]
        # rosbags' own converter: raw bytes unchanged between rosbag2 bags, ROS 1 messages as CDR.
        self.copy_to, self.convert = create_connections_converters(copied, None, reader, writer)
        for connection in reader.connections:
            if connection.topic in self.outputs:
                self._add_outputs(connection)
        writer.set_custom_data('tf_pose_ros.model', str(estimator.model))
        writer.set_custom_data('tf_pose_ros.settings', estimator.config.describe())
        self.pending: List[Union[_Frame, Tuple[Any, int, Any]]] = []  # frames and other messages, in read order
        self.batch: List[_Frame] = []

    def _add_outputs(self, connection) -> None:
        out = self.outputs[connection.topic]
        if out.persons is not None:
            return  # a topic recorded from several publishers: one output each
        qos = getattr(connection.ext, 'offered_qos_profiles', [])
        add = self.writer.add_connection
        out.persons = add(connection.topic + '/persons', PERSONS, typestore=self.types, offered_qos_profiles=qos)
        if self.options.anonymize:
            out.image = add(connection.topic, connection.msgtype, typestore=self.types, offered_qos_profiles=qos)
        if self.options.annotate:
            out.annotated = add(connection.topic + '/annotated', connection.msgtype, typestore=self.types,
                                offered_qos_profiles=qos)

    def run(self) -> None:
        ahead = max(PREFETCH, 2 * self.options.batch_size)
        for item in prefetched(self.reader.messages(), self._read, ahead):
            if isinstance(item, _Frame):
                self.pending.append(item)
                if item.image is not None:
                    self.batch.append(item)
                    if len(self.batch) >= self.options.batch_size:
                        self._flush()
            elif self.pending:
                self.pending.append(item)
            else:
                self._copy(*item)
        self._flush()

    def _read(self, message: Tuple[Any, int, Any]) -> Union[_Frame, Tuple[Any, int, Any]]:
        """An image topic's message read into a _Frame (on the prefetch thread); others as they are."""
        connection, timestamp, raw = message
        if connection.topic not in self.outputs:
            return message
        frame = _Frame(connection.topic, connection, timestamp, raw)
        try:
            frame.msg = self.reader.deserialize(raw, connection.msgtype)
            frame.image = frames.decode(frame.msg, connection.msgtype)
        except Exception as err:  # whatever a corrupt message raises, the frame is unreadable
            frame.image, frame.problem = None, '%s: %s' % (type(err).__name__, err)
        return frame

    def _flush(self) -> None:
        results = self.estimator.infer_batch([frame.image for frame in self.batch], faint=self.options.anonymize)
        by_frame = {id(frame): result for frame, result in zip(self.batch, results)}
        for item in self.pending:
            if isinstance(item, _Frame):
                self._write_frame(item, by_frame.get(id(item)))
            else:
                self._copy(*item)
        self.pending, self.batch = [], []

    def _copy(self, connection, timestamp: int, raw) -> None:
        target = self.copy_to[(connection.id, connection.owner)]
        self.writer.write(target, timestamp, self.convert[connection.msgtype](raw))
        if connection.topic not in self.outputs:
            self.summary.copied += 1

    def _write_frame(self, frame: _Frame, result) -> None:
        summary, out = self.summary, self.outputs[frame.topic]
        summary.frames += 1
        if result is None:
            summary.unreadable[frame.topic] = summary.unreadable.get(frame.topic, 0) + 1
            if len(summary.problems) < PROBLEMS_SHOWN:
                summary.problems.append('%s at %.9f s: %s' % (frame.topic, frame.timestamp * 1e-9, frame.problem))
            if not self.options.anonymize:  # kept as recorded; blurred, it cannot be: then it is left out
                self._copy(frame.connection, frame.timestamp, frame.raw)
            self.progress(1)
            return
        summary.inferred += 1
        assert frame.image is not None
        header = header_of(self.types, frame.msg.header)
        shown, ids = self._follow(out, result, frame.msg.header)
        summary.persons += len(shown.persons)
        self._write(out.persons, frame.timestamp,
                    persons_message(self.types, shown, header, str(self.estimator.model), ids), PERSONS)
        image = frame.image
        msgtype = frame.connection.msgtype
        if self.options.anonymize:
            # The frame's own detections, not the smoothed ones: smoothing lags a moving face.
            boxes = face_boxes(blurred_people(result), result.image_size)
            self._write(out.image, frame.timestamp,
                        frames.blurred_message(self.types, frame.msg, msgtype, header, image, boxes), msgtype)
            image = pixelate(image, boxes)  # the annotated image shows no face either
        else:
            self._copy(frame.connection, frame.timestamp, frame.raw)
        if self.options.annotate:
            drawn = draw_persons(image, shown.persons, copy=False, ids=ids)
            self._write(out.annotated, frame.timestamp, frames.annotated_message(self.types, msgtype, header, drawn),
                        msgtype)
        self.progress(1)

    def _follow(self, out: _TopicOutput, result, header):
        """The result as written (smoothed along its tracks) and the Person ids (track ids, or None)."""
        tracks = out.follow.update(result.persons) if out.follow is not None else None
        if out.smoother is not None and tracks is not None:
            result = out.smoother.smooth(result, tracks, stamp_seconds(header))
        return result, tracks if out.tracker is not None else None

    def _write(self, connection, timestamp: int, msg, msgtype: str) -> None:
        self.writer.write(connection, timestamp, self.types.serialize_cdr(msg, msgtype))
