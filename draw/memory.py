"""How much memory a request needs, so that one that cannot fit is refused before it starts.

The estimates count the float32 tensors that must exist at once (weights, gradients and
Adam's two moments; the activations kept for the backward pass; the arrays a script
holds); they are lower bounds, so a request is refused only when it clearly cannot fit in
this machine's physical memory, and the message says how much it would need.
"""

from __future__ import annotations

import os

from draw.errors import DrawError

FLOAT = 4  # bytes of a float32


def physical_memory() -> int:
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def format_bytes(n: float) -> str:
    """`512 MB`, `3.2 GB`, `1.5 TB` (powers of 1000, as disks and `free -h --si`)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if n >= 100 or unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def check_fits(needed: int, what: str, limit: int | None = None) -> None:
    """DrawError if `needed` bytes exceed the machine's physical memory (or limit)."""
    available = physical_memory() if limit is None else limit
    if needed > available:
        raise DrawError(
            f"{what} would need at least {format_bytes(needed)} of memory, more than the "
            f"{format_bytes(available)} this machine has"
        )


def parameter_count(config, image_shape) -> int:
    """DRAW's parameters (the encoder and decoder LSTMs, the latent and window
    layers, the write layer), without a variant's convolutions (small beside them)."""
    B, A, C = image_shape
    read = 2 * config.read_n**2 * C if config.read_attn else 2 * B * A * C
    encoder_input = read + (config.dec_size if config.privy else 0)
    lstm = 4 * (encoder_input + config.enc_size + 1) * config.enc_size
    lstm += 4 * (config.z_size + config.dec_size + 1) * config.dec_size
    latent = 2 * (config.enc_size + 1) * config.z_size
    write = config.write_n**2 * C if config.write_attn else B * A * C
    windows = 5 * (int(config.read_attn) + int(config.write_attn))
    return lstm + latent + (config.dec_size + 1) * (write + windows)


def activations_per_image(config, image_shape) -> int:
    """Floats one image keeps over the T steps for the backward pass."""
    B, A, C = image_shape
    units = config.enc_size + config.dec_size
    filterbanks = 2 * (config.read_n + config.write_n) * (A + B)
    glimpses = 2 * config.read_n**2 * C + config.write_n**2 * C
    per_step = 6 * units + 4 * B * A * C + filterbanks + glimpses + 3 * config.z_size
    return config.T * per_step


def training_bytes(config, image_shape, replicas: int = 1) -> int:
    """Memory of one training replica: weights, gradients and Adam's moments, and the
    activations of its share of the batch."""
    per_replica_batch = -(-config.batch_size // replicas)
    state = 4 * parameter_count(config, image_shape)
    activations = per_replica_batch * activations_per_image(config, image_shape)
    return FLOAT * (state + activations)


def check_training(config, image_shape, replicas: int = 1) -> None:
    """DrawError if training config on images of image_shape clearly cannot fit."""
    check_fits(
        training_bytes(config, image_shape, replicas),
        f"training this model ({parameter_count(config, image_shape):,} parameters, "
        f"batch {config.batch_size}, T={config.T})",
    )
