"""The Python API: a trained model from a run directory or a shipped model, and its images.

    from draw import api

    model = api.load("mnist_attention")  # a shipped model, or a run: api.load("runs/x")
    images = api.sample(model, 16, seed=0)  # [16, 28, 28, 1] float32 in [0, 1]
    again = api.reconstruct(model, images)  # [16, 28, 28, 1]: through encoder and decoder

`model` is the keras.Model (draw.model.DRAW or a variant of models/): `model.generate(n)`
gives the whole drawing as logits, canvas `[T, n, H, W, C]`, and `model(x)` runs the
encoder and decoder on images x `[n, H, W, C]` in [0, 1]. A classifier of cluttered MNIST
loads the same way and `api.classify` gives its class probabilities.
"""

from __future__ import annotations

import os
import weakref

import numpy as np
import tensorflow as tf

from draw import pretrained
from draw.errors import DrawError
from draw.models import names_of, task_of
from draw.registry import CLASSIFICATION
from draw.run_dir import load_trained_model
from draw.sampling import Sampler, make_generator, prior_latents


def load(source: str, checkpoint: str = ""):
    """The trained model of `source`: a run directory (its newest checkpoint, or the
    named `checkpoint`) or the name of a shipped model (`draw.pretrained.names()`)."""
    if os.path.isdir(source):
        return load_trained_model({}, source, checkpoint)[1]
    if source in pretrained.names():
        return load_trained_model({}, pretrained.path(source))[1]
    shipped = ", ".join(pretrained.names()) or "none shipped"
    raise DrawError(f"{source} is neither a run directory nor a shipped model ({shipped})")


def sample(model, n: int, seed: int = 0) -> np.ndarray:
    """n images from the prior, z_t ~ N(0, I): `[n, H, W, C]` float32 in [0, 1] (the
    final canvases sigmoid(c_T)); the same seed gives the same images."""
    _check_generative(model, "sample")
    config = model.config
    z = prior_latents(make_generator(seed), config.T, n, config.z_size)
    return Sampler(model).decode(z)["canvas"][-1]


def reconstruct(model, images, seed: int = 0) -> np.ndarray:
    """images `[n, H, W, C]` in [0, 1] through the encoder and decoder (z_t drawn from the
    posterior): `[n, H, W, C]` float32 in [0, 1]."""
    _check_generative(model, "reconstruct")
    images = np.asarray(images, np.float32)
    config = model.config
    eps = prior_latents(make_generator(seed), config.T, len(images), config.z_size)
    return Sampler(model).reconstruct(images, eps)["canvas"][-1]


def classify(model, images, batch_size: int = 500) -> np.ndarray:
    """Class probabilities `[n, 10]` float32 (softmax of the logits) of images `[n, H, W,
    C]` floats in [0, 1] (for the cluttered-MNIST classifiers, `[n, 100, 100, 1]`)."""
    if not _classifies(model):
        raise DrawError(
            "classify takes a classifier (--model="
            f"{names_of(lambda entry: entry.task is CLASSIFICATION)})"
        )
    images = np.asarray(images, np.float32)
    shape = (model.B, model.A, model.C)
    if images.ndim != 4 or images.shape[1:] != shape:
        raise DrawError(
            f"classify takes images [n, {', '.join(map(str, shape))}], got {images.shape}"
        )
    probabilities = _probabilities(model)
    parts = [
        probabilities(images[i : i + batch_size]).numpy() for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, model.num_classes), np.float32)


_COMPILED = weakref.WeakKeyDictionary()  # model -> its compiled classify function


def _probabilities(model):
    """The compiled softmax of model's logits (one per model, traced once)."""
    if model not in _COMPILED:
        spec = tf.TensorSpec([None, model.B, model.A, model.C], tf.float32)
        _COMPILED[model] = tf.function(
            lambda x: tf.nn.softmax(model(x)["logits"]), input_signature=[spec]
        )
    return _COMPILED[model]


def _check_generative(model, what: str) -> None:
    if _classifies(model):
        raise DrawError(f"{what} takes a DRAW model; {model.config.model} classifies (classify)")


def _classifies(model) -> bool:
    """Whether model is a classifier of a run (a model built from a configuration)."""
    config = getattr(model, "config", None)
    return config is not None and task_of(config) is CLASSIFICATION
