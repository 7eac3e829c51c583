"""MNIST from the embedded copy, a folder of raw files, or tensorflow-datasets.

Sources:
  embedded: the four IDX `.gz` files shipped in `data/mnist_idx/`, checked by SHA-256.
  files:    a folder with the four IDX files (gzipped or not) or a Keras-style `mnist.npz`.
  tfds:     `tfds.load("mnist")`, which downloads when the machine is online.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib

import numpy as np

from draw.data.arrays import ImageData, load_tfds_arrays
from draw.errors import DrawError, first_line

EMBEDDED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mnist_idx")

# Split/kind -> standard IDX file name, and the embedded copies' SHA-256.
IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
EMBEDDED_SHA256 = {
    name + ".gz": digest
    for name, digest in (
        (
            "train-images-idx3-ubyte",
            "12bacf187eba4f770a04d97be5dbaad9289fe5d89a89729b6af3255c8bbfa9e1",
        ),
        (
            "train-labels-idx1-ubyte",
            "7f4ede8117c9f121a708539f3c1b71dc8cb827447542df31cdf7b815d0762e1f",
        ),
        (
            "t10k-images-idx3-ubyte",
            "c99a2fc9c8f7934dac9481251fc235227437fdcccfb8de53efcb767a8c3b057e",
        ),
        (
            "t10k-labels-idx1-ubyte",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        ),
    )
}
_MAGIC = {"images": 0x00000803, "labels": 0x00000801}


def load(source: str = "auto", data_dir: str = "") -> ImageData:
    """MNIST as uint8 `[n, 28, 28, 1]` images and int32 labels, both splits."""
    if source == "auto":
        source = "files" if data_dir else "embedded"
    if source == "embedded":
        arrays = _load_idx_folder(EMBEDDED_DIR, expected_sha256=EMBEDDED_SHA256)
    elif source == "files":
        arrays = _load_folder(data_dir)
    elif source == "tfds":
        arrays = _load_tfds(data_dir)
    else:
        raise DrawError(f"unknown MNIST source {source!r}")
    for split, (images, labels) in arrays.items():
        if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise DrawError(
                f"MNIST {split} split from {source} has images {images.shape} and labels "
                f"{labels.shape}; expected [n, 28, 28] and [n]"
            )
    return ImageData(
        name="mnist",
        train_images=arrays["train"][0][..., np.newaxis],
        train_labels=arrays["train"][1].astype(np.int32),
        test_images=arrays["test"][0][..., np.newaxis],
        test_labels=arrays["test"][1].astype(np.int32),
        source=source,
    )


def read_idx(path: str, kind: str) -> np.ndarray:
    """Reads one IDX file (gzipped or raw) of `kind` "images" or "labels" as uint8."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DrawError(f"cannot read MNIST file {path}: {e}") from None
    ndim = 3 if kind == "images" else 1
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DrawError(f"MNIST file {path} is truncated ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _MAGIC[kind]:
        raise DrawError(f"MNIST file {path} has magic number {magic:#010x}, not {kind}")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + math.prod(dims)  # Python ints: a corrupt header cannot overflow
    if len(raw) != expected:
        raise DrawError(
            f"MNIST file {path} has {len(raw)} bytes; its header {dims} needs {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _find_idx(folder: str, name: str) -> str | None:
    """The path of IDX file `name` in folder: gzipped or raw, dash or dot spelling."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name + ".gz", name, dotted + ".gz", dotted):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def check_split(images, labels, images_file: str, labels_file: str, what: str) -> None:
    """DrawError naming the file unless images are uint8 `[n, 28, 28]` with n > 0 and
    labels are n integers 0..9."""
    if images.dtype != np.uint8:
        raise DrawError(
            f"{images_file}: {what} has images of type {images.dtype}, not uint8 grey levels "
            "0..255 (convert them with np.round(x * 255).astype(np.uint8))"
        )
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DrawError(f"{images_file}: {what} has images {images.shape}, not [n, 28, 28]")
    if len(images) == 0:
        raise DrawError(f"{images_file}: {what} has no images")
    if not np.issubdtype(labels.dtype, np.integer) or labels.ndim != 1:
        raise DrawError(
            f"{labels_file}: {what} has labels {labels.dtype} {labels.shape}, not integers [n]"
        )
    if len(labels) != len(images):
        raise DrawError(
            f"{what} has {len(images)} images ({images_file}) but {len(labels)} labels "
            f"({labels_file})"
        )
    if labels.min() < 0 or labels.max() > 9:
        bad = labels[(labels < 0) | (labels > 9)][0]
        raise DrawError(f"{labels_file}: {what} has label {bad}; MNIST labels are 0..9")


def _load_idx_folder(folder: str, expected_sha256: dict | None = None) -> dict:
    arrays, paths = {}, {}
    for (split, kind), name in IDX_FILES.items():
        path = _find_idx(folder, name)
        if path is None:
            raise DrawError(f"MNIST file {name}.gz is missing from {folder}")
        if expected_sha256 is not None:
            digest = _sha256(path)
            if digest != expected_sha256.get(os.path.basename(path)):
                raise DrawError(f"embedded MNIST file {path} fails its SHA-256 check")
        arrays.setdefault(split, [None, None])[0 if kind == "images" else 1] = read_idx(path, kind)
        paths[split, kind] = path
    for split, (images, labels) in arrays.items():
        check_split(
            images, labels, paths[split, "images"], paths[split, "labels"], f"the {split} split"
        )
    return {split: tuple(pair) for split, pair in arrays.items()}


def _load_npz(path: str) -> dict:
    try:
        with np.load(path) as d:
            arrays = {
                "train": (d["x_train"], d["y_train"]),
                "test": (d["x_test"], d["y_test"]),
            }
    except KeyError as e:
        raise DrawError(f"{path} lacks the array {e}; expected Keras' mnist.npz layout") from None
    except Exception as e:  # numpy's zip and header parsing raise many types on bad bytes
        raise DrawError(f"cannot read {path}: {first_line(e)}") from None
    for split, (images, labels) in arrays.items():
        check_split(images, labels, path, path, f"the {split} split (x_{split}, y_{split})")
    return arrays


def _load_folder(data_dir: str) -> dict:
    if not data_dir or not os.path.isdir(data_dir):
        raise DrawError(f"--data_dir {data_dir!r} is not a directory")
    if all(_find_idx(data_dir, name) for name in IDX_FILES.values()):
        return _load_idx_folder(data_dir)
    npz = os.path.join(data_dir, "mnist.npz")
    if os.path.isfile(npz):
        return _load_npz(npz)
    raise DrawError(
        f"no MNIST files in {data_dir}: expected the four IDX files "
        f"({', '.join(n + '.gz' for n in IDX_FILES.values())}) or mnist.npz"
    )


def _load_tfds(data_dir: str) -> dict:
    arrays = load_tfds_arrays("mnist", data_dir)
    return {split: (images[..., 0], labels) for split, (images, labels) in arrays.items()}
