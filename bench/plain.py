"""The yardstick: a straightforward `tf.function` port of DRAW's training step.

This is the recurrence as the foundation wrote it (docs/design.md, in its order):
each layer applied by its own Keras call, one matmul per layer and input, a Python loop
unrolled over T, a plain Adam step. It uses a DRAW model's layers and weights, so it
computes exactly the model's maths; bench.run times it beside the training step
(draw.train_step.TrainStep). Since the model calls its layers the same way, the
difference is what the training step adds: the gradient norm and the NaN/Inf verdict on it and the
loss, the metrics and the T loop's form.
"""

from __future__ import annotations

import tensorflow as tf

from draw.losses import kl_loss, reconstruction_loss


def plain_forward(model, x, noise):
    """The T steps with the model's layers: x `[batch, B, A, C]`, noise `[T, batch, z]`.

    Returns (canvas c_T `[batch, B, A, C]` logits, mu, log_sigma `[T, batch, z]`).
    """
    config = model.config
    batch = tf.shape(x)[0]
    x = tf.transpose(x, [0, 3, 1, 2])
    c = tf.zeros_like(x)
    enc_state = [tf.zeros([batch, config.enc_size])] * 2
    dec_state = [tf.zeros([batch, config.dec_size])] * 2
    h_dec = dec_state[0]
    mus, log_sigmas = [], []
    for t in range(config.T):
        x_hat = x - tf.sigmoid(c)
        r, _ = model.reader(x, x_hat, h_dec)
        h_enc, enc_state = model.encoder(tf.concat([r, h_dec], axis=-1), enc_state)
        mu, log_sigma = model.mu_layer(h_enc), model.log_sigma_layer(h_enc)
        z = mu + tf.exp(log_sigma) * noise[t]
        h_dec, dec_state = model.decoder(z, dec_state)
        c = c + model.writer(h_dec)[0]
        mus.append(mu)
        log_sigmas.append(log_sigma)
    return tf.transpose(c, [0, 2, 3, 1]), tf.stack(mus), tf.stack(log_sigmas)


def plain_losses(model, x, noise):
    """Per-image L_x + L_z `[batch]` of the plain port."""
    canvas, mu, log_sigma = plain_forward(model, x, noise)
    return reconstruction_loss(x, canvas) + kl_loss(mu, log_sigma)


def make_plain_train_step(model, optimizer, jit_compile=False):
    """A compiled Adam step on x `[batch, B, A, C]` with the plain port; returns the loss."""

    def step(x):
        noise = model.sample_noise(tf.shape(x)[0])
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(plain_losses(model, x, noise))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return tf.function(step, jit_compile=jit_compile)
