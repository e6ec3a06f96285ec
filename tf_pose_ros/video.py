"""Annotating a video file frame by frame."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import cv2

from tf_pose_ros import privacy
from tf_pose_ros.drawing import draw_persons
from tf_pose_ros.estimator import PoseEstimator


def annotate_video(estimator: PoseEstimator, source: str, destination: str,
                   progress: Optional[Callable[[int], None]] = None, tracker=None, smoother=None,
                   anonymize: bool = False) -> dict:
    """Run pose estimation on every frame of ``source`` and write an annotated mp4 to ``destination``.

    Returns counts: frames read, frames written, persons seen and, with a ``tracker``
    (tracking.PoseTracker), the number of tracks; each person is then labelled with their track id.
    With a ``smoother`` (smoothing.KeypointSmoother) keypoints are filtered along their tracks, timed
    by the video's frame rate (a tracker of its own follows the people when ``tracker`` is None).
    ``progress`` gets called with 1 per frame. With ``anonymize`` the faces are blurred (privacy/) under
    the skeletons. Raises ValueError when the video cannot be opened or written.
    """
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise ValueError('cannot open video %s' % source)
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    follow = tracker
    if smoother is not None and follow is None:
        from tf_pose_ros.people.tracking import PoseTracker

        follow = PoseTracker()  # smoothing needs tracks even where the overlay shows no ids
    writer = None
    stats = {'frames': 0, 'written': 0, 'persons': 0,
             'frame_count': int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)}
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            stats['frames'] += 1
            result = estimator.infer(frame, faint=anonymize)
            stats['persons'] += len(result.persons)
            if anonymize:  # the frame's own detections: smoothing lags a moving face
                frame = privacy.anonymize(frame, privacy.blurred_people(result))
            tracked = follow.update(result.persons) if follow is not None else None
            if smoother is not None:
                result = smoother.smooth(result, tracked, (stats['frames'] - 1) / fps)
            ids = tracked if tracker is not None else None
            if ids:
                stats['tracks'] = max(stats.get('tracks', 0), max(ids) + 1)
            if writer is None:
                Path(destination).parent.mkdir(parents=True, exist_ok=True)
                writer = cv2.VideoWriter(str(destination), cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                         (frame.shape[1], frame.shape[0]))
                if not writer.isOpened():
                    raise ValueError('cannot write video %s' % destination)
            writer.write(draw_persons(frame, result.persons, copy=False, ids=ids))
            stats['written'] += 1
            if progress is not None:
                progress(1)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if stats['frames'] == 0:
        raise ValueError('video %s has no readable frames' % source)
    return stats
