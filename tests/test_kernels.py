"""Kernel plots of Models I-III (report section 5.1)."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from draw.config import make_config
from draw.errors import DrawError
from draw.figures import first_layer_kernels, kernel_picture
from draw.run_dir import RunDir
from models import build_model
from tests.conftest import tiny_config
from tests.test_cli import checksums
from tests.test_generate import _generate


def test_first_layer_kernels_of_each_conv_model():
    model1 = build_model(tiny_config(model="conv_read", read_attn=False), (12, 12, 1))
    kernels = first_layer_kernels(model1)
    assert list(kernels) == ["x_conv", "x_hat_conv"]
    assert kernels["x_conv"].shape == (8, 5, 5, 1)  # [filters, k, k, C]
    np.testing.assert_array_equal(
        kernels["x_hat_conv"][3, :, :, 0], model1.x_hat_conv.conv1.kernel.numpy()[:, :, 0, 3]
    )
    model2 = build_model(tiny_config(model="supervised", conv_filters="4,6"), (12, 12, 3))
    assert list(first_layer_kernels(model2)) == ["x_conv"]
    assert first_layer_kernels(model2)["x_conv"].shape == (4, 5, 5, 3)


def test_plain_draw_has_no_kernels_to_plot():
    with pytest.raises(DrawError, match="needs a model with convolution layers"):
        first_layer_kernels(build_model(tiny_config(), (12, 12, 1)))


def test_kernel_picture_scales_each_kernel_to_unit_range():
    rng = np.random.default_rng(0)
    kernels = {"a": rng.normal(size=(3, 2, 2, 1)), "b": rng.normal(size=(2, 2, 2, 1))}
    picture = kernel_picture(kernels, scale=2, pad=1)
    # two rows of 2x2 kernels enlarged to 4x4, one gap of `scale` rows between them
    assert picture.shape == (4 + 2 + 4, 3 * 4 + 2, 1)
    first = kernels["a"][0, :, :, 0]
    expected = (first - first.min()) / (first.max() - first.min())
    np.testing.assert_allclose(picture[0:4:2, 0:4:2, 0], expected)
    np.testing.assert_allclose(picture[6:10:2, 5:9:2, 0].min(), 0.0)


def _saved_run(folder, config, shape=(12, 12, 1)):
    run = RunDir(str(folder))
    run.write(config, shape)
    model = build_model(config, shape)
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), run.checkpoint_dir, 1).save(3)
    return run, model


def test_generate_kernels_writes_one_labelled_row_per_conv_stack(tmp_path):
    config = tiny_config(model="conv_read", read_attn=False)
    run, _ = _saved_run(tmp_path / "run", config)
    _generate(f"--logdir={run.path}", "--kernels", f"--out_dir={tmp_path}/out")
    assert os.listdir(tmp_path / "out") == ["kernels.png"]
    picture = np.asarray(Image.open(tmp_path / "out" / "kernels.png"))
    row_height = 5 * 8 + 14  # 5x5 kernels enlarged 8 times under a 14-pixel label
    assert picture.shape == (2 * row_height + 8, 8 * 5 * 8 + 7)  # 2 stacks of 8 kernels


def test_generate_kernels_of_plain_draw_is_an_error_that_writes_nothing(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang"), (28, 28, 1))
    before = checksums(run.path)
    with pytest.raises(DrawError, match="--kernels needs a model with convolution layers"):
        _generate(f"--logdir={run.path}", "--kernels")
    assert checksums(run.path) == before
