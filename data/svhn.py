"""SVHN cropped digits (32x32) from the standard .mat files or tensorflow-datasets.

Sources:
  files: a folder with `train_32x32.mat` and `test_32x32.mat` (and `extra_32x32.mat` with
         extra=True), each possibly gzipped (`.mat.gz`), read with scipy.io.loadmat. Each
         holds `X` uint8 `[32, 32, 3, N]` (row, column, channel, image) and `y` `[N, 1]`
         with labels 1..10, where 10 means digit 0.
  tfds:  tensorflow-datasets' `svhn_cropped` (the default; it downloads when online),
         put back into the .mat files' order by its "id" feature.
Both give the same images in the same order with the same labels (10 mapped to 0).

Colour (`color`):
  gray: the standard luma 0.2989 R + 0.5870 G + 0.1140 B, the weights of
        tf.image.rgb_to_grayscale and of the report, rounded to the nearest of the 256
        levels every stored image has (exactly, in integer arithmetic): `[n, 32, 32, 1]`.
  rgb:  the three channels as stored: `[n, 32, 32, 3]`.

Memory: the images are kept once, as uint8, in the layout the pipeline reads. A split's
output array is allocated once and filled file by file and chunk by chunk, so apart from
that array only the one .mat file being read is in memory (the full 73,257-image training
split is 225 MB in RGB, 75 MB in gray).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tempfile
import zlib

import numpy as np

from draw.data.arrays import ImageData, load_tfds_arrays
from draw.errors import DrawError, first_line

FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat", "extra": "extra_32x32.mat"}
IMAGE_SIZE = (32, 32, 3)
TFDS_NAME = "svhn_cropped"

# tf.image.rgb_to_grayscale's weights, and the same weights in units of 1e-4 for exact
# integer rounding (they sum to 9999, so white stays 255).
LUMA = (0.2989, 0.5870, 0.1140)
_LUMA_1E4 = np.array([2989, 5870, 1140], dtype=np.int32)
_MI_COMPRESSED = 15  # MATLAB 5 element type of a zlib-compressed variable
_CHUNK = 4096  # images converted at a time (50 MB of int32 temporaries in gray)


def load(source: str = "auto", data_dir: str = "", color: str = "gray", extra: bool = False):
    """SVHN as uint8 `[n, 32, 32, C]` images (C = 1 gray, 3 rgb) and int32 labels 0..9."""
    if source == "auto":
        source = "files" if data_dir else "tfds"
    train_splits = ("train", "extra") if extra else ("train",)
    if source == "files":
        train = _load_files(data_dir, train_splits, color)
        test = _load_files(data_dir, ("test",), color)
    elif source == "tfds":
        train = _load_tfds(data_dir, train_splits, color)
        test = _load_tfds(data_dir, ("test",), color)
    else:
        raise DrawError(
            f"SVHN has no {source} source; use --data_source=files with --data_dir, or tfds"
        )
    return ImageData("svhn", train[0], train[1], test[0], test[1], source=source)


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """`[n, H, W, 3]` uint8 -> `[n, H, W, 1]` uint8: round(0.2989 R + 0.5870 G + 0.1140 B)."""
    weighted = rgb.astype(np.int32) @ _LUMA_1E4
    return ((weighted + 5000) // 10000).astype(np.uint8)[..., np.newaxis]


def labels_from_mat(y: np.ndarray) -> np.ndarray:
    """The .mat files' labels 1..10 as class indices 0..9 (10 means digit 0)."""
    return (np.asarray(y).reshape(-1).astype(np.int32)) % 10


def _load_files(data_dir: str, splits, color: str) -> tuple[np.ndarray, np.ndarray]:
    if not data_dir or not os.path.isdir(data_dir):
        raise DrawError(f"--data_dir {data_dir!r} is not a directory")
    paths = [_find_mat(data_dir, FILES[split]) for split in splits]
    with contextlib.ExitStack() as stack:
        plains = [stack.enter_context(_plain_mat(path)) for path in paths]
        # Shapes first (cheap), so that the output is allocated once at its final size.
        counts = [_check_header(path, plain) for path, plain in zip(paths, plains)]
        images, labels = _allocate(sum(counts), color)
        start = 0
        for path, plain, n in zip(paths, plains, counts):
            X, y = _loadmat(path, plain)
            if X.shape[3] != n:
                raise DrawError(f"SVHN file {path} holds {X.shape[3]} images, its header {n}")
            labels[start : start + n] = _check_labels(path, y, n)
            # X[r, c, :, n] is pixel (r, c) of image n: transposing is a view, not a copy.
            _convert_into(images[start : start + n], X.transpose(3, 0, 1, 2), color)
            del X, y
            start += n
    return images, labels


def _load_tfds(data_dir: str, splits, color: str) -> tuple[np.ndarray, np.ndarray]:
    parts = []
    for split in splits:
        (rgb, labels) = load_tfds_arrays(TFDS_NAME, data_dir, (split,), order_key="id")[split]
        if rgb.shape[1:] != IMAGE_SIZE:
            raise DrawError(
                f"tensorflow-datasets' {TFDS_NAME} {split} split has images {rgb.shape[1:]}, "
                f"not {IMAGE_SIZE}"
            )
        images, _ = _allocate(len(rgb), color)
        _convert_into(images, rgb, color)
        parts.append((images, labels.astype(np.int32)))
        del rgb
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _allocate(n: int, color: str) -> tuple[np.ndarray, np.ndarray]:
    channels = 1 if color == "gray" else 3
    return np.empty((n, 32, 32, channels), np.uint8), np.empty(n, np.int32)


def _convert_into(out: np.ndarray, rgb: np.ndarray, color: str) -> None:
    """Fills out `[n, 32, 32, C]` from rgb `[n, 32, 32, 3]` (any strides), chunk by chunk."""
    for start in range(0, len(rgb), _CHUNK):
        block = rgb[start : start + _CHUNK]
        out[start : start + _CHUNK] = rgb_to_gray(block) if color == "gray" else block


def _find_mat(folder: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    raise DrawError(f"SVHN file {name} (or {name}.gz) is missing from {folder}")


@contextlib.contextmanager
def _plain_mat(path: str):
    """Yields path itself, or for a .gz file a decompressed temporary copy of it."""
    if not path.endswith(".gz"):
        yield path
        return
    with tempfile.NamedTemporaryFile(suffix=".mat") as plain:
        try:
            with gzip.open(path, "rb") as compressed:
                shutil.copyfileobj(compressed, plain, 1 << 22)
            plain.flush()
        except (OSError, EOFError, zlib.error) as e:
            raise DrawError(f"cannot decompress SVHN file {path}: {first_line(e)}") from None
        yield plain.name


def _scipy_call(path: str, function, *args, **kwargs):
    """Calls a scipy.io reader, turning its many failure types into one DrawError."""
    try:
        return function(*args, **kwargs)
    except MemoryError:
        raise
    except Exception as e:  # scipy raises ValueError, TypeError, OSError, zlib.error, ...
        raise DrawError(f"cannot read SVHN file {path}: {first_line(e)}") from None


def _check_complete(path: str, plain: str) -> None:
    """Checks that a MATLAB 5 file is not truncated, by walking its top-level elements.

    The file is a 128-byte header then elements of an 8-byte tag (type, byte count) and
    their data, padded to 8 bytes unless compressed (type 15); the last must end exactly
    at the end of the file. Other formats (MATLAB 4, 7.3) are left to scipy.
    """
    size = os.path.getsize(plain)
    with open(plain, "rb") as f:
        header = f.read(128)
        if len(header) < 128:
            raise DrawError(f"SVHN file {path} is truncated or not a .mat file ({size} bytes)")
        if header[126:128] not in (b"IM", b"MI"):
            return
        order = "<" if header[126:128] == b"IM" else ">"
        offset = 128
        while offset < size:
            f.seek(offset)
            tag = f.read(8)
            if len(tag) < 8:
                raise DrawError(f"SVHN file {path} is truncated (a partial tag at byte {offset})")
            kind, nbytes = np.frombuffer(tag, np.dtype(order + "u4"))
            end = offset + 8 + int(nbytes)
            if kind != _MI_COMPRESSED:
                end += -int(nbytes) % 8
            if end > size:
                raise DrawError(
                    f"SVHN file {path} is truncated: its element at byte {offset} needs "
                    f"{end - offset} bytes, {size - offset} remain"
                )
            offset = end


def _check_header(path: str, plain: str) -> int:
    """The number of images in the file, from its variable headers; checks names and shapes."""
    import scipy.io

    _check_complete(path, plain)
    variables = {
        name: (shape, kind) for name, shape, kind in _scipy_call(path, scipy.io.whosmat, plain)
    }
    for name in ("X", "y"):
        if name not in variables:
            raise DrawError(
                f"SVHN file {path} has no array {name} (it has {sorted(variables) or 'none'})"
            )
    x_shape, x_kind = variables["X"]
    if len(x_shape) != 4 or tuple(x_shape[:3]) != IMAGE_SIZE:
        raise DrawError(f"SVHN file {path} has X of shape {x_shape}; expected [32, 32, 3, N]")
    if x_kind != "uint8":
        raise DrawError(f"SVHN file {path} has X of class {x_kind}; expected uint8")
    n = int(x_shape[3])
    if n == 0:
        raise DrawError(f"SVHN file {path} holds no images")
    if tuple(variables["y"][0]) not in ((n, 1), (1, n)):
        raise DrawError(f"SVHN file {path} has y of shape {variables['y'][0]}; expected [{n}, 1]")
    return n


def _loadmat(path: str, plain: str) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io

    arrays = _scipy_call(path, scipy.io.loadmat, plain, variable_names=("X", "y"), squeeze_me=False)
    X = arrays.get("X")
    if X is None or arrays.get("y") is None:
        raise DrawError(f"SVHN file {path} lacks X or y")
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[:3] != IMAGE_SIZE:
        raise DrawError(
            f"SVHN file {path} has X {X.dtype} {X.shape}; expected uint8 [32, 32, 3, N]"
        )
    return X, arrays["y"]


def _check_labels(path: str, y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.size != n:
        raise DrawError(f"SVHN file {path} has {y.size} labels for {n} images")
    if not np.issubdtype(y.dtype, np.number):
        raise DrawError(f"SVHN file {path} has labels of type {y.dtype}")
    values = y.reshape(-1)
    bad = (values < 1) | (values > 10) | (values != np.round(values))
    if bad.any():
        raise DrawError(
            f"SVHN file {path} has label {values[bad][0]:g}; SVHN labels are 1..10 "
            "(10 means digit 0)"
        )
    return labels_from_mat(values)
