"""Keras saving: `model.save("x.keras")` and `keras.saving.load_model` round-trip DRAW and
every variant of models/ (the same class, configuration and weights, the same outputs)."""

import os

import keras
import numpy as np
import pytest

from draw.models import build_model
from tests.conftest import tiny_config

VARIANTS = {
    "draw": {},
    "no attention": {"read_attn": False, "write_attn": False},
    "conv_read": {"model": "conv_read", "read_attn": False, "conv_read_mode": "replace"},
    "supervised": {"model": "supervised"},
    "conv_encoder": {"model": "conv_encoder"},
}


@pytest.mark.parametrize("name", VARIANTS)
def test_keras_file_round_trip(tmp_path, name):
    config = tiny_config(**VARIANTS[name])
    model = build_model(config, (12, 12, 1))
    path = os.path.join(tmp_path, "draw.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.config == config
    assert (loaded.B, loaded.A, loaded.C) == (12, 12, 1)
    names = [v.path for v in model.weights]
    assert [v.path for v in loaded.weights] == names
    for before, after in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(before.numpy(), after.numpy(), err_msg=before.path)
    # The same weights give the same canvases for the same latents.
    z = np.random.default_rng(0).normal(size=(config.T, 3, config.z_size)).astype(np.float32)
    np.testing.assert_allclose(
        loaded.generate(z=z)["canvas"].numpy(), model.generate(z=z)["canvas"].numpy(), atol=1e-6
    )
