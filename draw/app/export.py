"""The SavedModel of `python generate.py --export=DIR`, usable without this project.

DIR holds three serving signatures (keras' ExportArchive); any TensorFlow program loads it
with `tf.saved_model.load(DIR)`:

    generate(num_images: int32 [], seed: int64 [])
        -> images [n, H, W, C] in [0, 1], canvases [T, n, H, W, C] in [0, 1]
        z_t ~ N(0, I) drawn by tf.random.stateless_normal([T, n, z_size], seed=[seed, 0]);
        the same seed gives the same images.
    reconstruct(images: float32 [n, H, W, C] in [0, 1], seed: int64 [])
        -> reconstructions [n, H, W, C], canvases [T, n, H, W, C]
        (z_t = mu_t + sigma_t eps_t, eps ~ stateless_normal([T, n, z_size], [seed, 0]))
    decode(z: float32 [T, n, z_size]) -> images [n, H, W, C], canvases [T, n, H, W, C]

A classifier's has one: classify(images) -> probabilities [n, 10], logits. The folder
appears whole (written next to DIR, then renamed) and replaces an existing DIR only with
--overwrite.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from draw.errors import DrawError, first_line
from draw.files import atomic_folder
from draw.models import task_of
from draw.registry import CLASSIFICATION


def latents(seed, T: int, n, z_size: int):
    """z ~ N(0, I) `[T, n, z_size]` from the seed alone (stateless)."""
    return tf.random.stateless_normal([T, n, z_size], seed=tf.stack([seed, tf.zeros_like(seed)]))


def _images(canvas):
    """Logits `[T, n, H, W, C]` -> (final images, canvases), both in [0, 1]."""
    canvases = tf.sigmoid(canvas)
    return {"images": canvases[-1], "canvases": canvases}


def archive(model) -> keras.export.ExportArchive:
    """The ExportArchive of model with the generate, reconstruct and decode endpoints (a
    classifier: classify)."""
    T, z_size = model.config.T, model.config.z_size
    image = tf.TensorSpec([None, model.B, model.A, model.C], tf.float32, name="images")
    if task_of(model.config) is CLASSIFICATION:
        return _classifier_archive(model, image)
    seed = tf.TensorSpec([], tf.int64, name="seed")

    def generate(num_images, seed):
        return _images(model.generate(z=latents(seed, T, num_images, z_size))["canvas"])

    def reconstruct(images, seed):
        noise = latents(seed, T, tf.shape(images)[0], z_size)
        out = _images(model(images, noise=noise)["canvas"])
        return {"reconstructions": out["images"], "canvases": out["canvases"]}

    def decode(z):
        return _images(model.generate(z=z)["canvas"])

    result = keras.export.ExportArchive()
    result.track(model)
    number = tf.TensorSpec([], tf.int32, name="num_images")
    result.add_endpoint("generate", generate, input_signature=[number, seed])
    result.add_endpoint("reconstruct", reconstruct, input_signature=[image, seed])
    latent = tf.TensorSpec([T, None, z_size], tf.float32, name="z")
    result.add_endpoint("decode", decode, input_signature=[latent])
    return result


def _classifier_archive(model, image) -> keras.export.ExportArchive:
    """classify(images [n, H, W, C] in [0, 1]) -> probabilities [n, 10] (softmax), logits."""

    def classify(images):
        logits = model(images)["logits"]
        return {"probabilities": tf.nn.softmax(logits), "logits": logits}

    result = keras.export.ExportArchive()
    result.track(model)
    result.add_endpoint("classify", classify, input_signature=[image])
    return result


def export(model, folder: str, overwrite: bool = False) -> str:
    """Writes model's SavedModel to folder (see the module docstring); returns its path."""
    folder = os.path.abspath(folder)
    if os.path.lexists(folder) and not overwrite:
        raise DrawError(
            f"{folder} exists; pass --overwrite to replace it or choose another --export"
        )

    def write(target):
        try:
            archive(model).write_out(target, verbose=False)
        except tf.errors.OpError as e:
            raise DrawError(f"cannot write {folder}: {first_line(e)}") from None

    atomic_folder(folder, write)
    return folder
