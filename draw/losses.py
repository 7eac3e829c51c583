"""DRAW's losses per image (docs/design.md), in nats.

    L_x = sum over pixels of BinaryCrossEntropy(x, sigmoid(c_T))
    L_z = sum_t 0.5 * sum_j (mu_tj^2 + sigma_tj^2 - 2 log sigma_tj - 1)

L_x + L_z is the variational bound on -log p(x).
"""

import tensorflow as tf


def reconstruction_loss(x, logits):
    """Bernoulli negative log-likelihood of x under sigmoid(logits), summed over pixels.

    x: `[batch, ...]` targets in [0, 1]; logits: the final canvas c_T, same shape.
    Returns `[batch]`. Computed from the logits, which is exact where
    log(sigmoid(c)) would underflow.
    """
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
    return tf.reduce_sum(tf.reshape(bce, [tf.shape(bce)[0], -1]), axis=1)


def kl_loss(mu, log_sigma):
    """KL(q(z|x) || N(0, I)) summed over steps and latent units.

    mu, log_sigma: `[T, batch, z_size]`. Returns `[batch]`.
    """
    kl = 0.5 * (tf.square(mu) + tf.exp(2.0 * log_sigma) - 2.0 * log_sigma - 1.0)
    return tf.reduce_sum(kl, axis=[0, 2])
