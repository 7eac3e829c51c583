"""Datasets for DRAW: loaders of the raw arrays and the tf.data pipelines over them.

Each dataset is declared once in DATASETS (a draw.registry.DatasetEntry), with everything
the rest of the code derives from it (the --dataset choices and help, the values it
implies, the settings it takes); a module of this package that declares a dict DATASETS
adds its datasets.
`load_dataset(config)` returns an `ImageData` (uint8 images and labels, both splits);
`data.pipeline` turns it into training and test batches. Nothing outside this package
knows which dataset it is serving: the model reads the image shape from `ImageData`.
"""

from __future__ import annotations

from draw.data import cluttered, mnist, svhn
from draw.data.arrays import ImageData
from draw.registry import DatasetEntry, declared

DATASETS = {
    "mnist": DatasetEntry(
        lambda config: mnist.load(config.data_source, config.data_dir), "MNIST digits", "MNIST"
    ),
    "svhn": DatasetEntry(
        lambda config: svhn.load(
            config.data_source, config.data_dir, config.color, config.svhn_extra
        ),
        "house numbers, 32x32",
        "SVHN",
        defaults={"binarize": "none"},
        colour=True,
        own=("svhn_extra",),
    ),
    "cluttered_mnist": DatasetEntry(
        lambda config: cluttered.from_mnist(
            mnist.load(config.data_source, config.data_dir),
            cluttered.Clutter(config.clutter_size, config.num_distractors, config.distractor_size),
        ),
        "100x100 cluttered translated MNIST made on the fly from the embedded MNIST, for "
        "the classifiers; docs/cluttered.md",
        "cluttered MNIST",
        defaults={"binarize": "none"},
        own=("clutter_size", "num_distractors", "distractor_size"),
    ),
}
# A dataset of a module of its own declares its entry there (docs/extending.md).
DATASETS.update(declared(__name__, __path__, "DATASETS", DATASETS))


def load_dataset(config) -> ImageData:
    """Loads config.dataset (validated by draw.configure) from config.data_source and
    config.data_dir."""
    return DATASETS[config.dataset].load(config)


__all__ = ["DATASETS", "DatasetEntry", "ImageData", "load_dataset"]
