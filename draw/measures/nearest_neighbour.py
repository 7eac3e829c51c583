"""The report's nearest-neighbour NLL of generated images (sections 5.1 and 6), in nats.

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

import numpy as np
import tensorflow as tf
from scipy.special import expit

from draw import figures, sampling
from draw.data import pipeline
from draw.distribute import FLOAT
from draw.losses import reconstruction_loss
from draw.measures.measure import PROGRESS_SECONDS, Measure, forward_pass
from draw.options import option
from draw.progress import Progress
from draw.registry import GENERATION


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


def nn_reference_images(data, binarize: str, reference: str = "auto"):
    """The training images the NN-NLL searches, float32 `[m, B, A, C]`, and their name.

    auto: as the run trained (binarized once with the static seed, grey for
    --binarize=none); binarized; grey (grey level / 255).
    """
    if reference == "auto":
        reference = "grey" if binarize == "none" else "binarized"
    images = data.train_images
    if reference == "binarized":
        images = pipeline.binarize_once(images, pipeline.STATIC_SEED)
        name = f"training images binarized once (seed {pipeline.STATIC_SEED})"
    else:
        name = "training images, grey levels / 255"
    return images.astype(np.float32) / 255.0, name


def _run(inputs, settings) -> dict:
    train_images, reference = nn_reference_images(
        inputs.data, inputs.config.binarize, settings["nn_reference"]
    )
    count = settings["num_samples"]
    inputs.log(f"nn-nll: {count} samples against {len(train_images)} {reference}")
    result = nearest_neighbour_nll(
        inputs.model, train_images, count, inputs.seed, inputs.batch_size, inputs.log
    )
    return {**result, "reference": reference}


def _memory(inputs, settings) -> list:
    """A forward pass, then the samples' canvases and the training images searched."""
    pixels = int(np.prod(inputs.data.image_shape))
    count = settings["num_samples"]
    # float32 logits and targets, float64 means, a float32 copy: 20 bytes a pixel; the
    # references as float32; the distances of 250 samples at once.
    search = len(inputs.data.train_images) * (pixels + 250)
    arrays = 20 * count * pixels + FLOAT * search
    return forward_pass(inputs, settings) + [(arrays, f"--nn-nll with --num_samples={count}")]


def _histogram(result, label):
    return figures.nn_nll_histogram(
        result["per_sample"], f"{label}\nreferences: {result['reference']}"
    )


NN_NLL = Measure(
    "nn_nll", task=GENERATION, run=_run, flag="nn-nll", memory=_memory, figure=_histogram,
    title="the report's NLL of generated images: the Bernoulli NLL of each sample's nearest "
    "training image under the sample's pixel probabilities; NOT a likelihood of the model",
    help="The report's nearest-neighbour NLL of --num_samples generated images: the "
    "Bernoulli NLL of each sample's nearest training image under the sample's pixel "
    "probabilities (mean, std, max). It measures closeness of samples to training "
    "images; it is NOT a likelihood of the model.",
    settings={
        "num_samples": option(1000, "Generated images for --nn-nll.", range=(1, 1_000_000)),
        "nn_reference": option(
            "auto",
            "Training images --nn-nll searches: binarized once with a fixed seed, grey levels, "
            "or auto (binarized unless the run trained on grey levels).",
            choices=("auto", "binarized", "grey"),
        ),
    },
    columns=(("nn_nll_mean", "mean"), ("nn_nll_std", "std"), ("nn_nll_max", "max"),
             ("nn_nll_samples", "num_samples"), ("nn_nll_seconds", "seconds")),
    chart={"nn_nll_mean": "NN-NLL of samples (mean)"},
)  # fmt: skip
