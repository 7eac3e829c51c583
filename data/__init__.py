"""Datasets for DRAW: loaders of the raw arrays and the tf.data pipelines over them.

`load_dataset(config)` returns an `ImageData` (uint8 images and labels, both splits);
`data.pipeline` turns it into training and test batches. Nothing outside this package
knows which dataset it is serving: the model reads the image shape from `ImageData`.
A new dataset is a loader module and a line in LOADERS (see docs/extending.md).
"""

from draw.data import cluttered, mnist, svhn
from draw.data.arrays import ImageData

LOADERS = {
    "mnist": lambda config: mnist.load(config.data_source, config.data_dir),
    "svhn": lambda config: svhn.load(
        config.data_source, config.data_dir, config.color, config.svhn_extra
    ),
    "cluttered_mnist": lambda config: cluttered.from_mnist(
        mnist.load(config.data_source, config.data_dir),
        cluttered.Clutter(config.clutter_size, config.num_distractors, config.distractor_size),
    ),
}


def load_dataset(config) -> ImageData:
    """Loads config.dataset (validated by draw.config) from config.data_source and
    config.data_dir."""
    return LOADERS[config.dataset](config)


__all__ = ["ImageData", "LOADERS", "load_dataset"]
