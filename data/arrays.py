"""The in-memory form of a dataset that every loader returns, and the tensorflow-datasets
source the loaders share (failing fast and clearly when offline)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import numpy as np

from draw.errors import DrawError, first_line


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
    source: str = ""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C), which the model calls (B, A, C)."""
        return tuple(int(d) for d in self.train_images.shape[1:])


DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def can_reach(host: tuple[str, int], timeout: float = 5.0) -> bool:
    try:
        socket.create_connection(host, timeout=timeout).close()
        return True
    except OSError:
        return False


TFDS_EXTRA = 'pip install "draw-tf2[tfds]" (in a clone: pip install -e ".[tfds]")'


def import_tfds():
    """The tensorflow_datasets module, an optional dependency (the `tfds` extra); imported
    here, when a tfds source is asked for, as its import takes seconds."""
    try:
        import tensorflow_datasets
    except ImportError:
        raise DrawError(
            f"--data_source=tfds needs tensorflow-datasets, which is not installed: {TFDS_EXTRA}"
        ) from None
    return tensorflow_datasets


def load_tfds_arrays(
    name: str, data_dir: str = "", splits=("train", "test"), order_key: str = ""
) -> dict:
    """{split: (images uint8 [n, H, W, C], labels [n])} from tfds dataset `name`.

    A copy already prepared in data_dir (or tfds' default folder) is used as it is;
    otherwise tfds downloads it, which needs the network: without it, a DrawError comes at
    once instead of tfds' minutes of retries.

    tfds stores examples in an order shuffled by key; `order_key` names a feature whose
    sorted order is the original one (e.g. svhn_cropped's "id", "train_000042"), and the
    arrays are returned in that order.
    """
    tfds = import_tfds()

    try:
        builder = tfds.builder(name, data_dir=data_dir or None)
        if not builder.is_prepared():
            if not can_reach(DOWNLOAD_HOST):
                raise DrawError(
                    f"tensorflow-datasets has no prepared copy of {name} in "
                    f"{builder.data_dir_root} and cannot download it (no network); "
                    "use --data_source=files with --data_dir"
                )
            builder.download_and_prepare()
        arrays = {}
        for split in splits:
            if order_key:
                example = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
                order = np.argsort(example[order_key], kind="stable")
                images, labels = example["image"][order], example["label"][order]
            else:
                dataset = builder.as_dataset(split=split, batch_size=-1, as_supervised=True)
                images, labels = tfds.as_numpy(dataset)
            arrays[split] = (np.asarray(images, np.uint8), np.asarray(labels))
        return arrays
    except DrawError:
        raise
    except Exception as e:  # tfds raises many types when offline or misconfigured
        raise DrawError(
            f"tensorflow-datasets could not load {name} ({first_line(e)}); "
            "use --data_source=files with --data_dir"
        ) from None
