"""Datasets for DRAW: loaders of the raw arrays and the tf.data pipelines over them.

Each dataset is declared once in DATASETS, with everything the rest of the code derives
from it (the --dataset choices and help, the values it implies, the settings it takes).
`load_dataset(config)` returns an `ImageData` (uint8 images and labels, both splits);
`data.pipeline` turns it into training and test batches. Nothing outside this package
knows which dataset it is serving: the model reads the image shape from `ImageData`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from draw.data import cluttered, mnist, svhn
from draw.data.arrays import ImageData


@dataclass(frozen=True)
class DatasetEntry:
    """A --dataset: its loader and what the configuration derives from it.

    load: config -> ImageData (reading config.data_source, config.data_dir and the
      dataset's own settings).
    help: what --help says of it; title: its name in sentences ("MNIST").
    defaults: values it implies unless the preset or the command line sets them (a
      dataset of intensities in [0, 1], never binarized: {"binarize": "none"}, which then
      also refuses any other --binarize).
    colour: it has RGB images and takes --color (gray or rgb).
    own: the data settings only it takes; given with another dataset, they are an error.
    """

    load: Callable[..., ImageData]
    help: str
    title: str
    defaults: dict = field(default_factory=dict)
    colour: bool = False
    own: tuple[str, ...] = ()


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


def load_dataset(config) -> ImageData:
    """Loads config.dataset (validated by draw.configure) from config.data_source and
    config.data_dir."""
    return DATASETS[config.dataset].load(config)


__all__ = ["DATASETS", "DatasetEntry", "ImageData", "load_dataset"]
