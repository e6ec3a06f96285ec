"""int8 study: NNCF post-training quantization of mobilenet_thin for OpenVINO, measured by COCO AP.

Reproduces the int8 table of docs/engines.md in one command (needs nncf, not a dependency of the
package: ``.venv/bin/pip install nncf==3.4.0``)::

    python -m tf_pose_ros.benchmarks.int8_study --annotations ../shared/coco_val_dev/person_keypoints.json \
        --images ../shared/coco_val_dev/images --out out/int8_study

The development set is split by image id parity: odd ids (plus the bundled warm-up photo and the two
frames of test/data/paf) calibrate, even ids are held out. Every variant is quantized from one
dynamic-shape IR of the frozen graph (compiled per input size like the fp32 engine), saved under
``--out`` (reused by later runs) and then measured in one interleaved pass against fp32 and bf16 at
the same input sizes (the default preset's fp32 form: scale 1.0, refined decoder, aspect-true input):
COCO keypoint AP on the held-out half and on the whole set, median network and pipeline ms per image,
median network ms at 432x368 alone, and the people found on the 14 agreement photos against fp32.
int8 variants run with OpenVINO's f32 inference hint, so what is not quantized runs in fp32 (as on a
CPU with VNNI and no fast bf16).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_pose_ros.benchmarks.coco_eval import _score, load_ground_truth, person_images, person_to_coco, read_image
from tf_pose_ros.benchmarks.engine_bench import compare_poses
from tf_pose_ros.config import EstimatorConfig
from tf_pose_ros.engines.base import HostMaps, thread_count
from tf_pose_ros.engines.openvino_engine import run_request
from tf_pose_ros.estimator import PoseEstimator, plan_input
from tf_pose_ros.models import INPUT_TENSOR, OUTPUT_TENSOR
from tf_pose_ros.preprocess import resize_for_network

_LOG = logging.getLogger(__name__)
PAF_FRAMES = Path(__file__).resolve().parents[2] / 'test' / 'data' / 'paf'

#: Variant name -> (what it is, calibration frames, quantize keyword arguments builder name).
VARIANTS: Dict[str, str] = {
    'per_tensor': 'per-tensor weights and activations, 64 frames, fast bias correction',
    'default': 'NNCF defaults: per-channel weights, per-tensor activations, 64 frames, fast bias correction',
    'mixed_preset': 'default + asymmetric activations (preset MIXED)',
    'calib300': 'default, 300 frames (calibration half at scales 0.75/1.0/1.25, mirrored too)',
    'bias_correction': 'default, 64 frames, full bias correction',
    'keep_map_convs': "default + the 12 stage convolutions that write the maps kept fp32",
    'keep_map_convs_and_concats': "+ the convolutions reading the 5 stage concatenations kept fp32 (maps never int8)",
    'backbone_only': 'only the MobileNet backbone quantized; the 6 refinement stages fp32',
    'accuracy_control': 'quantize_with_accuracy_control: AP on the calibration half, max drop 0.010',
}


def dynamic_model(weights: Path):
    """The frozen graph as an OpenVINO model with a dynamic input size (batch 1)."""
    import openvino as ov

    return ov.convert_model(str(weights), input=[(INPUT_TENSOR, [1, -1, -1, 3])], output=[OUTPUT_TENSOR])


def stage_node_names(model) -> Dict[str, List[str]]:
    """Names of the nodes the mixed-precision variants keep in fp32, found by the graph's structure:
    'map_convs', the convolutions writing 38 PAF or 19 heatmap channels (the last of each stage
    branch); 'concat_readers', the nodes reading a stage concatenation (maps + backbone features);
    'stage_ops', every convolution after the backbone's concatenation (the refinement stages)."""
    ops = model.get_ordered_ops()
    convs = ('Convolution', 'GroupConvolution')
    map_convs = [op.get_friendly_name() for op in ops if op.get_type_name() == 'Convolution'
                 and op.get_output_partial_shape(0)[1].get_length() in (19, 38)]
    concats = [op for op in ops if op.get_type_name() == 'Concat' and op.get_input_size() == 3]
    stage_concats = [op for op in concats if op.get_output_partial_shape(0)[1].get_length() == 921]
    readers = []
    for concat in stage_concats:
        for target in concat.output(0).get_target_inputs():
            readers.append(target.get_node().get_friendly_name())
    backbone_concat = [op for op in concats if op.get_output_partial_shape(0)[1].get_length() == 864][0]
    after, seen = [], False
    for op in ops:
        seen = seen or op is backbone_concat
        if seen and op.get_type_name() in convs:
            after.append(op.get_friendly_name())
    return {'map_convs': map_convs, 'concat_readers': readers, 'stage_ops': after}


class ModelNetwork(HostMaps):
    """An OpenVINO model of dynamic input size compiled per size: the estimator's Network for a
    quantized model (``precision`` labels it)."""

    backend = 'openvino'
    device = '/CPU:0'
    batches = False

    def __init__(self, model, precision: str, hint: str = 'f32', threads: int = 0):
        import openvino as ov

        self.model, self.precision = model, precision
        self._core = ov.Core()
        self._settings = {'INFERENCE_PRECISION_HINT': hint, 'INFERENCE_NUM_THREADS': thread_count(threads),
                          'PERFORMANCE_HINT': 'LATENCY', 'NUM_STREAMS': 1}
        self._requests: Dict[Tuple[int, int], Any] = {}

    def prepare(self, sizes: Sequence[Tuple[int, int]]) -> None:
        for width, height in sizes:
            if (width, height) not in self._requests:
                model = self.model.clone()
                model.reshape([1, height, width, 3])
                self._requests[(width, height)] = self._core.compile_model(model, 'CPU', self._settings) \
                    .create_infer_request()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return run_request(self._requests, batch)

    def close(self) -> None:
        self._requests.clear()


def with_network(config: EstimatorConfig, network: ModelNetwork) -> PoseEstimator:
    """An estimator of ``config`` whose network is ``network``."""
    estimator = PoseEstimator.from_config(config)
    assert estimator.network is not None
    estimator.network.close()
    estimator.network = network
    estimator.precision = network.precision
    estimator._plans = {}  # compiled on the next frame of each size, by ``network``
    return estimator


class DevSet:
    """The development set, read once, split by image id parity."""

    def __init__(self, annotations: Path, images: Path):
        self.coco = load_ground_truth(annotations)
        self.person_id, self.ids = person_images(self.coco, annotations)
        self.images: Dict[int, np.ndarray] = {}
        for image_id in self.ids:
            meta = self.coco.loadImgs(image_id)[0]
            image, reason = read_image(Path(images) / meta['file_name'], meta)
            if image is None:
                raise ValueError('%s: %s' % (meta['file_name'], reason))
            self.images[image_id] = image
        self.calibration_ids = [i for i in self.ids if i % 2 == 1]
        self.held_out_ids = [i for i in self.ids if i % 2 == 0]

    def ap(self, results: List[Dict[str, Any]], ids: Sequence[int]) -> float:
        chosen = [r for r in results if r['image_id'] in set(ids)]
        if not chosen:
            return 0.0
        return _score(self.coco, chosen, list(ids), self.person_id)[0]['AP']


def calibration_frames(dev: DevSet) -> List[np.ndarray]:
    """BGR frames that calibrate: the calibration half, the warm-up photo, the frames of test/data/paf."""
    from tf_pose_ros.runtime.warmup import warmup_image

    frames = [dev.images[i] for i in dev.calibration_ids] + [warmup_image()]
    frames += [np.load(PAF_FRAMES / ('%s.npz' % name))['net_input'] for name in ('apink2', 'ski')]
    return frames


def network_inputs(config: EstimatorConfig, frames: Sequence[np.ndarray], scales=(1.0,), mirrored=False,
                   limit: Optional[int] = None) -> List[np.ndarray]:
    """The network's 1 x H x W x 3 inputs for ``frames`` as the estimator makes them (aspect-true
    sizes), at each of ``scales``, also mirrored; deterministic order, the first ``limit``."""
    inputs = []
    for scale in scales:
        scaled = config.replace(scales=(scale,))
        for flip in ((False, True) if mirrored else (False,)):
            for frame in frames:
                size = plan_input(scaled, (frame.shape[1], frame.shape[0])).sizes[0]
                image = frame[:, ::-1] if flip else frame
                inputs.append(resize_for_network(np.ascontiguousarray(image), size, 'area')[np.newaxis])
    if limit is not None and len(inputs) > limit:
        # Spread over the set (every scale and mirror), not just its head.
        picks = np.linspace(0, len(inputs) - 1, limit).round().astype(int)
        inputs = [inputs[i] for i in picks]
    return inputs


def quantize_variant(name: str, model, config: EstimatorConfig, dev: DevSet, frames: List[np.ndarray]):
    """The quantized ov.Model of variant ``name``."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, QuantizationParameters

    small = network_inputs(config, frames, limit=64)
    data = nncf.Dataset(small)
    names = stage_node_names(model)
    if name == 'per_tensor':
        advanced = AdvancedQuantizationParameters(weights_quantization_params=QuantizationParameters(per_channel=False))
        return nncf.quantize(model, data, subset_size=64, advanced_parameters=advanced)
    if name == 'default':
        return nncf.quantize(model, data, subset_size=64)
    if name == 'mixed_preset':
        return nncf.quantize(model, data, subset_size=64, preset=nncf.QuantizationPreset.MIXED)
    if name == 'calib300':
        many = network_inputs(config, frames, scales=(0.75, 1.0, 1.25), mirrored=True, limit=300)
        return nncf.quantize(model, nncf.Dataset(many), subset_size=300)
    if name == 'bias_correction':
        return nncf.quantize(model, data, subset_size=64, fast_bias_correction=False)
    if name == 'keep_map_convs':
        return nncf.quantize(model, data, subset_size=64, ignored_scope=nncf.IgnoredScope(names=names['map_convs']))
    if name == 'keep_map_convs_and_concats':
        keep = names['map_convs'] + names['concat_readers']
        return nncf.quantize(model, data, subset_size=64, ignored_scope=nncf.IgnoredScope(names=keep))
    if name == 'backbone_only':
        return nncf.quantize(model, data, subset_size=64, ignored_scope=nncf.IgnoredScope(names=names['stage_ops']))
    if name == 'accuracy_control':
        return _accuracy_controlled(model, config, dev, data)
    raise ValueError('unknown variant %s' % name)


def _accuracy_controlled(model, config: EstimatorConfig, dev: DevSet, calibration):
    """NNCF's accuracy-aware quantization: the metric is COCO AP of the whole pipeline on the
    calibration half (never the held-out half); layers are ranked by NNCF's output error."""
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    items = [(image_id, x) for image_id, x in zip(dev.calibration_ids,
                                                  network_inputs(config, [dev.images[i] for i in dev.calibration_ids]))]
    estimator = PoseEstimator.from_config(config)

    class Compiled(HostMaps):
        backend, device, batches, precision = 'openvino', '/CPU:0', False, 'int8'

        def __init__(self, compiled):
            self.request = compiled.create_infer_request()
            self.outputs: List[np.ndarray] = []

        def prepare(self, sizes):
            pass

        def __call__(self, batch):
            self.request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
            self.outputs.append(self.request.get_output_tensor(0).data.copy())
            return self.outputs[-1]

        def close(self):
            pass

    def validate(compiled, data):
        # (AP, each item's maps): NNCF ranks the layers by the maps' error against fp32's, cheaply
        # (the network alone), and accepts or reverts by the AP.
        network = Compiled(compiled)
        estimator.network = network
        results = []
        ids = []
        for image_id, _ in data:
            ids.append(image_id)
            for person in estimator.infer(dev.images[image_id]).persons:
                results.append({'image_id': image_id, 'category_id': dev.person_id,
                                'keypoints': person_to_coco(person), 'score': float(person.score)})
        ap = dev.ap(results, ids)
        _LOG.info('validation AP %.4f on %d images', ap, len(ids))
        return ap, [[maps] for maps in network.outputs]

    validation = nncf.Dataset(items, lambda item: item[1])
    return nncf.quantize_with_accuracy_control(
        model, calibration, validation, validate, max_drop=0.01, subset_size=64,
        advanced_accuracy_restorer_parameters=AdvancedAccuracyRestorerParameters(max_num_iterations=15,
                                                                                 ranking_subset_size=24))


def quantized_models(weights: Path, config: EstimatorConfig, dev: DevSet, variants: Sequence[str], out: Path):
    """variant -> (ov.Model, seconds to make it; 0 when read from ``out``)."""
    import openvino as ov

    out.mkdir(parents=True, exist_ok=True)
    model = dynamic_model(weights)
    frames = calibration_frames(dev)
    models = {}
    for name in variants:
        xml = out / ('%s.xml' % name)
        seconds = 0.0
        if not xml.is_file():
            started = time.perf_counter()
            quantized = quantize_variant(name, model.clone(), config, dev, frames)
            seconds = time.perf_counter() - started
            ov.save_model(quantized, str(xml), compress_to_fp16=False)
            (out / ('%s.seconds' % name)).write_text('%.1f' % seconds)
        else:
            seconds = float((out / ('%s.seconds' % name)).read_text()) if (out / ('%s.seconds' % name)).is_file() else 0
        models[name] = (ov.Core().read_model(str(xml)), seconds)
        _LOG.info('%s: ready (%.1f s to quantize)', name, seconds)
    return model, models


def measure(config: EstimatorConfig, dev: DevSet, estimators: Dict[str, PoseEstimator],
            fixed_networks: Dict[str, Callable[[np.ndarray], np.ndarray]], repeats: int = 40) -> Dict[str, dict]:
    """Every estimator on every image, interleaved image by image; then the agreement photos and
    the network alone at 432x368, interleaved too."""
    from tqdm import tqdm

    from tf_pose_ros.samples import agreement_photos

    rows: Dict[str, dict] = {name: {'results': [], 'network_ms': [], 'pipeline_ms': []} for name in estimators}
    for image_id in tqdm(dev.ids, unit='image', desc='eval', file=sys.stderr):
        image = dev.images[image_id]
        for name, estimator in estimators.items():
            estimator.input_plan((image.shape[1], image.shape[0]))  # compiling is not a frame's time
            result = estimator.infer(image)
            rows[name]['network_ms'].append(result.timings_ms['network'])
            rows[name]['pipeline_ms'].append(result.timings_ms['total'])
            for person in result.persons:
                rows[name]['results'].append({'image_id': image_id, 'category_id': dev.person_id,
                                              'keypoints': person_to_coco(person), 'score': float(person.score)})
    photos = agreement_photos()
    reference = {photo: estimators['fp32'].infer(image).persons for photo, image in photos.items()}
    for name, estimator in estimators.items():
        same = matched = total = 0
        for photo, image in photos.items():
            result = estimator.infer(image)
            count_same, hits, keypoints = compare_poses(reference[photo], result.persons, result.image_size)
            same += count_same
            matched += hits if count_same else 0
            total += keypoints
        rows[name].update(same_people=same, photos=len(photos), keypoints_within_1pct=matched / max(total, 1))
    batch = resize_for_network(photos['group3'], (432, 368), 'area')[np.newaxis]
    times: Dict[str, List[float]] = {name: [] for name in fixed_networks}
    for _ in range(repeats):
        for name, network in fixed_networks.items():
            started = time.perf_counter()
            network(batch)
            times[name].append((time.perf_counter() - started) * 1e3)
    for name, row in rows.items():
        row['ap_held_out'] = dev.ap(row['results'], dev.held_out_ids)
        row['ap_calibration_half'] = dev.ap(row['results'], dev.calibration_ids)
        row['ap_whole'] = dev.ap(row['results'], dev.ids)
        row['median_network_ms'] = float(np.median(row.pop('network_ms')))
        row['median_pipeline_ms'] = float(np.median(row.pop('pipeline_ms')))
        row['network_ms_432x368'] = float(np.median(times[name])) if name in times else None
        row.pop('results')
    return rows


def format_table(rows: Dict[str, dict]) -> str:
    base = rows['fp32']
    lines = ['| variant | network ms 432x368 (x fp32) | network ms | pipeline ms | AP held-out (fp32 %.4f) | '
             'AP whole (fp32 %.4f) | same people | keypoints within 1%% |' % (base['ap_held_out'], base['ap_whole']),
             '|---|---|---|---|---|---|---|---|']
    for name, row in rows.items():
        lines.append('| %s | %.1f (%.2fx) | %.1f | %.1f | %.4f (%+.4f) | %.4f (%+.4f) | %d/%d | %.1f%% |' % (
            name, row['network_ms_432x368'], row['network_ms_432x368'] / base['network_ms_432x368'],
            row['median_network_ms'], row['median_pipeline_ms'], row['ap_held_out'],
            row['ap_held_out'] - base['ap_held_out'], row['ap_whole'], row['ap_whole'] - base['ap_whole'],
            row['same_people'], row['photos'], 100 * row['keypoints_within_1pct']))
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--annotations', default='../shared/coco_val_dev/person_keypoints.json')
    parser.add_argument('--images', default='../shared/coco_val_dev/images')
    parser.add_argument('--out', default='out/int8_study', help='quantized models are kept here and reused')
    parser.add_argument('--variants', default=','.join(VARIANTS), help='comma-separated, of: ' + ', '.join(VARIANTS))
    parser.add_argument('--quantize-only', action='store_true', help='make the variants, measure nothing')
    parser.add_argument('--json', help='write the figures here too')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s: %(message)s')
    variants = [v for v in args.variants.split(',') if v]
    config = EstimatorConfig(model='mobilenet_thin', backend='openvino', precision='fp32')
    dev = DevSet(Path(args.annotations), Path(args.images))
    fp32 = PoseEstimator.from_config(config)
    _, models = quantized_models(fp32.weights_path, config, dev, variants, Path(args.out))
    if args.quantize_only:
        return 0
    estimators = {'fp32': fp32, 'bf16': PoseEstimator.from_config(config.replace(precision='bf16'))}
    for name, (model, _) in models.items():
        estimators['int8 ' + name] = with_network(config, ModelNetwork(model, 'int8'))
    fixed = {}
    for name, estimator in estimators.items():
        assert estimator.network is not None
        estimator.network.prepare([(432, 368)])
        fixed[name] = estimator.network
    rows = measure(config, dev, estimators, fixed)
    for name, (_, seconds) in models.items():
        rows['int8 ' + name]['quantize_seconds'] = seconds
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
