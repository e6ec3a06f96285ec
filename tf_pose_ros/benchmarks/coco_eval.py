"""COCO keypoint evaluation (AP/AR with pycocotools) of a PoseEstimator."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

#: COCOeval's keypoint stats, in its order.
STAT_NAMES: Tuple[str, ...] = ('AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl')
#: Table headers of the original's experiments table, one per STAT_NAMES entry.
STAT_HEADERS: Tuple[str, ...] = ('AP', 'AP 50', 'AP 75', 'AP medium', 'AP large',
                                 'AR', 'AR 50', 'AR 75', 'AR medium', 'AR large')
#: Visibility written for a detected keypoint: the original writes 2 (COCOeval ignores the
#: detections' flag, so this only matters to other tools reading the results).
DETECTED_VISIBILITY = 2

_LOG = logging.getLogger(__name__)


@dataclass
class EvalResult:
    """Figures of one evaluation. ``stats`` are COCOeval's (-1 where the set has no such people)."""

    stats: Dict[str, float]
    image_count: int  # images evaluated (read and run through the network)
    mean_time_ms: float  # mean wall time of estimator.infer per evaluated image
    detections: int
    skipped: List[Dict[str, str]] = field(default_factory=list)  # {'file', 'reason'} per image left out
    message: str = ''  # why the stats are zero, when they were not computed
    summary: str = ''  # pycocotools' own summary text
    results: List[Dict[str, Any]] = field(default_factory=list, repr=False)  # COCO result entries

    def to_dict(self) -> dict:
        """JSON-ready figures (without the per-person results)."""
        return {'stats': dict(self.stats), 'image_count': self.image_count,
                'mean_time_ms': self.mean_time_ms, 'detections': self.detections,
                'skipped': list(self.skipped), 'message': self.message}


def person_to_coco(person, offset: Tuple[float, float] = (0.0, 0.0)) -> List[float]:
    """51 floats (x, y, v) in COCO-17 order; missing parts are 0, 0, 0 as in the original.
    ``offset`` (x, y) is subtracted from every position (letterbox padding)."""
    keypoints: List[float] = []
    for value in person.coco17():
        if value is None:
            keypoints.extend((0.0, 0.0, 0))
        else:
            keypoints.extend((round(value[0] - offset[0], 2), round(value[1] - offset[1], 2), DETECTED_VISIBILITY))
    return keypoints


def _zero_stats() -> Dict[str, float]:
    return {name: 0.0 for name in STAT_NAMES}


def load_ground_truth(annotations_path):
    """pycocotools' COCO of the annotation file; FileNotFoundError, or ValueError naming what is wrong."""
    from pycocotools.coco import COCO

    path = Path(annotations_path)
    if not path.is_file():
        raise FileNotFoundError('annotations file not found: %s' % path)
    # pycocotools prints progress to stdout; keep stdout for our table.
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(path))
    except (ValueError, KeyError, TypeError, AssertionError) as err:
        raise ValueError('%s is not a COCO annotation file: %s' % (path, err)) from None


def person_images(coco_gt, annotations_path, max_images: Optional[int] = None) -> Tuple[int, List[int]]:
    """The person category id and, as the original takes them, the ids of every image with a person
    annotation in id order (the first ``max_images``); ValueError when the file has none."""
    cat_ids = coco_gt.getCatIds(catNms=['person'])
    if not cat_ids:
        names = sorted(c.get('name', '?') for c in coco_gt.loadCats(coco_gt.getCatIds()))
        raise ValueError('%s has no "person" category (it has: %s); keypoint AP needs person annotations'
                         % (annotations_path, ', '.join(names) or 'none'))
    image_ids = sorted(coco_gt.getImgIds(catIds=cat_ids))
    if not image_ids:
        raise ValueError('%s has no images with person annotations' % annotations_path)
    return cat_ids[0], image_ids[:max_images] if max_images is not None else image_ids


def evaluate(estimator, annotations_path, images_dir, progress: bool = True,
             max_images: Optional[int] = None, letterbox: Optional[float] = None) -> EvalResult:
    """Run ``estimator`` on the images with person annotations and score it with COCOeval.

    Images that are missing, unreadable or of another size than their annotation says are left
    out of the scoring and listed in ``result.skipped``. With no detection at all the stats are
    zero and ``result.message`` says so. With ``letterbox`` (an aspect ratio, e.g. 16 / 9) every
    image is padded with black to that shape before inference and the keypoints are mapped back:
    the people as a camera of that shape would show them.
    """
    return evaluate_many([estimator], annotations_path, images_dir, progress, max_images, letterbox)[0]


def evaluate_many(estimators: Sequence, annotations_path, images_dir, progress: bool = True,
                  max_images: Optional[int] = None, letterbox: Optional[float] = None) -> List[EvalResult]:
    """evaluate() for several estimators at once, interleaved image by image.

    Each image is read once and given to every estimator in turn, so their times are measured
    under the same conditions (a machine slowing down mid-run slows them all) and comparable.
    """
    from tqdm import tqdm

    from tf_pose_ros.preprocess import InvalidImageError, letterbox_image, letterbox_size

    if max_images is not None and max_images < 1:
        raise ValueError('max_images must be at least 1, got %r' % (max_images,))
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError('images directory not found: %s' % images_dir)
    coco_gt = load_ground_truth(annotations_path)
    person_id, image_ids = person_images(coco_gt, annotations_path, max_images)
    cat_ids = [person_id]

    # Like a camera whose frame size is known: every estimator readies its input for each image size
    # first, so the times below are per frame, not the one-time compilation of new input sizes.
    sizes = {(meta['width'], meta['height']) for meta in coco_gt.loadImgs(image_ids)}
    for estimator in estimators:
        for size in sorted(sizes):
            if hasattr(estimator, 'input_plan'):
                estimator.input_plan(letterbox_size(size, letterbox) if letterbox else size)

    results: List[List[Dict[str, Any]]] = [[] for _ in estimators]
    elapsed_ms = [0.0] * len(estimators)
    skipped: List[Dict[str, str]] = []
    evaluated: List[int] = []
    bar = tqdm(image_ids, unit='image', desc='eval', file=sys.stderr, disable=not progress)
    for image_id, path, image in readable_images(coco_gt, bar, images_dir, skipped):
        offset = (0.0, 0.0)
        if letterbox is not None:
            image, offset = letterbox_image(image, letterbox)
        poses = []
        try:
            for k, estimator in enumerate(estimators):
                start = time.perf_counter()
                poses.append(estimator.infer(image))
                elapsed_ms[k] += (time.perf_counter() - start) * 1e3
        except InvalidImageError as err:
            skipped.append({'file': str(path), 'reason': str(err)})
            continue
        evaluated.append(image_id)
        for k, pose in enumerate(poses):
            for person in pose.persons:
                results[k].append({'image_id': image_id, 'category_id': cat_ids[0],
                                   'keypoints': person_to_coco(person, offset), 'score': float(person.score)})
        bar.set_postfix(persons=len(poses[0].persons), refresh=False)
    bar.close()
    for entry in skipped:
        _LOG.warning('skipped %s: %s', entry['file'], entry['reason'])

    outcome = []
    for k in range(len(estimators)):
        result = EvalResult(stats=_zero_stats(), image_count=len(evaluated),
                            mean_time_ms=elapsed_ms[k] / len(evaluated) if evaluated else 0.0,
                            detections=len(results[k]), skipped=list(skipped), results=results[k])
        if not evaluated:
            result.message = 'no image could be used: nothing was evaluated'
        elif not results[k]:
            # loadRes cannot take an empty list; with nothing detected every AP and AR is zero anyway.
            result.message = 'no person detected in %d image(s): AP and AR are 0' % len(evaluated)
        else:
            result.stats, result.summary = _score(coco_gt, results[k], evaluated, cat_ids[0])
        outcome.append(result)
    return outcome


def read_image(path: Path, meta) -> Tuple[Any, str]:
    """(image, '') or (None, why it cannot be scored against its annotation ``meta``)."""
    import cv2

    if not path.is_file():
        return None, 'file not found'
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        return None, 'cannot read as an image'
    width, height = meta.get('width'), meta.get('height')
    if (width, height) != (image.shape[1], image.shape[0]):
        # Keypoints are in the annotated image's pixels: another size would score wrong positions.
        return None, 'image is %dx%d, its annotation says %sx%s' % (image.shape[1], image.shape[0], width, height)
    return image, ''


def readable_images(coco_gt, image_ids: Iterable[int], images_dir: Path,
                    skipped: List[Dict[str, str]]) -> Iterator[Tuple[int, Path, Any]]:
    """(image id, path, BGR image) for each of ``image_ids`` that can be read; the others are noted in
    ``skipped`` with the reason."""
    for image_id in image_ids:
        meta = coco_gt.loadImgs(image_id)[0]
        path = images_dir / meta['file_name']
        image, reason = read_image(path, meta)
        if image is None:
            skipped.append({'file': str(path), 'reason': reason})
            continue
        yield image_id, path, image


def _score(coco_gt, results, image_ids, person_id: int) -> Tuple[Dict[str, float], str]:
    from pycocotools.cocoeval import COCOeval

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        coco_dt = coco_gt.loadRes(results)
        coco_eval = COCOeval(coco_gt, coco_dt, 'keypoints')
        # Skipped images are not scored: their people would count as misses of the network.
        coco_eval.params.imgIds = list(image_ids)
        coco_eval.params.catIds = [person_id]  # other categories of the file are not ours to score
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return {name: float(value) for name, value in zip(STAT_NAMES, coco_eval.stats)}, text.getvalue()


def format_table(result: EvalResult, label: str = '') -> str:
    """The original's experiments-table row style (4 decimals), plus time per image and counts."""
    return format_rows([(label, result)]) if label else format_rows([('', result)], labelled=False)


def format_rows(rows: Sequence[Tuple[str, EvalResult]], labelled: bool = True) -> str:
    """One table row per (label, result), e.g. the configurations of one interleaved run."""
    headers = (['configuration'] if labelled else []) + list(STAT_HEADERS) + ['ms/image', 'images']
    table = []
    for label, result in rows:
        cells = [label] if labelled else []
        cells += ['%.4f' % result.stats[name] for name in STAT_NAMES]
        cells += ['%.1f' % result.mean_time_ms, '%d' % result.image_count]
        table.append(cells)
    widths = [max([10, len(h)] + [len(cells[i]) for cells in table]) for i, h in enumerate(headers)]
    lines = ['| ' + ' | '.join(h.ljust(w) for h, w in zip(headers, widths)) + ' |',
             '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    lines += ['| ' + ' | '.join(c.rjust(w) for c, w in zip(cells, widths)) + ' |' for cells in table]
    first = rows[0][1]
    if first.skipped:
        lines.append('%d image(s) skipped (missing, unreadable or not the annotated size)' % len(first.skipped))
        lines += ['  %s: %s' % (entry['file'], entry['reason']) for entry in first.skipped]
    for label, result in rows:
        if result.message:
            lines.append(('%s: ' % label if labelled else '') + result.message)
    return '\n'.join(lines)


__all__ = ['EvalResult', 'STAT_NAMES', 'evaluate', 'evaluate_many', 'format_rows', 'format_table', 'person_to_coco']
