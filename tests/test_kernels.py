"""Kernel plots of Models I-III (report section 5.1)."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from draw import figures
from draw.configure import make_config
from draw.errors import DrawError
from draw.figures import first_layer_kernels
from draw.models import build_model
from draw.run_dir import RunDir
from tests.helpers import checksums, generate_main, tiny_config


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


def test_kernel_figure_shows_every_kernel_on_one_signed_scale():
    rng = np.random.default_rng(0)
    kernels = {"a": rng.normal(size=(3, 2, 2, 1)), "b": rng.normal(size=(2, 2, 2, 1)) * 3}
    figure = figures.kernel_figure(kernels)
    *axes, colorbar = figure.axes
    assert len(axes) == 2 * 3  # a row per stack, as many columns as the most filters
    shown = [a for a in axes if a.images]
    assert len(shown) == 5 and not axes[5].axison  # b has 2 kernels: its 3rd cell is empty
    np.testing.assert_array_equal(shown[4].images[0].get_array(), kernels["b"][1, :, :, 0])
    limit = max(np.abs(kernels["a"]).max(), np.abs(kernels["b"]).max())
    assert all(a.images[0].get_clim() == (-limit, limit) for a in shown)
    assert colorbar.get_ylabel() == "weight"
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["a", "b"]


def _saved_run(folder, config, shape=(12, 12, 1)):
    run = RunDir(str(folder))
    run.write(config, shape)
    model = build_model(config, shape)
    tf.train.CheckpointManager(tf.train.Checkpoint(model=model), run.checkpoint_dir, 1).save(3)
    return run, model


def test_generate_kernels_writes_one_labelled_row_per_conv_stack(tmp_path):
    config = tiny_config(model="conv_read", read_attn=False)
    run, _ = _saved_run(tmp_path / "run", config)
    generate_main(f"--logdir={run.path}", "--kernels", f"--out_dir={tmp_path}/out")
    assert os.listdir(tmp_path / "out") == ["kernels.png"]
    picture = Image.open(tmp_path / "out" / "kernels.png")
    kernels = first_layer_kernels(_saved_run(tmp_path / "again", config)[1])
    figure = figures.kernel_figure(kernels)  # 2 stacks of 8 kernels
    assert picture.size == tuple(int(v) for v in figure.get_size_inches() * figure.dpi)


def test_generate_kernels_of_plain_draw_is_an_error_that_writes_nothing(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang"), (28, 28, 1))
    before = checksums(run.path)
    with pytest.raises(DrawError, match="--kernels needs a model with convolution layers"):
        generate_main(f"--logdir={run.path}", "--kernels")
    assert checksums(run.path) == before
