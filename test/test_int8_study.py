"""The int8 study's pieces that need no NNCF: the nodes its mixed-precision variants keep in fp32, found
in the real graph, the calibration inputs, and int8 still refused (docs/engines.md, "int8")."""

import numpy as np
import pytest

from tf_pose_ros.benchmarks.int8_study import ModelNetwork, dynamic_model, network_inputs, stage_node_names
from tf_pose_ros.config import ConfigError, EstimatorConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def model(mobilenet_thin_path):
    return dynamic_model(mobilenet_thin_path)


def test_the_nodes_kept_in_fp32_are_the_stages_map_convolutions_and_concat_readers(model):
    names = stage_node_names(model)
    # 6 stages x (PAF branch, heatmap branch): one convolution writing 38 or 19 channels each.
    assert len(names['map_convs']) == 12
    # Stages 2-6 each read one concatenation of maps and backbone features, in both branches.
    assert len(names['concat_readers']) == 10
    assert set(names['map_convs']) <= set(names['stage_ops'])
    assert set(names['concat_readers']) <= set(names['stage_ops'])
    kinds = {op.get_friendly_name(): op.get_type_name() for op in model.get_ordered_ops()}
    assert {kinds[n] for n in names['stage_ops']} <= {'Convolution', 'GroupConvolution'}


def test_the_dynamic_model_gives_the_fp32_engines_maps(model, mobilenet_thin_path, paf_vectors):
    from tf_pose_ros.engines.openvino_engine import OpenVinoNetwork

    batch = paf_vectors[0]['ski']['net_input'][None].astype(np.float32)
    network = ModelNetwork(model, 'fp32')
    network.prepare([(432, 368)])
    reference = OpenVinoNetwork(mobilenet_thin_path, [(432, 368)], precision='fp32')(batch)
    np.testing.assert_allclose(network(batch), reference, atol=1e-4)


def test_calibration_inputs_are_the_estimators_and_deterministic(astronaut):
    config = EstimatorConfig(model='mobilenet_thin', backend='openvino', precision='fp32')
    first = network_inputs(config, [astronaut, astronaut[:200]], scales=(0.75, 1.0), mirrored=True, limit=5)
    again = network_inputs(config, [astronaut, astronaut[:200]], scales=(0.75, 1.0), mirrored=True, limit=5)
    assert len(first) == 5 and all(np.array_equal(a, b) for a, b in zip(first, again))
    whole, = network_inputs(config, [astronaut])
    assert whole.shape[0] == 1 and whole.shape[1] % 16 == 0 and whole.shape[2] % 16 == 0


def test_int8_stays_refused_with_its_reason():
    with pytest.raises(ConfigError, match='int8 is not offered.*docs/engines.md'):
        EstimatorConfig(precision='int8')
