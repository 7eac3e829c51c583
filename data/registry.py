"""Dataset name -> loader."""

from __future__ import annotations

from data import mnist, svhn
from data.base import ImageData
from draw.errors import DrawError

LOADERS = {
    "mnist": lambda config: mnist.load(config.data_source, config.data_dir),
    "svhn": lambda config: svhn.load(
        config.data_source, config.data_dir, config.color, config.svhn_extra
    ),
}


def load_dataset(config) -> ImageData:
    """Loads config.dataset from config.data_source / config.data_dir."""
    if config.dataset not in LOADERS:
        raise DrawError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(LOADERS)}")
    return LOADERS[config.dataset](config)
