"""Eric Jang's optimizer and LSTM initialisation, against NumPy and TensorFlow 1's rules."""

import json

import numpy as np
import pytest
import tensorflow as tf

from draw.config import DrawConfig
from draw.configure import make_config
from draw.errors import DrawError
from draw.model import DRAW
from draw.training import make_optimizer
from tests.helpers import tiny_config


def _numpy_adam(w, grads, lr, beta_1, beta_2, eps):
    """TensorFlow 1's AdamOptimizer (Kingma & Ba, with the bias correction folded into
    the step size, as TF1 and Keras compute it) on a list of gradients."""
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        step = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w = w - step * m / (np.sqrt(v) + eps)
    return w


def test_adam_defaults_are_jang_s():
    config = make_config()
    assert (config.learning_rate, config.beta_1, config.adam_epsilon) == (1e-3, 0.5, 1e-8)
    optimizer = make_optimizer(config)
    assert optimizer.epsilon == 1e-8 and optimizer.beta_2 == 0.999
    assert optimizer.clipnorm == 5.0


def test_adam_step_equals_numpy_adam_at_epsilon_1e_8():
    # Tiny gradients make epsilon matter: with |g| ~ 1e-8, 1e-7 and 1e-8 give steps
    # that differ by a factor of several, so the comparison tells the two apart.
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(6,)).astype(np.float64)
    grads = [rng.normal(size=(6,)) * 1e-8 for _ in range(3)]
    config = make_config()
    optimizer = make_optimizer(config)
    w = tf.Variable(w0.astype(np.float32))
    for g in grads:
        optimizer.apply_gradients([(tf.constant(g, tf.float32), w)])
    expected = _numpy_adam(w0, grads, 1e-3, 0.5, 0.999, 1e-8)
    wrong_eps = _numpy_adam(w0, grads, 1e-3, 0.5, 0.999, 1e-7)
    np.testing.assert_allclose(w.numpy(), expected, rtol=0, atol=2e-6)
    assert np.abs(expected - wrong_eps).max() > 1e-5  # 5x the tolerance: a wrong epsilon shows


def _built(**overrides):
    model = DRAW(tiny_config(**overrides), (12, 12, 1))
    tf.keras.utils.set_random_seed(0)
    model.build_variables()
    return model


def _encoder_input_width(config):
    read = 2 * config.read_n**2  # x and x_hat, one channel
    return read + config.dec_size  # + h_dec_{t-1} (privy)


def test_jang_init_is_one_glorot_uniform_draw_over_the_concatenated_kernel():
    model = _built(lstm_init="jang")
    config = model.config
    for cell, width in (
        (model.encoder, _encoder_input_width(config)),
        (model.decoder, config.z_size),
    ):
        units = cell.units
        limit = np.sqrt(6.0 / (width + units + 4 * units))  # Glorot on [width+units, 4 units]
        kernel = np.concatenate([cell.kernel.numpy(), cell.recurrent_kernel.numpy()])
        assert kernel.shape == (width + units, 4 * units)
        assert np.abs(kernel).max() <= limit
        # Uniform on [-limit, limit]: the largest values reach near the limit, the standard
        # deviation is limit / sqrt(3); an orthogonal recurrent part would be far off.
        assert np.abs(kernel).max() > 0.95 * limit
        np.testing.assert_allclose(kernel.std(), limit / np.sqrt(3), rtol=0.05)
        np.testing.assert_allclose(
            cell.recurrent_kernel.numpy().std(), limit / np.sqrt(3), rtol=0.1
        )
        # Forget gate (Keras order i, f, c, o) at 1, the others at 0: TF1's bias of 0
        # plus its forget_bias=1.0.
        bias = cell.bias.numpy().reshape(4, units)
        np.testing.assert_array_equal(
            bias, np.stack([0 * bias[0], 1 + 0 * bias[0]] + [0 * bias[0]] * 2)
        )


def test_keras_init_keeps_keras_orthogonal_recurrent_kernel():
    model = _built(lstm_init="keras")
    r = model.decoder.recurrent_kernel.numpy()  # [units, 4 units], orthonormal rows
    np.testing.assert_allclose(r @ r.T, np.eye(r.shape[0]), atol=1e-5)
    jang = _built(lstm_init="jang").decoder.recurrent_kernel.numpy()
    assert np.abs(jang @ jang.T - np.eye(jang.shape[0])).max() > 0.1


def test_tf1_forget_bias_equals_keras_unit_forget_bias():
    """One step of TF1's LSTMCell (gates i, j, f, o; bias 0 plus forget_bias 1.0 added to
    f) in NumPy equals Keras' cell with the same kernel and its bias started at 1."""
    model = _built(lstm_init="jang")
    cell = model.decoder
    units = cell.units
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, model.config.z_size)).astype(np.float32)
    h = rng.normal(size=(2, units)).astype(np.float32)
    c = rng.normal(size=(2, units)).astype(np.float32)
    kernel = np.concatenate([cell.kernel.numpy(), cell.recurrent_kernel.numpy()])
    i, f, g, o = np.split(kernel, 4, axis=1)  # Keras' gate order
    tf1_kernel = np.concatenate([i, g, f, o], axis=1)  # TF1's order i, j, f, o
    pre = np.concatenate([z, h], axis=1) @ tf1_kernel  # TF1's bias variable starts at 0
    ti, tj, tf_, to = np.split(pre, 4, axis=1)

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    new_c = c * sigmoid(tf_ + 1.0) + sigmoid(ti) * np.tanh(tj)
    new_h = np.tanh(new_c) * sigmoid(to)
    keras_h, (_, keras_c) = cell(tf.constant(z), [tf.constant(h), tf.constant(c)])
    np.testing.assert_allclose(keras_h.numpy(), new_h, atol=1e-5)
    np.testing.assert_allclose(keras_c.numpy(), new_c, atol=1e-5)


def test_runs_stored_before_the_settings_keep_what_they_were_trained_with():
    stored = json.loads(make_config().to_json())
    del stored["adam_epsilon"], stored["lstm_init"]
    legacy = DrawConfig.from_dict(stored)
    assert (legacy.adam_epsilon, legacy.lstm_init) == (1e-7, "keras")


@pytest.mark.parametrize("value", [0.0, -1e-8, float("nan"), float("inf")])
def test_bad_adam_epsilon_is_refused(value):
    with pytest.raises(DrawError, match="adam_epsilon"):
        make_config(adam_epsilon=value)
