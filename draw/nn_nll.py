"""The report's "negative log-likelihood of generated images" (sections 5.1 and 6).

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

import time
import zlib

import numpy as np
import tensorflow as tf
from scipy.special import expit

from draw import sampling
from draw.losses import reconstruction_loss
from draw.progress import Progress


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


def generate_logits(model, num_samples: int, seed: int, batch_size: int = 1000) -> np.ndarray:
    """Final canvases c_T `[n, B, A, C]` (logits) of num_samples prior samples.

    The latents are those of `generate.py --stochastic --seed=seed` (the "stochastic"
    stream of draw.sampling), so these are the samples that command draws.
    """
    config = model.config
    stream = sampling.make_generator(seed, zlib.crc32(b"stochastic"))
    z = sampling.prior_latents(stream, config.T, num_samples, config.z_size)

    @tf.function(input_signature=[tf.TensorSpec([config.T, None, config.z_size], tf.float32)])
    def final_canvas(z):
        return model.generate(z=z)["canvas"][-1]

    return np.concatenate(
        [final_canvas(z[:, s : s + batch_size]).numpy() for s in range(0, num_samples, batch_size)]
    )


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
    logits = generate_logits(model, num_samples, seed, batch_size)
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
