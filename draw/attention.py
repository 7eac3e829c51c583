"""DRAW's read and write operations, with and without the Gaussian attention window.

Images inside the model are channels-first, `[batch, C, B, A]` (C channels of B rows and A
columns), so that every channel is one B x A matrix and the filterbank products are plain
batched matmuls; one shared window serves all channels, as in the DRAW paper.
The equations are those of docs/design.md (the paper's eqs. 19-22, with its 1-based grid
and pixel indices so that the window is centred on (gx, gy)).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf


def filterbank(gx, gy, sigma2, delta, N, A, B, eps=1e-8):
    """The paper's Gaussian filterbank matrices.

    Args:
      gx, gy: `[batch, 1]` grid centre in 1-based pixel coordinates.
      sigma2: `[batch, 1]` isotropic variance of the filters.
      delta: `[batch, 1]` stride between grid points.
      N: grid size; A, B: image width and height.
      eps: guard on each row's sum, so a row that underflows to zero stays zero.

    Returns:
      Fx `[batch, N, A]` and Fy `[batch, N, B]`, each row normalised to sum 1.
    """
    dtype = gx.dtype
    offsets = tf.range(1, N + 1, dtype=dtype)[tf.newaxis, :] - N / 2 - 0.5  # i - N/2 - 0.5
    a = tf.range(1, A + 1, dtype=dtype)[tf.newaxis, tf.newaxis, :]  # [1, 1, A]
    b = tf.range(1, B + 1, dtype=dtype)[tf.newaxis, tf.newaxis, :]  # [1, 1, B]

    @tf.custom_gradient
    def bank(gx, gy, sigma2, delta):
        two_sigma2 = 2.0 * sigma2[:, :, tf.newaxis]  # [batch, 1, 1]

        def normalised(pixels, g):
            mu = g + offsets * delta  # [batch, N], the filters' centres
            u = pixels - mu[:, :, tf.newaxis]
            E = tf.exp(-tf.square(u) / two_sigma2)
            S = tf.reduce_sum(E, axis=2, keepdims=True)
            M = tf.maximum(S, eps)
            return (u, E, S, M), E / M

        x_parts, Fx = normalised(a, gx)
        y_parts, Fy = normalised(b, gy)

        def grad(dFx, dFy):
            # The chain rule of the lines above, written out: autodiff of them keeps more
            # intermediates and is slower (`python -m bench.run --cases=trick_filterbank_gradient`).
            def back(dF, F, u, E, S, M):
                dF_F = tf.reduce_sum(dF * F, axis=2, keepdims=True)
                dE = (dF - tf.where(S >= eps, dF_F, tf.zeros_like(dF_F))) / M
                G = dE * E * u  # dL/dmu = sum_a G / sigma2
                return tf.reduce_sum(G, axis=2), tf.reduce_sum(G * u, axis=[1, 2])

            dmu_x, dsx = back(dFx, Fx, *x_parts)
            dmu_y, dsy = back(dFy, Fy, *y_parts)
            dmu_x, dmu_y = dmu_x / sigma2, dmu_y / sigma2
            dgx = tf.reduce_sum(dmu_x, axis=1, keepdims=True)
            dgy = tf.reduce_sum(dmu_y, axis=1, keepdims=True)
            ddelta = tf.reduce_sum((dmu_x + dmu_y) * offsets, axis=1, keepdims=True)
            dsigma2 = (dsx + dsy)[:, tf.newaxis] / (2.0 * tf.square(sigma2))
            return dgx, dgy, dsigma2, ddelta

        return (Fx, Fy), grad

    return bank(gx, gy, sigma2, delta)


class Window(NamedTuple):
    """One attention window: filterbanks, intensity and the geometry for plots."""

    Fx: tf.Tensor  # [batch, N, A]
    Fy: tf.Tensor  # [batch, N, B]
    gamma: tf.Tensor  # [batch, 1]
    gx: tf.Tensor  # [batch, 1], 1-based pixel coordinates
    gy: tf.Tensor  # [batch, 1]
    delta: tf.Tensor  # [batch, 1]


class AttentionWindow(keras.layers.Layer):
    """Dense(h_dec) -> (gx~, gy~, log sigma^2, log delta~, log gamma) -> Window."""

    def __init__(self, N, A, B, **kwargs):
        super().__init__(**kwargs)
        self.N, self.A, self.B = N, A, B
        self.params = keras.layers.Dense(5, name="params")

    def call(self, h_dec):
        """h_dec: `[batch, dec_size]` -> Window."""
        gx_, gy_, log_sigma2, log_delta_, log_gamma = tf.split(self.params(h_dec), 5, axis=-1)
        A, B, N = self.A, self.B, self.N
        gx = (A + 1) / 2 * (gx_ + 1)
        gy = (B + 1) / 2 * (gy_ + 1)
        sigma2 = tf.exp(log_sigma2)
        delta = (max(A, B) - 1) / (N - 1) * tf.exp(log_delta_)
        Fx, Fy = filterbank(gx, gy, sigma2, delta, N, A, B)
        return Window(Fx, Fy, tf.exp(log_gamma), gx, gy, delta)


def glimpse(images, window):
    """gamma * Fy . img . Fx^T for every channel.

    images: `[batch, C, B, A]` -> `[batch, C, N, N]`.
    """
    Fx = window.Fx[:, tf.newaxis]  # [batch, 1, N, A]
    Fy = window.Fy[:, tf.newaxis]  # [batch, 1, N, B]
    filtered = tf.matmul(Fy, tf.matmul(images, Fx, transpose_b=True))
    return filtered * window.gamma[:, :, tf.newaxis, tf.newaxis]


def patch(w, window):
    """(1/gamma) * Fy^T . w . Fx for every channel.

    w: `[batch, C, N, N]` -> `[batch, C, B, A]`.
    """
    Fx = window.Fx[:, tf.newaxis]  # [batch, 1, N, A]
    Fy = window.Fy[:, tf.newaxis]  # [batch, 1, N, B]
    written = tf.matmul(Fy, tf.matmul(w, Fx), transpose_a=True)
    return written / window.gamma[:, :, tf.newaxis, tf.newaxis]


class Read(keras.layers.Layer):
    """Read without attention: the whole of x and x_hat, `[batch, 2*C*B*A]`."""

    def call(self, x, x_hat, h_dec_prev):
        """x, x_hat: `[batch, C, B, A]` (x None: x_hat only); h_dec_prev unused -> (r, None)."""
        flat = tf.reshape(_read_images(x, x_hat), [tf.shape(x_hat)[0], -1])
        return flat, None


def _read_images(x, x_hat):
    """x and x_hat stacked on the channel axis, or x_hat alone when x is None
    (--read_input=error, Model III)."""
    return x_hat if x is None else tf.concat([x, x_hat], axis=1)


class AttentiveRead(keras.layers.Layer):
    """Read with attention: N x N glimpses of x and x_hat, `[batch, 2*C*N*N]`.

    The window comes from the previous decoder state h_dec_{t-1}.
    """

    def __init__(self, N, A, B, **kwargs):
        super().__init__(**kwargs)
        self.window = AttentionWindow(N, A, B, name="window")

    def call(self, x, x_hat, h_dec_prev):
        """x, x_hat: `[batch, C, B, A]`, h_dec_prev: `[batch, dec_size]` -> (r, Window)."""
        window = self.window(h_dec_prev)
        both = glimpse(_read_images(x, x_hat), window)  # [batch, 2C (C if x is None), N, N]
        return tf.reshape(both, [tf.shape(x_hat)[0], -1]), window


class Write(keras.layers.Layer):
    """Write without attention: Dense(h_dec) to the whole canvas, `[batch, C, B, A]`."""

    def __init__(self, A, B, C, **kwargs):
        super().__init__(**kwargs)
        self.canvas_shape = (C, B, A)
        self.dense = keras.layers.Dense(C * B * A, name="dense")

    def call(self, h_dec):
        """h_dec: `[batch, dec_size]` -> (canvas update `[batch, C, B, A]`, None)."""
        return tf.reshape(self.dense(h_dec), (-1,) + self.canvas_shape), None


class AttentiveWrite(keras.layers.Layer):
    """Write with attention: an N x N patch (per channel) placed by the window."""

    def __init__(self, N, A, B, C, **kwargs):
        super().__init__(**kwargs)
        self.patch_shape = (C, N, N)
        self.dense = keras.layers.Dense(C * N * N, name="dense")
        self.window = AttentionWindow(N, A, B, name="window")

    def call(self, h_dec):
        """h_dec: `[batch, dec_size]` -> (canvas update `[batch, C, B, A]`, Window)."""
        w = tf.reshape(self.dense(h_dec), (-1,) + self.patch_shape)
        window = self.window(h_dec)
        return patch(w, window), window
