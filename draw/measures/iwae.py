"""The IWAE estimate of -log p(x) (Burda et al. 2015), in nats.

For an image x and K samples z_k = (z_1k .. z_Tk) from DRAW's sequential posterior
q(z_t | x, z_<t), each with its own noise eps_tk ~ N(0, I):

    log w_k = log p(x | z_k) + sum_t log N(z_tk; 0, I) - sum_t log N(z_tk; mu_tk, sigma_tk^2)
    -log p(x) ~ -(logsumexp_k log w_k - log K)

log p(x | z) is the Bernoulli log-likelihood of x under sigmoid(c_T), i.e. -L_x. With K=1
this is the single-sample bound L_x + log q - log p, whose expectation is the ELBO
L_x + L_z; for K > 1 it is a tighter bound (never above the ELBO on average) that tends to
-log p(x) as K grows. The K samples of one image are drawn in chunks of at most
`batch_size` forward passes, so memory stays bounded for any K.
"""

from __future__ import annotations

import math
import time

import numpy as np
import tensorflow as tf
from scipy.special import logsumexp

from draw.losses import reconstruction_loss
from draw.measures.measure import PROGRESS_SECONDS, Measure, forward_pass
from draw.options import option
from draw.progress import Progress
from draw.registry import GENERATION

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_density(z, mu=None, log_sigma=None):
    """log N(z; mu, exp(log_sigma)^2) elementwise; N(0, 1) when mu and log_sigma are None."""
    if mu is None:
        return -0.5 * tf.square(z) - 0.5 * LOG_2PI
    return -0.5 * tf.square((z - mu) / tf.exp(log_sigma)) - log_sigma - 0.5 * LOG_2PI


def log_importance_weights(model, x, noise):
    """log w = log p(x|z) + log p(z) - log q(z|x) for one posterior sample per image.

    Args:
      model: a DRAW model.
      x: `[batch, B, A, C]` float32 in [0, 1].
      noise: `[T, batch, z_size]` the eps_t that make z_t = mu_t + sigma_t eps_t.

    Returns a dict of `[batch]` tensors: log_w and its terms log_px_z, log_pz, log_qz.
    """
    outputs = model(x, noise=noise)
    z, mu, log_sigma = outputs["z"], outputs["mu"], outputs["log_sigma"]
    log_px_z = -reconstruction_loss(x, outputs["canvas"][-1])
    log_pz = tf.reduce_sum(gaussian_log_density(z), axis=[0, 2])
    log_qz = tf.reduce_sum(gaussian_log_density(z, mu, log_sigma), axis=[0, 2])
    return {
        "log_w": log_px_z + log_pz - log_qz,
        "log_px_z": log_px_z,
        "log_pz": log_pz,
        "log_qz": log_qz,
    }


def iwae_nll(log_w: np.ndarray) -> np.ndarray:
    """-(logsumexp_k log w_k - log K) for log_w `[n, K]`; returns `[n]` float64."""
    log_w = np.asarray(log_w, np.float64)
    return -(logsumexp(log_w, axis=1) - math.log(log_w.shape[1]))


def importance_sampled_nll(
    model, images: np.ndarray, num_samples: int, seed: int, batch_size: int = 1000, log=print
) -> dict:
    """The IWAE estimate of -log p(x) of every image, with K = num_samples.

    Args:
      model: a DRAW model.
      images: `[n, B, A, C]` float32 in [0, 1] (e.g. the binarized test split).
      num_samples: K, importance samples per image.
      seed: the noise of forward pass p is stateless_normal(seed=(seed, p)).
      batch_size: at most this many (image, sample) pairs per forward pass.
      log: progress lines go here (None for silence).

    Returns a dict: nll (mean over images, nats), nll_std, nll_stderr (std / sqrt(n)),
    per_image `[n]` float64, num_images, num_samples, seconds.
    """
    config = model.config
    started = time.perf_counter()
    chunk = min(num_samples, batch_size)
    images_per_pass = max(1, batch_size // chunk)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, model.B, model.A, model.C], tf.float32),
            tf.TensorSpec([], tf.int32),
            tf.TensorSpec([2], tf.int64),
        ]
    )
    def log_weights(x, k, pass_seed):
        repeated = tf.repeat(x, k, axis=0)  # image-major: image i's samples are adjacent
        noise = tf.random.stateless_normal(
            [config.T, tf.shape(repeated)[0], config.z_size], seed=pass_seed
        )
        return tf.reshape(log_importance_weights(model, repeated, noise)["log_w"], [-1, k])

    n = len(images)
    per_image = np.empty(n, np.float64)
    # Counted in (image, sample) pairs, so that a line comes after any chunk of samples
    # once PROGRESS_SECONDS have passed, however long one image takes.
    progress = Progress(f"iwae K={num_samples}", n * num_samples, log, every=PROGRESS_SECONDS)
    pass_index = 0
    for start in range(0, n, images_per_pass):
        x = tf.constant(images[start : start + images_per_pass], tf.float32)
        blocks = []
        for k0 in range(0, num_samples, chunk):
            k = min(chunk, num_samples - k0)
            blocks.append(log_weights(x, tf.constant(k), tf.constant([seed, pass_index], tf.int64)))
            pass_index += 1
            if k0 + k < num_samples:
                progress.update(start * num_samples + len(x) * (k0 + k), " image-samples")
        per_image[start : start + len(x)] = iwae_nll(np.concatenate(blocks, axis=1))
        done = start + len(x)
        mean = per_image[:done].mean()
        progress.update(done * num_samples, f" image-samples  mean {mean:.2f} nats")
    return {
        "nll": float(per_image.mean()),
        "nll_std": float(per_image.std()),
        "nll_stderr": float(per_image.std() / math.sqrt(n)),
        "per_image": per_image,
        "num_images": n,
        "num_samples": num_samples,
        "seconds": time.perf_counter() - started,
    }


def _run(inputs, settings) -> dict:
    images, _ = inputs.test_split
    return importance_sampled_nll(
        inputs.model,
        images,
        settings["num_importance_samples"],
        inputs.seed,
        inputs.batch_size,
        inputs.log,
    )


IWAE = Measure(
    "iwae", task=GENERATION, run=_run, flag="iwae", memory=forward_pass,
    title="the importance-sampled estimate of -log p(x) (IWAE), tighter than the bound",
    help="Importance-sampled -log p(x) on the test set (--num_importance_samples).",
    settings={"num_importance_samples": option(5000, "K, importance samples per test image.",
                                               range=(1, 1_000_000))},
    columns=(("iwae_nll", "nll"), ("iwae_stderr", "nll_stderr"), ("iwae_K", "num_samples"),
             ("iwae_images", "num_images"), ("iwae_seconds", "seconds")),
    chart={"iwae_nll": "IWAE -log p(x)"},
)  # fmt: skip
