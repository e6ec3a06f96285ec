"""The model zoo: builders, weight loaders and exporters, equivalence with the real graphs, FLOPs."""

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import tensor_util
from zoo_weights import randomize

from tf_pose_ros.engines.tensorflow_engine import FrozenGraphNetwork
from tf_pose_ros.models import INPUT_TENSOR, MODELS, OUTPUT_TENSOR
from tf_pose_ros.models.zoo import (
    ARCHITECTURES,
    architecture_cost,
    build_model,
    count_graph_flops,
    count_parameters,
    export_frozen_graph,
    load_frozen_graph_weights,
    load_numpy_weights,
    save_numpy_weights,
)
from tf_pose_ros.models.zoo.flops import count_model_flops
from tf_pose_ros.models.zoo.layers import BatchStatNormalization, LegacyResizeBilinear, scope_of
from tf_pose_ros.models.zoo.loaders import WeightMismatchError

MOBILENETS = [name for name in ARCHITECTURES if name != 'cmu']
HEIGHT, WIDTH = 64, 96

# Measured at 432x368 (cmu also at 656x368); the Keras and real-graph counts agree exactly.
EXPECTED_COST = {
    ('cmu', (432, 368)): (319.149407232, 52311446),
    ('cmu', (656, 368)): (484.634285056, 52311446),
    ('mobilenet_thin', (432, 368)): (9.934618896, 1930872),
    ('mobilenet', (432, 368)): (36.241759, 2038493),
    ('mobilenet_fast', (432, 368)): (13.816763, 792245),
    ('mobilenet_accurate', (432, 368)): (43.550044, 2566405),
    ('mobilenet_v2_large', (432, 368)): (8.358133, 2216080),
    ('mobilenet_v2_small', (432, 368)): (2.012407632, 473472),
}

pytestmark = pytest.mark.slow


def _image(seed=0, height=HEIGHT, width=WIDTH):
    return np.random.default_rng(seed).uniform(0, 255, (1, height, width, 3)).astype(np.float32)


def _assert_close(actual, expected, rel=1e-4):
    """Equal up to ``rel`` of the largest magnitude (random weights make outputs of any scale)."""
    assert actual.shape == expected.shape
    scale = max(float(np.abs(expected).max()), 1e-6)
    assert float(np.abs(actual - expected).max()) <= rel * scale


def _weights(model):
    return [w.numpy() for w in model.weights]


def _consts(graph_def):
    return {n.name: tensor_util.MakeNdarray(n.attr['value'].tensor)
            for n in graph_def.node if n.op == 'Const'}


def _astronaut_batch(astronaut, width=432, height=368):
    return cv2.resize(astronaut, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)[None]


# --- builders -------------------------------------------------------------------------------------

def test_every_registered_model_has_an_architecture():
    assert set(ARCHITECTURES) == set(MODELS)


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match='known'):
        build_model('resnet')


@pytest.mark.parametrize('name', list(ARCHITECTURES))
def test_builds_with_the_original_output(name):
    model = build_model(name)
    stride = ARCHITECTURES[name].output_stride
    out = model(_image()).numpy()
    assert out.shape == (1, HEIGHT // stride, WIDTH // stride, 57)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    scopes = {scope_of(layer) for layer in model.layers}
    assert 'Openpose/concat_stage7' in scopes
    first = {'cmu': 'conv1_1', 'mobilenet_v2_large': 'MobilenetV2/Conv',
             'mobilenet_v2_small': 'MobilenetV2/Conv'}.get(name, 'MobilenetV1/Conv2d_0')
    assert first in scopes


def test_fixed_input_size_and_folded_form():
    model = build_model('mobilenet_thin', input_shape=(368, 432, 3), fold_batchnorm=True)
    assert tuple(model.output.shape) == (None, 46, 54, 57)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    # Folding only moves the scale into the filters: the trainable parameter count is unchanged.
    assert count_parameters(model) == count_parameters(build_model('mobilenet_thin'))


def test_legacy_resize_uses_tf1_corner_sampling():
    x = np.arange(2 * 3, dtype=np.float32).reshape(1, 2, 3, 1)
    out = LegacyResizeBilinear(2)(x).numpy()[0, :, :, 0]

    def axis(size):  # TF1 resize_bilinear(align_corners=False): source = dst * in / out, no half pixel
        src = np.arange(2 * size) * 0.5
        low = np.floor(src).astype(int)
        return low, np.minimum(low + 1, size - 1), src - low

    (y0, y1, fy), (x0, x1, fx) = axis(2), axis(3)
    img = x[0, :, :, 0]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    np.testing.assert_allclose(out, top * (1 - fy[:, None]) + bottom * fy[:, None], rtol=0, atol=1e-6)


def test_batch_stat_normalization_uses_the_batch_statistics():
    layer = BatchStatNormalization()
    x = np.random.default_rng(1).normal(3.0, 2.0, (2, 4, 5, 3)).astype(np.float32)
    layer.build(x.shape)
    layer.gamma.assign([1.0, 2.0, 0.5])
    layer.beta.assign([0.0, 1.0, -1.0])
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    expected = (x - mean) / np.sqrt(var + 1e-3) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-5)


# --- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize('name', MOBILENETS)
def test_frozen_graph_round_trip(name, tmp_path):
    x = _image(seed=2)
    model = randomize(build_model(name), seed=3)
    expected = model(x).numpy()

    # Unfolded export: every tensor travels as is, so the reloaded model is identical.
    raw = tmp_path / 'raw.pb'
    export_frozen_graph(model, raw, fold_batchnorm=False)
    again = build_model(name)
    load_frozen_graph_weights(again, raw)
    for a, b in zip(_weights(again), _weights(model)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(again(x).numpy(), expected)

    # graph_opt.pb form (batch norms folded): FrozenGraphNetwork runs it; both model forms reload it.
    opt = tmp_path / 'graph_opt.pb'
    graph_def = export_frozen_graph(model, opt)
    assert {n.name for n in graph_def.node} >= {INPUT_TENSOR.split(':')[0], OUTPUT_TENSOR.split(':')[0]}
    from_graph = FrozenGraphNetwork(opt, device='cpu')(x)
    _assert_close(from_graph, expected)
    folded = build_model(name, fold_batchnorm=True)
    load_frozen_graph_weights(folded, opt)
    _assert_close(folded(x).numpy(), from_graph, rel=1e-5)
    # ... and exports the very same graph again.
    assert list(export_frozen_graph(folded).node) == list(graph_def.node)
    unfolded = build_model(name)
    load_frozen_graph_weights(unfolded, opt)
    _assert_close(unfolded(x).numpy(), expected)


def test_cmu_numpy_round_trip(tmp_path):
    """openpose_coco.npy layout: {'conv1_1': {'weights': HWIO, 'biases': (C,)}, ...}, ~209 MB."""
    x = _image(seed=4, height=64, width=64)
    model = randomize(build_model('cmu'), seed=5)
    expected = model(x).numpy()
    path = save_numpy_weights(model, tmp_path / 'openpose_coco.npy')

    table = np.load(path, allow_pickle=True, encoding='latin1').item()
    assert len(table) == 92
    assert set(table['conv1_1']) == {'weights', 'biases'}
    assert table['conv1_1']['weights'].shape == (3, 3, 3, 64)
    assert table['Mconv7_stage6_L2']['weights'].shape == (1, 1, 128, 19)
    del table

    again = build_model('cmu')
    load_numpy_weights(again, path)
    np.testing.assert_array_equal(again(x).numpy(), expected)


def test_cmu_frozen_graph_round_trip():
    x = _image(seed=6, height=64, width=64)
    model = randomize(build_model('cmu'), seed=7)
    graph_def = export_frozen_graph(model)
    names = {n.name for n in graph_def.node}
    assert {'preprocess_divide', 'preprocess_subtract', 'conv1_1/weights', 'conv1_1/biases',
            'conv1_1/BiasAdd', 'Openpose/concat_stage7'} <= names
    again = build_model('cmu')
    load_frozen_graph_weights(again, graph_def)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


@pytest.mark.parametrize('fold', [False, True])
def test_numpy_round_trip_mobilenet(fold, tmp_path):
    x = _image(seed=8)
    model = randomize(build_model('mobilenet_v2_small', fold_batchnorm=fold), seed=9)
    path = save_numpy_weights(model, tmp_path / 'weights.npy')
    again = build_model('mobilenet_v2_small', fold_batchnorm=fold)
    load_numpy_weights(again, path)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_numpy_loader_reads_python2_style_dictionaries(tmp_path):
    """Byte-string keys (Python 2 pickles) and the flat 'scope/name:0' entries network_base accepts."""
    model = randomize(build_model('mobilenet_thin'), seed=10)
    table = np.load(save_numpy_weights(model, tmp_path / 'w.npy'), allow_pickle=True).item()
    flat = {}
    for scope, params in table.items():
        for param, value in params.items():
            flat[('%s/%s:0' % (scope, param)).encode()] = value
    flat[b'MobilenetV1/Conv2d_0/weights/RMSProp:0'] = np.zeros(1)  # optimizer slots are skipped
    with open(tmp_path / 'flat.npy', 'wb') as handle:
        np.save(handle, flat, allow_pickle=True)
    again = build_model('mobilenet_thin')
    load_numpy_weights(again, tmp_path / 'flat.npy')
    x = _image(seed=11)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


# Keras 3.15's saving calls np.array on TF variables, which numpy 2.4 warns about once per variable.
@pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')
def test_keras_format_round_trip(tmp_path):
    """The custom layers serialise, so models save and load with Keras' own format too."""
    model = randomize(build_model('mobilenet_v2_small', fold_batchnorm=True), seed=12)
    path = tmp_path / 'model.keras'
    model.save(path)
    again = keras.models.load_model(path)
    x = _image(seed=13)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())


def test_mismatched_weights_are_refused(mobilenet_thin_path):
    with pytest.raises(WeightMismatchError):
        load_frozen_graph_weights(build_model('mobilenet_v2_small'), mobilenet_thin_path)
    with pytest.raises(WeightMismatchError, match='shape'):
        load_frozen_graph_weights(build_model('mobilenet_fast'), mobilenet_thin_path, strict=False)
    # mobilenet_thin has Conv2d_8..Conv2d_11, which mobilenet has not.
    with pytest.raises(WeightMismatchError, match='lacks'):
        load_frozen_graph_weights(build_model('mobilenet'), mobilenet_thin_path)


# --- the real graphs ------------------------------------------------------------------------------

def _real_equivalence(name, path, astronaut):
    batch = _astronaut_batch(astronaut)
    reference = FrozenGraphNetwork(path, device='cpu')(batch)
    diffs = []
    for fold in (False, True):
        model = build_model(name, fold_batchnorm=fold)
        loaded = load_frozen_graph_weights(model, path)  # strict: every graph convolution is used
        assert len(loaded) == sum(isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))
                                  for layer in model.layers)
        diffs.append(float(np.abs(model(batch).numpy() - reference).max()))
    assert reference.shape == (1, 46, 54, 57) and np.abs(reference).max() > 0.5
    assert max(diffs) < 1e-3, diffs


def test_real_mobilenet_thin_equivalence(mobilenet_thin_path, astronaut):
    _real_equivalence('mobilenet_thin', mobilenet_thin_path, astronaut)


def test_real_mobilenet_v2_small_equivalence(mobilenet_v2_small_path, astronaut):
    _real_equivalence('mobilenet_v2_small', mobilenet_v2_small_path, astronaut)


def test_export_reproduces_the_real_graph_opt(mobilenet_thin_path):
    """Loaded and exported again, mobilenet_thin gives back graph_opt.pb's nodes and constants."""
    real = tf.compat.v1.GraphDef()
    real.ParseFromString(mobilenet_thin_path.read_bytes())
    model = build_model('mobilenet_thin', fold_batchnorm=True)
    load_frozen_graph_weights(model, real)
    ours = export_frozen_graph(model)
    assert {n.name: n.op for n in ours.node} == {n.name: n.op for n in real.node}
    real_consts, our_consts = _consts(real), _consts(ours)
    for name, value in real_consts.items():
        np.testing.assert_array_equal(our_consts[name], value, err_msg=name)


# --- FLOPs and parameters -------------------------------------------------------------------------

def test_graph_flops_convention():
    """2 x multiply-accumulates of Conv2D, DepthwiseConv2dNative and MatMul, nothing else."""
    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name='image')
        x = tf.nn.conv2d(image, tf.ones([3, 3, 3, 8]), 2, 'SAME')  # 8x16 output: 8*16*8 * 27 MACs
        x = tf.nn.bias_add(x, tf.zeros([8]))
        x = tf.nn.depthwise_conv2d(x, tf.ones([3, 3, 8, 2]), [1, 1, 1, 1], 'SAME')  # 8*16*16 * 9
        x = tf.nn.relu(x)
        x = tf.matmul(tf.reshape(x, [1, 8 * 16 * 16]), tf.ones([8 * 16 * 16, 10]))  # 2048 * 10
    macs = 8 * 16 * 8 * 27 + 8 * 16 * 16 * 9 + 2048 * 10
    flops = count_graph_flops(graph.as_graph_def(), resolution=(32, 16))
    assert flops == pytest.approx(2 * macs / 1e9, rel=1e-12)


def test_keras_flops_equal_the_real_graphs(mobilenet_thin_path):
    thin = architecture_cost('mobilenet_thin', (432, 368))
    assert thin.gflops == pytest.approx(count_graph_flops(mobilenet_thin_path, (432, 368)), rel=1e-12)
    assert thin.params == count_parameters(mobilenet_thin_path)
    assert count_graph_flops(mobilenet_thin_path, (656, 368)) > thin.gflops


def test_keras_flops_equal_the_real_v2_small_graph(mobilenet_v2_small_path):
    small = architecture_cost('mobilenet_v2_small', (432, 368))
    assert small.gflops == pytest.approx(count_graph_flops(mobilenet_v2_small_path, (432, 368)), rel=1e-12)
    assert small.params == count_parameters(mobilenet_v2_small_path)


def test_exported_graph_flops_equal_the_keras_count():
    # 'mobilenet' resizes with a size computed from the input shape: shape inference must follow it.
    model = build_model('mobilenet', input_shape=(128, 160, 3))
    graph = export_frozen_graph(build_model('mobilenet'))
    assert count_graph_flops(graph, (160, 128)) == pytest.approx(count_model_flops(model), rel=1e-12)
    assert count_parameters(graph) == count_parameters(model)


@pytest.mark.parametrize('name, resolution', list(EXPECTED_COST))
def test_architecture_costs(name, resolution):
    cost = architecture_cost(name, resolution)
    gflops, params = EXPECTED_COST[(name, resolution)]
    assert cost.gflops == pytest.approx(gflops, rel=1e-6)
    assert cost.params == params
