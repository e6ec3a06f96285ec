"""Random weights for the zoo's Keras models, shared by the zoo and torch engine tests."""

import numpy as np


def randomize(model, seed=0):
    """Random weights everywhere, batch-norm statistics included, so nothing loads by accident."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        for variable in layer.weights:
            shape = tuple(variable.shape)
            if variable.name == 'kernel':
                depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
                fan_in = np.prod(shape[:2]) * (1 if depthwise else shape[2])
                value = rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
            elif variable.name in ('gamma', 'moving_variance'):
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.normal(0.0, 0.1, shape)
            variable.assign(value.astype(np.float32))
    return model
