"""The in-memory form of a dataset that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ImageData:
    """Both splits of a dataset, as loaded from its source.

    train_images, test_images: `[n, H, W, C]` uint8 in 0..255.
    train_labels, test_labels: `[n]` int32 class indices.
    """

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    num_classes: int = 10
    source: str = ""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) = (B, A, C) in DESIGN.md's notation."""
        return tuple(int(d) for d in self.train_images.shape[1:])
