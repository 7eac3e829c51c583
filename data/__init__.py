"""Datasets for DRAW: loaders of the raw arrays and the tf.data pipelines over them.

`load_dataset(config)` returns an `ImageData` (uint8 images and labels, both splits);
`data.pipeline` turns it into training and test batches. Nothing outside this package
knows which dataset it is serving: the model reads the image shape from `ImageData`.
"""

from data.base import ImageData
from data.registry import load_dataset

__all__ = ["ImageData", "load_dataset"]
