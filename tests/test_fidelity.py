"""The fidelity benchmark: its independent trainer (experiments/reference_draw.py) computes
the NumPy DRAW's losses on the same weights and lowers them when it trains; the harness
(experiments/fidelity.py) refuses flags that would make the two trainings differ."""

from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from data import mnist, pipeline
from experiments import reference_draw as ref
from tests import numpy_draw
from tests.test_cli import assert_one_line_error, run_script

SIZES = dict(T=3, lstm_size=8, z_size=4, read_n=3, write_n=4)


def binarized_test_images(count):
    """The project's fixed binarization of the first `count` test images: [count, 784]."""
    return pipeline.test_images(mnist.load(), "dynamic", count).reshape(count, -1)


def keras_lstm(params, inputs):
    """Jang's LSTM weights (one kernel over [x, h], gates i, j, f, o, +1 on f) as Keras'
    (kernel, recurrent kernel, bias; gates i, f, c, o) for tests/numpy_draw.py."""
    kernel, bias = (p.numpy() for p in params)
    units = len(bias) // 4
    order = np.concatenate([np.arange(g * units, (g + 1) * units) for g in (0, 2, 1, 3)])
    gate_bias = bias[order] + np.repeat([0.0, 1.0, 0.0, 0.0], units)
    return {
        "kernel": kernel[:inputs, order],
        "recurrent_kernel": kernel[inputs:, order],
        "bias": gate_bias,
    }


def numpy_weights(model):
    """The reference model's variables under the paths tests/numpy_draw.py reads."""
    units, read_n = model.units, model.read_n
    weights = {}
    for path, params in [
        ("read/window/params", model.read_window),
        ("write/window/params", model.write_window),
        ("mu", model.mu),
        ("log_sigma", model.log_sigma),
        ("write/dense", model.write),
    ]:
        weights[f"m/{path}/kernel"], weights[f"m/{path}/bias"] = (p.numpy() for p in params)
    for name, params, inputs in [
        ("encoder", model.enc, 2 * read_n**2 + units),
        ("decoder", model.dec, model.z_size),
    ]:
        for key, value in keras_lstm(params, inputs).items():
            weights[f"m/{name}/{key}"] = value
    return weights


def test_losses_equal_the_numpy_draw_on_the_same_weights():
    rng = np.random.default_rng(3)
    model = ref.Draw(rng, **SIZES)
    for variable in model.trainable_variables:  # move every weight off its initial value
        variable.assign_add(rng.normal(0, 0.3, variable.shape).astype(np.float32))
    x = binarized_test_images(5)
    noise = rng.normal(size=(SIZES["T"], 5, SIZES["z_size"])).astype(np.float32)
    L_x, L_z = model.losses(tf.constant(x), tf.constant(noise))

    config = SimpleNamespace(
        **SIZES, enc_size=8, dec_size=8, read_attn=True, write_attn=True,
        read_input="both", privy=True, model="draw",
    )  # fmt: skip
    canvases, mu, log_sigma = numpy_draw.draw_forward(
        numpy_weights(model), config, x.reshape(5, 28, 28, 1), noise
    )
    want_x = numpy_draw.bernoulli_nll(x.reshape(5, 28, 28, 1), canvases[-1])
    np.testing.assert_allclose(L_x.numpy(), want_x, rtol=1e-4)
    np.testing.assert_allclose(L_z.numpy(), numpy_draw.gaussian_kl(mu, log_sigma), rtol=1e-4)
    assert np.all(L_z.numpy() > 1.0)  # the latents carry information: the check is not vacuous


def test_a_few_iterations_lower_the_loss_and_give_a_finite_bound():
    model = ref.Draw(np.random.default_rng(0), **{**SIZES, "lstm_size": 32, "write_n": 5})
    losses = ref.train(model, ref.load_images("train")[:2000], 80, 20, seed=0)
    assert np.mean(losses[:10]) > 500 and np.mean(losses[-10:]) < 400  # measured: 543 -> 248
    bound, L_x, L_z = ref.test_bound(model, binarized_test_images(200), seed=0, batch_size=100)
    assert np.isfinite(bound) and 0 < L_z < bound and abs(L_x + L_z - bound) < 1e-6


def test_fidelity_refuses_bad_flags_with_one_line():
    for args, fragment in [
        (["--project_flags=--seed=3"], "--seed=3"),
        (["--project_flags=--binarize=none"], "--binarize=none"),
        (["--seeds=a"], "--seeds"),
        (["--train_iters=0"], "--train_iters"),
        (["--no_such_flag"], "no_such_flag"),
    ]:
        result = run_script("-m experiments.fidelity", *args)
        assert result.returncode == 2
        assert_one_line_error(result, fragment)
