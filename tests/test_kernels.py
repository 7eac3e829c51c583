"""Kernel plots of Models I-III (report section 5.1)."""

import numpy as np
import pytest
import tensorflow as tf

from draw.errors import DrawError
from models import build_model
from models.kernels import first_layer_kernels, kernel_picture, write_kernel_png
from tests.conftest import tiny_config


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
    with pytest.raises(DrawError, match="no convolution layers"):
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


def test_kernel_png_is_written(tmp_path):
    model = build_model(tiny_config(model="conv_encoder"), (12, 12, 1))
    path = str(tmp_path / "kernels.png")
    assert write_kernel_png(model, path) == ["x_conv"]
    image = tf.io.decode_png(open(path, "rb").read()).numpy()
    assert image.shape == (5 * 8, 8 * 5 * 8 + 7, 1)
