"""Sampling a trained DRAW: latents and the one compiled decoder that turns them into
images.

Latents are `[T, n, z_size]`: step t's sample for each of n images. The builders below
draw them from a `tf.random.Generator` owned by the caller (so a seed gives the same
latents in every process, whatever the model's training noise state), and `Sampler`, the
one compiled decoder, turns latents (or test images) into canvases in chunks of a bounded
number of images.

- `prior_latents`: z_t ~ N(0, I) at every step (stochastic generation).
- `fix_step_latents`: the report's Figure 1, z_N shared by all n images.
- `interpolate_latents`: the report's Figure 2, lines between two latents of all T steps.
"""

from __future__ import annotations

import zlib

import numpy as np
import tensorflow as tf

from draw.errors import DrawError

DECODE_BATCH = 1000  # images per call of the compiled functions (bounds the memory)


def make_generator(seed: int, stream: int = 0) -> tf.random.Generator:
    """A fresh counter-based (Philox) generator: the same (seed, stream) gives the same
    numbers in every process; different streams of one seed are independent."""
    return tf.random.Generator.from_key_counter(key=seed, counter=[0, stream], alg="philox")


def named_stream(seed: int, name: str) -> tf.random.Generator:
    """The generator of the stream called name (e.g. "stochastic") of seed: each use
    (a mode of generate.py, a measure) draws from its own stream, so its numbers depend on
    the seed alone, not on what else drew from the seed before it."""
    return make_generator(seed, zlib.crc32(name.encode()))


def prior_latents(generator: tf.random.Generator, T: int, n: int, z_size: int) -> tf.Tensor:
    """z_t ~ N(0, I) for every step and image: `[T, n, z_size]`."""
    return generator.normal([T, n, z_size])


def prior_latent_chunks(generator: tf.random.Generator, T: int, n: int, z_size: int):
    """`prior_latents` for any n in bounded memory: yields (start, z `[T, c, z_size]`) for
    images start .. start + c, drawn DECODE_BATCH images at a time (c <= DECODE_BATCH).
    For n <= DECODE_BATCH the one chunk is prior_latents(generator, T, n, z_size); the
    chunks of a larger n do not depend on how many of them are consumed."""
    for start in range(0, n, DECODE_BATCH):
        yield start, prior_latents(generator, T, min(DECODE_BATCH, n - start), z_size)


def fix_step_latents(
    generator: tf.random.Generator, T: int, n: int, z_size: int, step: int
) -> tf.Tensor:
    """Prior latents `[T, n, z_size]` whose step `step` (1-based) is one sample shared by
    all n images, while every other step varies from image to image."""
    z = prior_latents(generator, T, n, z_size)
    shared = tf.broadcast_to(generator.normal([1, 1, z_size]), [1, n, z_size])
    return tf.concat([z[: step - 1], shared, z[step:]], axis=0)


def interpolate_latents(start: tf.Tensor, end: tf.Tensor, columns: int) -> tf.Tensor:
    """Linear interpolation of all T steps at once, one line per row.

    Args:
      start, end: `[T, rows, z_size]` the endpoints of each row's line.
      columns: points per line, the first `start` and the last `end` exactly.

    Returns `[T, rows * columns, z_size]`, row-major: image r*columns + j is
    (1 - a_j) start_r + a_j end_r with a_j = j / (columns - 1).
    """
    if columns < 2:
        raise DrawError(f"an interpolation needs at least 2 columns, got {columns}")
    alpha = tf.reshape(tf.linspace(0.0, 1.0, columns), [1, 1, columns, 1])
    line = (1.0 - alpha) * start[:, :, tf.newaxis] + alpha * end[:, :, tf.newaxis]
    T, rows, z_size = start.shape
    return tf.reshape(line, [T, rows * columns, z_size])


class Sampler:
    """The compiled decoder and encoder-decoder of a trained model, run in chunks.

    Args:
      model: a DRAW (draw.model.DRAW) with its weights.
      batch: images per call of the compiled functions (bounds the memory).
    """

    def __init__(self, model, batch: int = DECODE_BATCH):
        self.model = model
        self.config = model.config
        self.batch = batch
        T, z_size = self.config.T, self.config.z_size
        image = [None, model.B, model.A, model.C]
        self._generate = tf.function(
            lambda z: model.generate(z=z), input_signature=[tf.TensorSpec([T, None, z_size])]
        )
        self._posterior = tf.function(
            lambda x, noise: model(x, noise=noise),
            input_signature=[tf.TensorSpec(image), tf.TensorSpec([T, None, z_size])],
        )

    def _batched(self, fn, *inputs, axes, keep):
        """Runs fn over chunks of `self.batch` images along each input's axis in `axes`,
        keeps `keep(outputs)` of each chunk (a dict of `[T, chunk, ...]` tensors) and
        concatenates them along their image axis (1)."""
        n = inputs[0].shape[axes[0]]
        parts = []
        for start in range(0, n, self.batch):
            part = slice(start, start + self.batch)
            chunk = [v[(slice(None),) * a + (part,)] for v, a in zip(inputs, axes)]
            parts.append({k: v.numpy() for k, v in keep(fn(*chunk)).items()})
        return {k: np.concatenate([p[k] for p in parts], axis=1) for k in parts[0]}

    def decode(self, z) -> dict:
        """Decodes latents `[T, n, z_size]` without an encoder.

        Returns numpy: canvas `[T, n, H, W, C]` images sigmoid(c_t) in [0, 1], z, and
        write_window `[T, n, 3]` (gx, gy, delta) with write attention.
        """
        z = tf.convert_to_tensor(z, tf.float32)
        return self._batched(self._generate, z, axes=[1], keep=_as_images)

    def final_logits(self, z) -> np.ndarray:
        """The final canvases c_T `[n, H, W, C]` (logits) of latents `[T, n, z_size]`."""
        z = tf.convert_to_tensor(z, tf.float32)
        keep = lambda outputs: {"logits": outputs["canvas"][-1:]}  # noqa: E731
        return self._batched(self._generate, z, axes=[1], keep=keep)["logits"][0]

    def reconstruct(self, x, noise) -> dict:
        """Runs the encoder and decoder on images x `[n, H, W, C]` in [0, 1].

        noise: `[T, n, z_size]` eps for z_t = mu_t + sigma_t eps_t (zeros give the
        posterior-mean path, z_t = mu_t).
        Returns numpy: canvas `[T, n, H, W, C]` images in [0, 1], mu, log_sigma, z
        `[T, n, z_size]`, and read_window / write_window `[T, n, 3]` with attention.
        """
        x = tf.convert_to_tensor(x, tf.float32)
        noise = tf.convert_to_tensor(noise, tf.float32)
        return self._batched(self._posterior, x, noise, axes=[0, 1], keep=_as_images)

    def posterior_means(self, x) -> np.ndarray:
        """The latents `[T, n, z_size]` of images x on the posterior-mean path: every
        z_t = mu_t, each step's mean given the means of the steps before it."""
        zeros = tf.zeros([self.config.T, len(x), self.config.z_size])
        return self.reconstruct(x, noise=zeros)["z"]


def _as_images(outputs: dict) -> dict:
    """The model's outputs with the canvases as images sigmoid(c_t) in [0, 1]."""
    return {**outputs, "canvas": tf.sigmoid(outputs["canvas"])}
