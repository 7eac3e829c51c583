"""The DRAW model against the NumPy recurrence; shapes, noise, generation, losses."""

import numpy as np
import pytest
import tensorflow as tf

from draw.losses import kl_loss, reconstruction_loss
from draw.models import build_model
from tests import numpy_draw
from tests.helpers import perturbed_model, tiny_config, trainable_weights


@pytest.mark.parametrize(
    "read_attn,write_attn,shape",
    [
        (True, True, (12, 12, 1)),
        (False, False, (10, 8, 1)),
        (True, False, (8, 10, 3)),
        (False, True, (9, 9, 3)),
    ],
)
def test_forward_pass_matches_numpy_recurrence(read_attn, write_attn, shape):
    config = tiny_config(read_attn=read_attn, write_attn=write_attn, T=4)
    rng = np.random.default_rng(0)
    model = perturbed_model(config, shape, seed=rng)  # x and noise are drawn from rng next
    x = (rng.uniform(size=(3,) + shape) < 0.4).astype(np.float32)
    noise = rng.normal(size=(config.T, 3, config.z_size)).astype(np.float32)
    out = model(tf.constant(x), noise=tf.constant(noise))
    canvas, mu, log_sigma = numpy_draw.draw_forward(trainable_weights(model), config, x, noise)
    np.testing.assert_allclose(out["canvas"].numpy(), canvas, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(out["mu"].numpy(), mu, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(out["log_sigma"].numpy(), log_sigma, rtol=1e-3, atol=1e-4)
    losses = model.compute_losses(tf.constant(x), out)
    np.testing.assert_allclose(
        losses["L_x"].numpy(), numpy_draw.bernoulli_nll(x, canvas[-1]), rtol=1e-4
    )
    np.testing.assert_allclose(
        losses["L_z"].numpy(), numpy_draw.gaussian_kl(mu, log_sigma), rtol=1e-4
    )


@pytest.mark.parametrize("B,A,C,N,T", [(28, 28, 1, 5, 2), (32, 32, 3, 12, 3), (10, 14, 1, 2, 1)])
def test_output_shapes(B, A, C, N, T):
    config = tiny_config(T=T, read_n=N, write_n=N)
    model = build_model(config, (B, A, C))
    out = model(tf.zeros([2, B, A, C]))
    assert out["canvas"].shape == (T, 2, B, A, C)
    for key in ("mu", "log_sigma", "z"):
        assert out[key].shape == (T, 2, config.z_size)
    assert out["read_window"].shape == (T, 2, 3) and out["write_window"].shape == (T, 2, 3)


def test_without_attention_the_encoder_reads_the_whole_image_and_write_covers_the_canvas():
    config = tiny_config(read_attn=False, write_attn=False)
    model = build_model(config, (12, 10, 1))
    assert model.encoder.kernel.shape[0] == 2 * 12 * 10 + config.dec_size
    assert model.writer.dense.kernel.shape == (config.dec_size, 12 * 10)
    assert "read_window" not in model(tf.zeros([1, 12, 10, 1]))


def test_noise_is_fresh_at_every_step():
    config = tiny_config(T=5, z_size=8)
    model = build_model(config, (12, 12, 1))
    out = model(tf.zeros([64, 12, 12, 1]))
    eps = ((out["z"] - out["mu"]) / tf.exp(out["log_sigma"])).numpy()  # [T, batch, z]
    for t in range(1, config.T):
        assert not np.allclose(eps[t], eps[0])
        # Independent draws: correlation between steps near 0, not 1.
        assert abs(np.corrcoef(eps[0].ravel(), eps[t].ravel())[0, 1]) < 0.15
    assert abs(eps.mean()) < 0.1 and abs(eps.std() - 1) < 0.1


def test_generation_from_the_prior_needs_no_image_and_returns_every_canvas():
    config = tiny_config(T=4)
    model = build_model(config, (12, 12, 1))
    out = model.generate(7)
    assert out["canvas"].shape == (4, 7, 12, 12, 1)
    assert out["z"].shape == (4, 7, config.z_size)
    # Decoding given latents reproduces the canvases exactly.
    again = model.generate(z=out["z"])
    np.testing.assert_allclose(again["canvas"].numpy(), out["canvas"].numpy(), atol=1e-6)
    # The canvas sequence is cumulative: every step changes it.
    steps = out["canvas"].numpy()
    assert all(not np.allclose(steps[t], steps[t - 1]) for t in range(1, 4))


def test_generation_equals_the_decoder_half_of_the_forward_pass():
    config = tiny_config(T=3)
    model = build_model(config, (12, 12, 1))
    out = model(tf.random.uniform([4, 12, 12, 1]))
    np.testing.assert_allclose(
        model.generate(z=out["z"])["canvas"].numpy(), out["canvas"].numpy(), atol=1e-5
    )


def test_reconstruction_loss_matches_numpy_bernoulli_nll():
    rng = np.random.default_rng(3)
    x = (rng.uniform(size=(5, 6, 7, 1)) < 0.5).astype(np.float32)
    x[0] = rng.uniform(size=(6, 7, 1))  # grey levels are allowed targets too
    logits = rng.normal(scale=3, size=x.shape).astype(np.float32)
    got = reconstruction_loss(tf.constant(x), tf.constant(logits)).numpy()
    np.testing.assert_allclose(got, numpy_draw.bernoulli_nll(x, logits), rtol=1e-5)


def test_kl_matches_numpy_and_is_zero_when_posterior_equals_prior():
    rng = np.random.default_rng(4)
    mu = rng.normal(size=(3, 5, 4)).astype(np.float32)
    log_sigma = rng.normal(scale=0.5, size=(3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        kl_loss(mu, log_sigma).numpy(), numpy_draw.gaussian_kl(mu, log_sigma), rtol=1e-5
    )
    zeros = tf.zeros([10, 5, 100])
    np.testing.assert_array_equal(kl_loss(zeros, zeros).numpy(), np.zeros(5))


def test_while_loop_recurrence_equals_the_unrolled_one(monkeypatch):
    # Long T runs the steps in a tf.while_loop; same outputs, gradients and samples.
    import draw.model

    config = tiny_config(T=3, enc_size=16, dec_size=16)
    model = build_model(config, (12, 12, 1))
    rng = np.random.default_rng(2)
    x = tf.constant((rng.uniform(size=(3, 12, 12, 1)) < 0.4).astype(np.float32))
    noise = tf.constant(rng.normal(size=(3, 3, config.z_size)).astype(np.float32))

    def run():
        with tf.GradientTape() as tape:
            out = model(x, noise=noise)
            loss = tf.reduce_mean(model.compute_losses(x, out)["loss"])
        grads = tape.gradient(loss, model.trainable_variables)
        return out, grads, model.generate(z=out["z"])["canvas"]

    unrolled = run()
    monkeypatch.setattr(draw.model, "UNROLL_MAX_T", 0)
    looped = tf.function(run)()
    for key in unrolled[0]:
        np.testing.assert_allclose(looped[0][key].numpy(), unrolled[0][key].numpy(), atol=1e-5)
    for a, b in zip(looped[1], unrolled[1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(looped[2].numpy(), unrolled[2].numpy(), atol=1e-5)


def test_a_nan_gradient_with_a_finite_loss_is_not_applied():
    """The step's verdict looks at the gradients, not only the loss: a term whose value is
    0 but whose gradient is NaN (sqrt(w - w): inf - inf) leaves everything as it was."""
    from draw.train_step import TrainStep
    from draw.training import make_optimizer

    config = tiny_config()
    model = build_model(config, (12, 12, 1))
    base_losses = model.compute_losses

    def losses_with_nan_gradient(x, outputs, labels=None):
        losses = base_losses(x, outputs, labels)
        w = model.mu_layer.kernel[0, 0]
        losses["loss"] = losses["loss"] + tf.sqrt(w - w)
        return losses

    model.compute_losses = losses_with_nan_gradient
    optimizer = make_optimizer(config)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    before = trainable_weights(model)
    x = tf.constant((np.random.default_rng(0).uniform(size=(4, 12, 12, 1)) < 0.4), tf.float32)
    result = TrainStep(model)((x, tf.zeros([4], tf.int32)))
    assert np.isfinite(float(model.compute_losses(x, model(x))["loss"][0]))
    assert not bool(result["finite"]) and not np.isfinite(float(result["grad_norm"]))
    assert int(optimizer.iterations) == 0
    for name, value in trainable_weights(model).items():
        np.testing.assert_array_equal(value, before[name])
