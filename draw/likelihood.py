"""The measures of a trained DRAW, in nats: the test-set bound, the IWAE estimate of
-log p(x), and the report's nearest-neighbour NLL of generated images.

Bound: -log p(x) <= L_x + L_z, one posterior sample per image (`evaluate_bound`).

IWAE (Burda et al. 2015): for an image x and K samples z_k = (z_1k .. z_Tk) from DRAW's
sequential posterior q(z_t | x, z_<t), each with its own noise eps_tk ~ N(0, I):

    log w_k = log p(x | z_k) + sum_t log N(z_tk; 0, I) - sum_t log N(z_tk; mu_tk, sigma_tk^2)
    -log p(x) ~ -(logsumexp_k log w_k - log K)

log p(x | z) is the Bernoulli log-likelihood of x under sigmoid(c_T), i.e. -L_x. With K=1
this is the single-sample bound L_x + log q - log p, whose expectation is the ELBO
L_x + L_z; for K > 1 it is a tighter bound (never above the ELBO on average) that tends to
-log p(x) as K grows. The K samples of one image are drawn in chunks of at most
`batch_size` forward passes, so memory stays bounded for any K.

NN-NLL (the report's "negative log-likelihood of generated images", sections 5.1 and 6):
NOT a likelihood of the model. Generate images stochastically from the prior; for each,
take its Bernoulli means p = sigmoid(c_T), find the training image y nearest to p in
Euclidean distance, and score the sample by the Bernoulli negative log-likelihood of y
under p, summed over pixels:

    NN-NLL(p) = -sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)],  y = argmin_y' ||p - y'||_2

It measures how closely a sample resembles some training image (low = a sharp sample
close to a training digit), not how probable the test data are under the model; the
report's tables 6.1 and 6.2 give its mean, standard deviation and maximum over 1000
samples. The search uses ||p - y||^2 = ||p||^2 - 2 p.y + ||y||^2 with one matrix product
per block of samples.
"""

from __future__ import annotations

import math
import time

import numpy as np
import tensorflow as tf
from scipy.special import expit, logsumexp

from draw import sampling
from draw.losses import reconstruction_loss
from draw.progress import Progress

LOG_2PI = math.log(2.0 * math.pi)
PROGRESS_SECONDS = 30.0  # at most this long between progress lines of long work


def evaluate_bound(model, batches, test_fn=None) -> dict:
    """Mean L_x, L_z and loss (and a variant's metrics) over every image of `batches`
    ((x, labels) pairs).

    test_fn: a compiled `model.test_step` (compiled here when None).
    """
    test_fn = test_fn or tf.function(model.test_step)
    for metric in model.metrics:
        metric.reset_state()
    for batch in batches:
        test_fn(batch)
    results = {m.name: float(m.result()) for m in model.metrics}
    for metric in model.metrics:
        metric.reset_state()
    return results


def seeded_elbo(model, images, batch_size: int, seed: int, labels=None) -> dict:
    """The bound L_x + L_z (and its terms), mean nats per image over images `[n, B, A, C]`,
    with the model's noise stream restarted at seed (one posterior sample per image).

    labels `[n]`: the images' classes, for a variant's own metrics (Model II's L_c and
    accuracy; reported only when given; "loss" is always the bound L_x + L_z).
    """
    started = time.perf_counter()
    model.noise_seed.state.assign(tf.constant([seed, 0], model.noise_seed.state.dtype))
    given = labels is not None
    labels = np.asarray(labels, np.int32) if given else np.zeros(len(images), np.int32)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    results = evaluate_bound(model, batches)
    results["loss"] = results["L_x"] + results["L_z"]
    if not given:
        for name in model.variant_metrics:
            results.pop(name)
    results.update(num_images=len(images), seconds=time.perf_counter() - started)
    return results


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


def nearest_neighbours(queries, references, batch_size: int = 250, log=None):
    """Index and squared Euclidean distance of each query's nearest reference.

    Args:
      queries: `[n, D]` float32.
      references: `[m, D]` float32 (e.g. 60,000 flattened training images).
      batch_size: queries per matrix product (the product is `[batch_size, m]`).

    Returns (indices `[n]` int64, squared distances `[n]` float32). Ties go to the
    lowest index.
    """
    references = tf.constant(references, tf.float32)
    ref_norms = tf.reduce_sum(tf.square(references), axis=1)

    @tf.function(input_signature=[tf.TensorSpec([None, references.shape[1]], tf.float32)])
    def search(q):
        d = (
            tf.reduce_sum(tf.square(q), axis=1, keepdims=True)
            - 2.0 * tf.matmul(q, references, transpose_b=True)
            + ref_norms[tf.newaxis, :]
        )
        index = tf.argmin(d, axis=1)
        return index, tf.maximum(tf.gather(d, index, axis=1, batch_dims=1), 0.0)

    queries = np.asarray(queries, np.float32)
    indices, distances = [], []
    progress = Progress("nearest-neighbour search", len(queries), log)
    for start in range(0, len(queries), batch_size):
        index, distance = search(tf.constant(queries[start : start + batch_size]))
        indices.append(index.numpy())
        distances.append(distance.numpy())
        progress.update(start + len(index), " samples")
    return np.concatenate(indices), np.concatenate(distances)


def generate_logits(
    model, num_samples: int, seed: int, batch_size: int = 1000, log=None
) -> np.ndarray:
    """Final canvases c_T `[n, B, A, C]` (logits) of num_samples prior samples.

    The latents are those of `generate.py --stochastic --seed=seed` (its "stochastic"
    stream, drawn in the same chunks), so these are the samples that command draws.
    """
    config = model.config
    stream = sampling.named_stream(seed, "stochastic")
    sampler = sampling.Sampler(model, batch_size)
    progress = Progress("generating", num_samples, log, every=PROGRESS_SECONDS)
    logits = []
    for start, z in sampling.prior_latent_chunks(stream, config.T, num_samples, config.z_size):
        logits.append(sampler.final_logits(z))
        progress.update(start + len(logits[-1]), " samples")
    return np.concatenate(logits)


def nearest_neighbour_nll(
    model, train_images, num_samples: int = 1000, seed: int = 0, batch_size: int = 1000, log=None
) -> dict:
    """The report's NN-NLL of num_samples generated images (see the module docstring).

    Args:
      model: a DRAW model.
      train_images: `[m, B, A, C]` float in [0, 1], the images to search.
      num_samples: images to generate.
      seed: seeds the generation (see generate_logits).
      batch_size: images generated per forward pass.

    Returns a dict: mean, std (population, ddof=0), max, min, median of the per-sample
    NLL in nats; per_sample `[n]`, neighbour `[n]` (indices into train_images),
    distance `[n]` (Euclidean); num_samples, seconds (generation and search),
    search_seconds (the search alone).
    """
    started = time.perf_counter()
    logits = generate_logits(model, num_samples, seed, batch_size, log)
    means = expit(logits.astype(np.float64))
    flat_train = np.asarray(train_images, np.float32).reshape(len(train_images), -1)
    search_started = time.perf_counter()
    neighbour, sq_distance = nearest_neighbours(
        means.reshape(num_samples, -1).astype(np.float32), flat_train, log=log
    )
    search_seconds = time.perf_counter() - search_started
    targets = tf.constant(flat_train[neighbour].reshape(logits.shape), tf.float32)
    per_sample = reconstruction_loss(targets, tf.constant(logits)).numpy().astype(np.float64)
    return {
        "mean": float(per_sample.mean()),
        "std": float(per_sample.std()),
        "max": float(per_sample.max()),
        "min": float(per_sample.min()),
        "median": float(np.median(per_sample)),
        "per_sample": per_sample,
        "neighbour": neighbour,
        "distance": np.sqrt(sq_distance),
        "num_samples": num_samples,
        "seconds": time.perf_counter() - started,
        "search_seconds": search_seconds,
    }
