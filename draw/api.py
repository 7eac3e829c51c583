"""The Python API: a trained DRAW from a run directory or a shipped model, and its images.

    from draw import api

    model = api.load("mnist_attention")  # a shipped model, or a run: api.load("runs/x")
    images = api.sample(model, 16, seed=0)  # [16, 28, 28, 1] float32 in [0, 1]
    again = api.reconstruct(model, images)  # [16, 28, 28, 1]: through encoder and decoder

`model` is the keras.Model (draw.model.DRAW or a variant of models/): `model.generate(n)`
gives the whole drawing as logits, canvas `[T, n, H, W, C]`, and `model(x)` runs the
encoder and decoder on images x `[n, H, W, C]` in [0, 1].
"""

from __future__ import annotations

import os

import numpy as np

from draw import pretrained, sampling
from draw.errors import DrawError
from draw.run_dir import load_trained_model


def load(source: str, checkpoint: str = ""):
    """The trained model of `source`: a run directory (its newest checkpoint, or the
    named `checkpoint`) or the name of a shipped model (draw.pretrained.names())."""
    if os.path.isdir(source):
        return load_trained_model({}, source, checkpoint)[1]
    if source in pretrained.names():
        return load_trained_model({}, pretrained.path(source))[1]
    shipped = ", ".join(pretrained.names()) or "none shipped"
    raise DrawError(f"{source} is neither a run directory nor a shipped model ({shipped})")


def sample(model, n: int, seed: int = 0) -> np.ndarray:
    """n images from the prior, z_t ~ N(0, I): `[n, H, W, C]` float32 in [0, 1] (the
    final canvases sigmoid(c_T)); the same seed gives the same images."""
    config = model.config
    z = sampling.prior_latents(sampling.make_generator(seed), config.T, n, config.z_size)
    return sampling.Sampler(model).decode(z)["canvas"][-1]


def reconstruct(model, images, seed: int = 0) -> np.ndarray:
    """images `[n, H, W, C]` in [0, 1] through the encoder and decoder (z_t drawn from the
    posterior): `[n, H, W, C]` float32 in [0, 1]."""
    images = np.asarray(images, np.float32)
    config = model.config
    eps = sampling.prior_latents(
        sampling.make_generator(seed), config.T, len(images), config.z_size
    )
    return sampling.Sampler(model).reconstruct(images, eps)["canvas"][-1]
