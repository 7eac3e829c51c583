"""Pictures of the learned first-layer convolution kernels of Models I-III (report 5.1)."""

from __future__ import annotations

import numpy as np

from draw.errors import DrawError
from draw.images import image_grid


def check_has_kernels(config) -> None:
    """DrawError for a model without convolution layers (--model=draw)."""
    if config.model == "draw":
        raise DrawError(
            "--kernels needs a model with convolution layers (--model=conv_read, supervised "
            "or conv_encoder); this run is --model=draw"
        )


def first_layer_kernels(model) -> dict[str, np.ndarray]:
    """{conv block name: kernels `[filters, k, k, C]`} of the model's first conv layers."""
    check_has_kernels(model.config)
    return {
        name: np.transpose(block.first_kernels.numpy(), (3, 0, 1, 2))
        for name, block in model.conv_blocks().items()
    }


def kernel_picture(kernels: dict[str, np.ndarray], scale: int = 8, pad: int = 1) -> np.ndarray:
    """One row of kernels per block, each kernel min-max scaled to [0, 1] on its own and
    enlarged `scale` times (nearest neighbour): `[height, width, C]` float in [0, 1].
    """
    rows = []
    for weights in kernels.values():
        low = weights.min(axis=(1, 2, 3), keepdims=True)
        high = weights.max(axis=(1, 2, 3), keepdims=True)
        unit = (weights - low) / np.maximum(high - low, 1e-12)
        big = unit.repeat(scale, axis=1).repeat(scale, axis=2)
        rows.append(image_grid(big, columns=len(big), pad=pad))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=0.5) for r in rows]
    gap = np.full((scale, width, rows[0].shape[2]), 0.5, dtype=rows[0].dtype)
    picture = rows[0]
    for row in rows[1:]:
        picture = np.concatenate([picture, gap, row], axis=0)
    return picture
