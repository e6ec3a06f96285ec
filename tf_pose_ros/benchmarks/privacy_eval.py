"""How well the face blurring covers the faces of an annotated image set (``tf-pose-ros eval --privacy``).

Every annotated person with at least MIN_FACE_POINTS visible face keypoints (nose, eyes, ears; COCO
visibility 2) has a face box: the box around those keypoints grown by half its size. A face counts as
covered when at least COVERED_SHARE of its box is blurred. The share of all pixels blurred is
reported beside it: blurring everything would cover every face.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.benchmarks.coco_eval import load_ground_truth, person_images, readable_images
from tf_pose_ros.privacy import Box, blur_mask, blurred_people, face_boxes
from tf_pose_ros.privacy.face_regions import HEAD_SCALE

#: COCO-17 slots of the face keypoints: nose, left and right eye, left and right ear.
FACE_SLOTS = (0, 1, 2, 3, 4)
MIN_FACE_POINTS = 2
#: The annotated face box: the keypoints' box grown by this factor about its centre.
BOX_GROWTH = 1.5
#: A face is covered when this share of its box is blurred.
COVERED_SHARE = 0.9
VISIBLE = 2


#: The people blurred in each row: those the blurring uses, and the persons alone (what faint people add).
PEOPLE = ('persons and faint', 'persons only')


@dataclass
class PrivacyResult:
    """Coverage figures of one run, for one head scale and one set of people blurred."""

    head_scale: float  # face_regions.HEAD_SCALE, or the value tried instead
    people: str  # one of PEOPLE
    faces: int = 0  # annotated persons with a face box
    covered: int = 0  # of those, faces blurred over at least COVERED_SHARE of their box
    shares: List[float] = field(default_factory=list, repr=False)  # per image, the share of its pixels blurred
    persons_found: int = 0  # persons the estimator found
    faint_found: int = 0  # people below its person thresholds (PoseResult.faint)
    boxes: int = 0  # face boxes blurred (a person seen only below the shoulders has none)
    skipped: List[Dict[str, str]] = field(default_factory=list)

    @property
    def covered_share(self) -> float:
        return self.covered / self.faces if self.faces else 0.0

    @property
    def blurred_share(self) -> float:
        """The mean over the images of the share of their pixels blurred."""
        return float(np.mean(self.shares)) if self.shares else 0.0

    @property
    def image_count(self) -> int:
        return len(self.shares)

    def to_dict(self) -> dict:
        """JSON-ready figures."""
        return {'head_scale': self.head_scale, 'people': self.people, 'faces': self.faces, 'covered': self.covered,
                'covered_share': self.covered_share, 'blurred_share': self.blurred_share,
                'image_count': self.image_count, 'persons_found': self.persons_found,
                'faint_found': self.faint_found, 'boxes': self.boxes, 'skipped': list(self.skipped)}


def annotated_face_box(keypoints: Sequence[float], image_size: Tuple[int, int]) -> Optional[Box]:
    """The face box of one COCO annotation's 51 keypoint numbers, or None with fewer than
    MIN_FACE_POINTS visible face keypoints; clipped to ``image_size`` (width, height), at least a pixel."""
    points = [(keypoints[3 * slot], keypoints[3 * slot + 1]) for slot in FACE_SLOTS
              if keypoints[3 * slot + 2] == VISIBLE]
    if len(points) < MIN_FACE_POINTS:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half_w, half_h = (max(xs) - min(xs)) * BOX_GROWTH / 2, (max(ys) - min(ys)) * BOX_GROWTH / 2
    width, height = image_size
    x0 = min(width - 1, max(0, int(math.floor(centre_x - half_w))))
    y0 = min(height - 1, max(0, int(math.floor(centre_y - half_h))))
    return Box(x0, y0, max(x0 + 1, min(width, int(math.ceil(centre_x + half_w)))),
               max(y0 + 1, min(height, int(math.ceil(centre_y + half_h)))))


def covered_share(mask: np.ndarray, box: Box) -> float:
    """The share of ``box``'s pixels that ``mask`` marks as blurred."""
    region = mask[box.y0:box.y1, box.x0:box.x1]
    return float(region.mean()) if region.size else 0.0


def evaluate_privacy(estimator, annotations_path, images_dir, progress: bool = True,
                     max_images: Optional[int] = None, head_scales: Sequence[float] = (HEAD_SCALE,)
                     ) -> List[PrivacyResult]:
    """Run ``estimator`` once on every image with person annotations, blur the faces it finds with each
    of ``head_scales`` (face_regions.HEAD_SCALE by default) and measure: per scale a row for each of PEOPLE."""
    from tqdm import tqdm

    from tf_pose_ros.preprocess import InvalidImageError

    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError('images directory not found: %s' % images_dir)
    coco_gt = load_ground_truth(annotations_path)
    person_id, image_ids = person_images(coco_gt, annotations_path, max_images)
    rows = [PrivacyResult(head_scale=float(scale), people=people) for scale in head_scales for people in PEOPLE]
    skipped: List[Dict[str, str]] = []
    bar = tqdm(image_ids, unit='image', desc='privacy', file=sys.stderr, disable=not progress)
    for image_id, path, image in readable_images(coco_gt, bar, images_dir, skipped):
        try:
            result = estimator.infer(image, faint=True)
        except InvalidImageError as err:
            skipped.append({'file': str(path), 'reason': str(err)})
            continue
        size = (image.shape[1], image.shape[0])
        annotations = coco_gt.loadAnns(coco_gt.getAnnIds(imgIds=image_id, catIds=[person_id], iscrowd=False))
        faces = [box for box in (annotated_face_box(a.get('keypoints') or [0] * 51, size) for a in annotations)
                 if box is not None]
        for row in rows:
            people = blurred_people(result) if row.people == PEOPLE[0] else result.persons
            boxes = face_boxes(people, size, row.head_scale)
            mask = blur_mask(image.shape[:2], boxes)
            row.persons_found += len(result.persons)
            row.faint_found += len(result.faint)
            row.boxes += len(boxes)
            row.shares.append(float(mask.mean()))
            row.faces += len(faces)
            row.covered += sum(covered_share(mask, box) >= COVERED_SHARE for box in faces)
    for row in rows:
        row.skipped = list(skipped)
    return rows


def format_privacy(results: Sequence[PrivacyResult], label: str = '') -> str:
    """The figures as a table, a row per head scale and set of people, with the skipped images named."""
    lines = ['%s: %d faces in %d images' % (label or 'privacy', results[0].faces, results[0].image_count), '',
             '| head scale | people blurred | covered | covered share | pixels blurred (mean) | boxes |',
             '|---|---|---|---|---|---|']
    for row in results:
        lines.append('| %g%s | %s (%d) | %d | %.1f%% | %.1f%% | %d |' % (
            row.head_scale, ' (default)' if row.head_scale == HEAD_SCALE else '', row.people,
            row.persons_found + (row.faint_found if row.people == PEOPLE[0] else 0), row.covered,
            100 * row.covered_share, 100 * row.blurred_share, row.boxes))
    skipped = results[0].skipped
    if skipped:
        lines.append('%d image(s) skipped (missing, unreadable or not the annotated size)' % len(skipped))
        lines += ['  %s: %s' % (entry['file'], entry['reason']) for entry in skipped]
    return '\n'.join(lines)
