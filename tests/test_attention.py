"""The filterbank, read and write against tests/numpy_draw.py (docs/design.md)."""

import numpy as np
import pytest
import tensorflow as tf

from draw import attention
from tests import numpy_draw


def _column(values):
    return tf.constant(np.asarray(values, np.float32)[:, None])


@pytest.mark.parametrize("N,A,B", [(5, 28, 28), (2, 12, 20), (12, 32, 32), (3, 7, 5)])
def test_filterbank_matches_numpy_equations(N, A, B):
    rng = np.random.default_rng(N * 100 + A)
    batch = 4
    gx = rng.uniform(-2, A + 3, batch)
    gy = rng.uniform(-2, B + 3, batch)
    sigma2 = rng.uniform(0.3, 6.0, batch)
    delta = rng.uniform(0.2, 4.0, batch)
    Fx, Fy = attention.filterbank(
        _column(gx), _column(gy), _column(sigma2), _column(delta), N, A, B
    )
    assert Fx.shape == (batch, N, A) and Fy.shape == (batch, N, B)
    want_x, want_y = numpy_draw.filterbank(gx, gy, sigma2, delta, N, A, B)
    np.testing.assert_allclose(Fx.numpy(), want_x, atol=2e-6)
    np.testing.assert_allclose(Fy.numpy(), want_y, atol=2e-6)


def test_filterbank_rows_sum_to_one():
    Fx, Fy = attention.filterbank(
        _column([14.5]), _column([10.0]), _column([2.0]), _column([3.0]), 5, 28, 20
    )
    np.testing.assert_allclose(Fx.numpy().sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(Fy.numpy().sum(-1), 1.0, rtol=1e-5)


def test_eps_guard_keeps_underflowing_rows_zero_and_finite():
    # A tiny variance far outside the image: every exp underflows to 0.
    Fx, Fy = attention.filterbank(
        _column([-500.0]), _column([900.0]), _column([1e-3]), _column([1.0]), 4, 10, 10
    )
    assert np.all(np.isfinite(Fx.numpy())) and np.all(np.isfinite(Fy.numpy()))
    assert np.all(Fx.numpy() == 0.0) and np.all(Fy.numpy() == 0.0)
    want_x, _ = numpy_draw.filterbank([-500.0], [900.0], [1e-3], [1.0], 4, 10, 10)
    np.testing.assert_array_equal(Fx.numpy(), want_x)


def test_grid_is_centred_on_gx_gy_in_one_based_coordinates():
    # With the paper's 1-based indices, the filter centres average to (gx, gy).
    A = B = 28
    N, gx, delta = 5, 9.0, 2.0
    Fx, _ = attention.filterbank(
        _column([gx]), _column([gx]), _column([0.01]), _column([delta]), N, A, B
    )
    peaks = np.argmax(Fx.numpy()[0], axis=1) + 1  # 1-based pixel of each filter's peak
    np.testing.assert_array_equal(peaks, [5, 7, 9, 11, 13])


@pytest.mark.parametrize("A,B", [(28, 28), (12, 20)])
def test_window_of_zero_state_is_centred(A, B):
    layer = attention.AttentionWindow(5, A, B)
    window = layer(tf.zeros([2, 16]))  # Dense bias starts at 0: the window's centre
    np.testing.assert_allclose(window.gx.numpy(), (A + 1) / 2)
    np.testing.assert_allclose(window.gy.numpy(), (B + 1) / 2)
    # The grid is symmetric about the image centre: flipping the image flips the filters.
    Fx = window.Fx.numpy()[0]
    np.testing.assert_allclose(Fx, Fx[::-1, ::-1], atol=1e-6)
    Fy = window.Fy.numpy()[0]
    np.testing.assert_allclose(Fy, Fy[::-1, ::-1], atol=1e-6)


def _random_window(rng, batch, N, A, B):
    gx, gy = rng.uniform(1, A, batch), rng.uniform(1, B, batch)
    sigma2, delta = rng.uniform(0.5, 3, batch), rng.uniform(0.5, 3, batch)
    gamma = rng.uniform(0.5, 2, batch)
    Fx, Fy = attention.filterbank(
        _column(gx), _column(gy), _column(sigma2), _column(delta), N, A, B
    )
    window = attention.Window(Fx, Fy, _column(gamma), _column(gx), _column(gy), _column(delta))
    want_x, want_y = numpy_draw.filterbank(gx, gy, sigma2, delta, N, A, B)
    return window, want_x, want_y, gamma


@pytest.mark.parametrize("C", [1, 3])
def test_glimpse_and_patch_match_numpy_per_channel(C):
    rng = np.random.default_rng(C)
    batch, N, A, B = 3, 4, 10, 8
    window, want_x, want_y, gamma = _random_window(rng, batch, N, A, B)
    images = rng.uniform(size=(batch, C, B, A)).astype(np.float32)
    got = attention.glimpse(tf.constant(images), window).numpy()
    assert got.shape == (batch, C, N, N)
    want = numpy_draw.read_glimpse(images, want_x, want_y, gamma)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    w = rng.normal(size=(batch, C, N, N)).astype(np.float32)
    got = attention.patch(tf.constant(w), window).numpy()
    assert got.shape == (batch, C, B, A)
    np.testing.assert_allclose(got, numpy_draw.write_patch(w, want_x, want_y, gamma), atol=1e-4)


def test_read_without_attention_is_x_and_x_hat():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2, 3, 4, 5)).astype(np.float32)
    x_hat = rng.uniform(size=(2, 3, 4, 5)).astype(np.float32)
    r, window = attention.Read()(tf.constant(x), tf.constant(x_hat), tf.zeros([2, 7]))
    assert window is None
    np.testing.assert_array_equal(
        r.numpy(), np.concatenate([x.reshape(2, -1), x_hat.reshape(2, -1)], 1)
    )


def test_write_without_attention_is_a_dense_to_the_whole_canvas():
    layer = attention.Write(A=5, B=4, C=3)
    h = np.random.default_rng(1).normal(size=(2, 6)).astype(np.float32)
    update, window = layer(tf.constant(h))
    assert window is None and update.shape == (2, 3, 4, 5)
    kernel, bias = (v.numpy() for v in layer.dense.weights)
    assert kernel.shape == (6, 3 * 4 * 5)
    np.testing.assert_allclose(update.numpy().reshape(2, -1), h @ kernel + bias, rtol=1e-5)


def test_attentive_read_uses_one_window_for_all_channels():
    layer = attention.AttentiveRead(3, 6, 6)
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(2, 3, 6, 6)).astype(np.float32)
    r, window = layer(
        tf.constant(x), tf.constant(x), tf.constant(rng.normal(size=(2, 8)), tf.float32)
    )
    assert r.shape == (2, 2 * 3 * 3 * 3)
    # Channel 1 read alone through the same window gives the same glimpse.
    alone = attention.glimpse(tf.constant(x[:, 1:2]), window).numpy().reshape(2, -1)
    np.testing.assert_allclose(r.numpy().reshape(2, 2, 3, 9)[:, 0, 1], alone, rtol=1e-5)


def test_filterbank_gradient_matches_finite_differences_of_numpy():
    # The filterbank's hand-written gradient against central differences of the NumPy
    # equations (float64), for a loss that weights every filter entry differently.
    rng = np.random.default_rng(7)
    N, A, B, batch = 4, 9, 7, 3
    params = [
        rng.uniform(2, 7, batch),  # gx
        rng.uniform(2, 6, batch),  # gy
        rng.uniform(0.5, 3.0, batch),  # sigma2
        rng.uniform(0.5, 2.0, batch),  # delta
    ]
    wx, wy = rng.normal(size=(batch, N, A)), rng.normal(size=(batch, N, B))

    def numpy_loss(values):
        Fx, Fy = numpy_draw.filterbank(*values, N, A, B)
        return np.sum(wx * Fx) + np.sum(wy * Fy)

    tensors = [tf.constant(p[:, None], tf.float32) for p in params]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        Fx, Fy = attention.filterbank(*tensors, N, A, B)
        loss = tf.reduce_sum(wx * Fx) + tf.reduce_sum(wy * Fy)
    grads = tape.gradient(loss, tensors)
    for k, grad in enumerate(grads):
        for n in range(batch):
            h = 1e-5
            up = [p.copy() for p in params]
            down = [p.copy() for p in params]
            up[k][n] += h
            down[k][n] -= h
            want = (numpy_loss(up) - numpy_loss(down)) / (2 * h)
            np.testing.assert_allclose(grad.numpy()[n, 0], want, rtol=2e-3, atol=2e-4)
