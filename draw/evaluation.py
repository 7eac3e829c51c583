"""The measures of a trained DRAW and what evaluate.py does with them: the measures, its
options, one run's record, comparisons across runs, and the result files.

evaluate.py is a thin shell around `evaluate_and_write` (one run) and `compare_runs` (a
table across runs). Each evaluation writes FOLDER/NNNN-YYYYmmddTHHMMSS.json and .csv
(NNNN one more than the highest number in FOLDER; the name is claimed with a hard link,
which fails instead of replacing an existing file, so two evaluations running at once
cannot overwrite each other) and then replaces FOLDER/latest.json and latest.csv
atomically with copies.

The measures, in nats: the test-set bound, the IWAE estimate of -log p(x), and the
report's nearest-neighbour NLL of generated images.

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

import contextlib
import csv
import dataclasses
import datetime
import io
import json
import math
import os
import re
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from scipy.special import expit, logsumexp

from draw import distribute, figures, generation
from draw.classification import classification_results, confusion_table
from draw.config import PRESETS, DrawConfig, fields_with_role
from draw.data import load_dataset, pipeline
from draw.errors import DrawError
from draw.losses import reconstruction_loss
from draw.models import CLASSIFIERS
from draw.options import COUNT_LIMIT, SEED_LIMIT, check_fields, option
from draw.progress import Progress
from draw.run_dir import (
    RunDir,
    atomic_write,
    checkpoint_step,
    checkpoint_to_load,
    default_logdir,
    fill,
    load_trained_model,
    remove_leftovers,
    temporary_file,
)

# The measures.

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


def test_error(model, images, labels, batch_size: int) -> dict:
    """A classifier's figures on images `[n, B, A, C]` with labels `[n]`: test_error and
    its binomial standard error test_error_se, the confusion matrix (row = true class) and
    each class's error (JSON-ready lists; None for a class absent from labels), images and
    seconds. The predicted class is the arg-max of the logits."""
    started = time.perf_counter()
    logits = tf.function(lambda x: model(x)["logits"])
    batches = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
    predicted = np.concatenate([np.argmax(logits(x).numpy(), -1) for x in batches])
    results = classification_results(labels, predicted, num_classes=model.num_classes)
    class_errors = [None if np.isnan(e) else float(e) for e in results["class_errors"]]
    return {
        "test_error": results["test_error"],
        "test_error_se": results["test_error_se"],
        "images": results["images"],
        "confusion": results["confusion"].tolist(),
        "class_errors": class_errors,
        "seconds": time.perf_counter() - started,
    }


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
    stream = generation.named_stream(seed, "stochastic")
    sampler = generation.Sampler(model, batch_size)
    progress = Progress("generating", num_samples, log, every=PROGRESS_SECONDS)
    logits = []
    for start, z in generation.prior_latent_chunks(stream, config.T, num_samples, config.z_size):
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


# evaluate.py: its options, one run's record, comparisons, the result files.

RESULTS_FOLDER = "evaluations"
# The keys of every ELBO record; a variant's own metrics (Model II: L_c, accuracy) come after.
ELBO_KEYS = ("L_x", "L_z", "loss", "num_images", "seconds")


@dataclass
class Options:
    """evaluate.py's flags: what to measure and how."""

    elbo: bool | None = option(
        None, "Test-set bound L_x + L_z (the measure taken when no other is chosen)."
    )
    iwae: bool = option(
        False, "Importance-sampled -log p(x) on the test set (--num_importance_samples)."
    )
    nn_nll: bool = option(
        False,
        "The report's nearest-neighbour NLL of --num_samples generated images: the "
        "Bernoulli NLL of each sample's nearest training image under the sample's pixel "
        "probabilities (mean, std, max). It measures closeness of samples to training "
        "images; it is NOT a likelihood of the model.",
        flag="nn-nll",
    )
    num_importance_samples: int = option(
        5000, "K, importance samples per test image.", range=(1, 1_000_000)
    )
    num_samples: int = option(1000, "Generated images for --nn-nll.", range=(1, 1_000_000))
    num_test_images: int = option(
        0, "Use only the first N test images for --elbo/--iwae (0: all).", range=(0, COUNT_LIMIT)
    )
    eval_batch_size: int = option(
        1000, "Images (or image-sample pairs for --iwae) per forward pass.", range=(1, 100_000)
    )
    nn_reference: str = option(
        "auto",
        "Training images --nn-nll searches: binarized once with a fixed seed, grey levels, "
        "or auto (binarized unless the run trained on grey levels).",
        choices=("auto", "binarized", "grey"),
    )
    compare: list[str] | None = option(
        None, "Runs to evaluate and tabulate together: --compare RUN1 RUN2 ... or =R1,R2."
    )
    ship: str = option(
        "",
        "After measuring the run, ship it as the trained model NAME of the package "
        "(draw/pretrained_models/NAME: weights, config.json and a card with the test-set "
        "bound; docs/pretrained.md).",
    )
    commit: str = option(
        "", "With --ship: the commit that trained the run. Default: this checkout's HEAD."
    )
    seed: int = option(0, "Seed of every sampled figure.", shared=True, range=(0, SEED_LIMIT - 1))
    restore_from_previous: bool = option(
        False, "The newest checkpoint that reads, if the newest does not.", shared=True
    )

    def __post_init__(self):
        if self.elbo is None:  # the default measure
            self.elbo = not (self.iwae or self.nn_nll)

    def validate(self) -> None:
        """DrawError with one sentence for the first value that cannot work."""
        check_fields(self)
        if not (self.elbo or self.iwae or self.nn_nll):
            raise DrawError("nothing to measure: choose --elbo, --iwae or --nn-nll")
        if self.compare is not None:
            if not self.compare:
                raise DrawError("--compare needs the runs to compare: --compare RUN1 RUN2 ...")
            if len(set(self.compare)) != len(self.compare):
                raise DrawError(f"--compare lists a run twice: {self.compare}")
        if self.ship:
            if self.compare is not None or not self.elbo or self.num_test_images:
                raise DrawError(
                    "--ship measures one run's bound on the whole test split: drop --compare "
                    "and --num_test_images, keep --elbo"
                )
        elif self.commit:
            raise DrawError("--commit names the commit of a run to --ship")


def config_summary(config: DrawConfig) -> str:
    """The preset's name and the model fields that differ from it, e.g. `jang T=5
    noread_attn`."""
    preset = DrawConfig(preset=config.preset, **PRESETS[config.preset])
    parts = [config.preset]
    for name in fields_with_role("model"):
        value = getattr(config, name)
        if name in ("preset", "dataset") or value == getattr(preset, name):
            continue
        if isinstance(value, bool):
            parts.append(name if value else "no" + name)
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


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


def _test_subset(data, config, count: int):
    """The first count (0: all) test images and their labels."""
    images = pipeline.test_images(data, config.binarize)
    if count > len(images):
        raise DrawError(f"--num_test_images={count} exceeds the {len(images)} test images")
    count = count or len(images)
    return images[:count], data.test_labels[:count]


def check_memory(config, data, options: Options) -> None:
    """DrawError if a forward pass of --eval_batch_size images, or --nn-nll's arrays (the
    samples' canvases and the training images searched), clearly cannot fit."""
    shape = data.image_shape
    pixels = int(np.prod(shape))
    forward = distribute.activations_per_image(config, shape) * options.eval_batch_size
    distribute.check_fits(
        distribute.FLOAT * (distribute.parameter_count(config, shape) + forward),
        f"--eval_batch_size={options.eval_batch_size}",
    )
    if options.nn_nll:
        # float32 logits and targets, float64 means, a float32 copy: 20 bytes a pixel; the
        # references as float32; the distances of 250 samples at once.
        search = len(data.train_images) * (pixels + 250)
        distribute.check_fits(
            20 * options.num_samples * pixels + distribute.FLOAT * search,
            f"--nn-nll with --num_samples={options.num_samples}",
        )


def evaluate_run(
    explicit: dict, logdir: str, options: Options, checkpoint="", log=print, per_sample=None
):
    """Measures one run; returns its record (JSON-ready, without per-image arrays).

    explicit: DrawConfig fields given on the command line (checked against the run).
    per_sample: a dict that receives the NN-NLL of each sample `[num_samples]` as
    "nn_nll", when measured.
    """
    options.validate()
    config, model, path = load_trained_model(
        explicit, logdir, checkpoint, options.restore_from_previous
    )
    data = load_dataset(config)
    model_shape = (model.B, model.A, model.C)
    if data.image_shape != model_shape:
        raise DrawError(
            f"the run in {logdir} models images {model_shape}, but {config.dataset} "
            f"({data.source}) gives {data.image_shape}"
        )
    record = {
        "run": os.path.abspath(logdir),
        "checkpoint": path,
        "step": checkpoint_step(path),
        "dataset": config.dataset,
        "summary": config_summary(config),
        "config": dataclasses.asdict(config),
        "seed": options.seed,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    step = "" if record["step"] is None else f"step {record['step']}, "
    if config.model in CLASSIFIERS:
        return _evaluate_classifier(record, model, data, config, options, log)
    check_memory(config, data, options)
    log(f"evaluating {path} ({step}{record['summary']})")
    if options.elbo or options.iwae:
        images, labels = _test_subset(data, config, options.num_test_images)
    if options.elbo:
        log(f"elbo: {len(images)} test images ...")
        record["elbo"] = seeded_elbo(model, images, options.eval_batch_size, options.seed, labels)
    if options.iwae:
        result = importance_sampled_nll(
            model,
            images,
            options.num_importance_samples,
            options.seed,
            options.eval_batch_size,
            log,
        )
        result.pop("per_image")
        record["iwae"] = result
    if options.nn_nll:
        train_images, reference = nn_reference_images(data, config.binarize, options.nn_reference)
        log(f"nn-nll: {options.num_samples} samples against {len(train_images)} {reference}")
        result = nearest_neighbour_nll(
            model, train_images, options.num_samples, options.seed, options.eval_batch_size, log
        )
        if per_sample is not None:
            per_sample["nn_nll"] = result["per_sample"]
        for key in ("per_sample", "neighbour", "distance"):
            result.pop(key)
        record["nn_nll"] = {**result, "reference": reference}
    check_finite(record)
    return record


def _evaluate_classifier(record, model, data, config, options: Options, log) -> dict:
    """A classifier's record: its test error, confusion matrix and per-class errors."""
    if options.iwae or options.nn_nll:
        measure = "--iwae" if options.iwae else "--nn-nll"
        raise DrawError(
            f"{measure} measures a generative model; --model={config.model} is measured by "
            "its test error (evaluate.py without a measure flag)"
        )
    images, labels = _test_subset(data, config, options.num_test_images)
    step = "" if record["step"] is None else f"step {record['step']}, "
    log(f"evaluating {record['checkpoint']} ({step}{record['summary']})")
    log(f"test error: {len(images)} test images ...")
    figures = test_error(model, images, labels, options.eval_batch_size)
    log(
        f"test error {100 * figures['test_error']:.2f}% +- {100 * figures['test_error_se']:.2f}% "
        f"(binomial standard error; {figures['images']} images)\n"
        + confusion_table(np.array(figures["confusion"]), figures["class_errors"])
    )
    record["classification"] = figures
    return record


# The columns of a measure's figures in the CSV and printed tables: (column, record key).
ROW_COLUMNS = {
    "elbo": (
        ("elbo", "loss"), ("L_x", "L_x"), ("L_z", "L_z"), ("elbo_images", "num_images"),
        ("elbo_seconds", "seconds"),
    ),
    "iwae": (
        ("iwae_nll", "nll"), ("iwae_stderr", "nll_stderr"), ("iwae_K", "num_samples"),
        ("iwae_images", "num_images"), ("iwae_seconds", "seconds"),
    ),
    "classification": (("test_images", "images"), ("test_seconds", "seconds")),
    "nn_nll": (
        ("nn_nll_mean", "mean"), ("nn_nll_std", "std"), ("nn_nll_max", "max"),
        ("nn_nll_samples", "num_samples"), ("nn_nll_seconds", "seconds"),
    ),
}  # fmt: skip


def flat_row(record: dict) -> dict:
    """One CSV/table row of a record: run, step, summary and every figure."""
    row = {"run": record["run"], "step": record["step"], "summary": record["summary"]}
    for measure, columns in ROW_COLUMNS.items():
        if measure in record:
            figures = record[measure]
            row.update({column: figures[key] for column, key in columns})
            if measure == "elbo":  # a variant's metrics (Model II: L_c, accuracy)
                row.update({k: v for k, v in figures.items() if k not in ELBO_KEYS})
            if measure == "classification":  # in percent: the error, its SE, each class's
                percent = {"test_error_%": figures["test_error"], "se_%": figures["test_error_se"]}
                percent.update({f"error_{k}_%": e for k, e in enumerate(figures["class_errors"])})
                row.update({k: None if e is None else 100 * e for k, e in percent.items()})
    return row


def format_table(rows: list[dict]) -> str:
    """rows as an aligned text table (floats with two decimals)."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]

    def text(value):
        if value is None:
            return "-"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    cells = [[text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def results_folder(logdir: str) -> str:
    return os.path.join(logdir, RESULTS_FOLDER)


_NUMBERED = re.compile(r"^(\d+)-.*\.json$")


def to_csv(rows: list[dict]) -> str:
    """rows of flat {column: value} as CSV text; the columns are the union, in order."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _claim(folder: str, suffix_texts: dict[str, str], stamp: str) -> str:
    """Writes each text to a new file FOLDER/NNNN-stamp<suffix>; returns the stem's path."""
    taken = [int(m.group(1)) for name in os.listdir(folder) if (m := _NUMBERED.match(name))]
    number = max(taken, default=0) + 1
    with contextlib.ExitStack() as stack:
        temps = {}
        for suffix, text in suffix_texts.items():
            temps[suffix] = stack.enter_context(temporary_file(folder, "result" + suffix))
            fill(temps[suffix], text)  # synced to disk before it is linked into place
        while True:
            stem = os.path.join(folder, f"{number:04d}-{stamp}")
            first, *rest = suffix_texts
            try:
                os.link(temps[first], stem + first)
            except FileExistsError:
                number += 1
                continue
            for suffix in rest:
                os.link(temps[suffix], stem + suffix)
            return stem


def check_finite(record, where: str = "") -> None:
    """DrawError naming the first figure of record (nested dicts and lists) that is NaN or
    infinite: a model that gives one is refused, never reported as a result."""
    items = record.items() if isinstance(record, dict) else enumerate(record)
    for key, value in items:
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, (dict, list)):
            check_finite(value, name)
        elif isinstance(value, float) and not math.isfinite(value):
            raise DrawError(
                f"{name} is {value}: the model gives non-finite figures (its weights are "
                "unusable); nothing was written"
            )


def write_results(folder: str, record: dict, rows: list[dict]) -> dict:
    """Writes record as JSON and rows as CSV into folder; returns {kind: path}.

    Earlier result files are never touched, except latest.json / latest.csv, which are
    replaced atomically.
    """
    check_finite(record)
    text = json.dumps(record, indent=2, sort_keys=False, allow_nan=False)  # strict JSON
    texts = {".json": text + "\n", ".csv": to_csv(rows)}
    try:
        os.makedirs(folder, exist_ok=True)
        remove_leftovers(folder)
        stem = _claim(folder, texts, time.strftime("%Y%m%dT%H%M%S"))
        for suffix, text in texts.items():
            atomic_write(os.path.join(folder, "latest" + suffix), text)
    except OSError as e:
        raise DrawError(f"cannot write the results into {folder}: {e}") from None
    return {"json": stem + ".json", "csv": stem + ".csv"}


def evaluate_and_write(
    explicit: dict, logdir: str, options: Options, checkpoint="", log=print, output_dir=""
):
    """evaluate_run, then its JSON and CSV into OUTPUT/evaluations/ (OUTPUT: output_dir,
    default the run); returns (record, paths)."""
    logdir = logdir or default_logdir(explicit)
    per_sample = {}
    record = evaluate_run(explicit, logdir, options, checkpoint, log, per_sample)
    paths = write_results(results_folder(output_dir or logdir), record, [flat_row(record)])
    if "nn_nll" in per_sample:
        run = os.path.basename(os.path.normpath(record["run"]))
        step = "" if record["step"] is None else f" at step {record['step']}"
        label = f"{run}{step}\nreferences: {record['nn_nll']['reference']}"
        figure = figures.nn_nll_histogram(per_sample["nn_nll"], label)
        paths["histogram"] = paths["json"][: -len(".json")] + ".nn_nll.png"
        atomic_write(paths["histogram"], figures.save_png(figure))
    return record, paths


def gather_compare_runs(argv: list[str]) -> list[str]:
    """Rewrites `--compare RUN1 RUN2 ...` (space-separated, as users type it) into
    `--compare=RUN1,RUN2,...` for absl; other arguments are left alone."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--compare":
            runs, i = [], i + 1
            while i < len(argv) and not argv[i].startswith("-"):
                runs.append(argv[i])
                i += 1
            out.append("--compare=" + ",".join(runs))
        else:
            out.append(argv[i])
            i += 1
    return out


def check_comparable(logdirs: list[str]) -> None:
    """DrawError unless every run exists, has a checkpoint, and all model the same dataset
    and image shape (checked before anything is evaluated)."""
    seen = {}
    for logdir in logdirs:
        run = RunDir(logdir)
        config, image_shape = run.read()
        checkpoint_to_load(run)
        seen[logdir] = (config.dataset, tuple(image_shape))
    if len(set(seen.values())) > 1:
        described = ", ".join(f"{k}: {d} {s}" for k, (d, s) in seen.items())
        raise DrawError(f"--compare needs runs of one dataset; got {described}")


def compare_runs(explicit: dict, logdirs: list[str], options: Options, log=print):
    """Evaluates each run (writing its own result files) and writes one table of all of
    them into <common parent>/comparisons/; returns (records, paths of the table)."""
    options.validate()
    check_comparable(logdirs)
    records = [evaluate_and_write(explicit, d, options, log=log)[0] for d in logdirs]
    folder = os.path.join(os.path.commonpath([os.path.abspath(d) for d in logdirs]), "comparisons")
    if len(logdirs) == 1:
        folder = os.path.join(os.path.dirname(os.path.abspath(logdirs[0])), "comparisons")
    record = {"runs": records, "created": records[-1]["created"], "seed": options.seed}
    rows = [flat_row(r) for r in records]
    paths = write_results(folder, record, rows)
    paths["chart"] = paths["json"][: -len(".json")] + ".png"
    atomic_write(paths["chart"], figures.save_png(figures.comparison_chart(rows)))
    return records, paths
