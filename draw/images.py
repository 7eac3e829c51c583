"""Arranging images into grids (for TensorBoard, PNGs and GIFs)."""

from __future__ import annotations

import numpy as np


def image_grid(images: np.ndarray, columns: int, pad: int = 1, pad_value: float = 0.5):
    """Tiles images into a grid.

    images: `[n, H, W, C]` in [0, 1]. Returns `[rows*(H+pad)-pad, columns*(W+pad)-pad, C]`
    with rows = ceil(n / columns); missing cells are left at pad_value.
    """
    images = np.asarray(images)
    n, height, width, channels = images.shape
    rows = -(-n // columns)
    grid = np.full(
        (rows * (height + pad) - pad, columns * (width + pad) - pad, channels),
        pad_value,
        dtype=images.dtype,
    )
    for i in range(n):
        r, c = divmod(i, columns)
        top, left = r * (height + pad), c * (width + pad)
        grid[top : top + height, left : left + width] = images[i]
    return grid
