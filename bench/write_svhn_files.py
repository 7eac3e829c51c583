"""SVHN-layout files for benchmarks (the case train_svhn_files of bench.run writes them to
a temporary folder): python -m bench.write_svhn_files DIR

train_32x32.mat (73,257 images) and test_32x32.mat (26,032) in exactly the layout of the
real files (MATLAB 5, zlib-compressed like the originals, X uint8 [32, 32, 3, N], y uint8
[N, 1] with labels 1..10). The images are synthetic (a coloured background gradient, a
bright bar and noise): they exercise loading, memory and speed, and are no SVHN result.
Never commit them.
"""

from __future__ import annotations

import os
import time

import numpy as np
import scipy.io

from draw.app import startup
from draw.errors import DrawError

SIZES = {"train_32x32.mat": 73257, "test_32x32.mat": 26032}


def synthetic_images(n: int, seed: int, chunk: int = 8192) -> np.ndarray:
    """uint8 `[32, 32, 3, n]` structured images (SVHN's X layout)."""
    rng = np.random.default_rng(seed)
    X = np.empty((32, 32, 3, n), np.uint8)
    ramp = np.linspace(0.0, 1.0, 32, dtype=np.float32)
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        base = rng.uniform(0, 200, (k, 1, 1, 3)).astype(np.float32)
        slope = rng.uniform(-40, 40, (k, 1, 1, 3)).astype(np.float32)
        images = base + slope * ramp[None, None, :, None]
        images = np.broadcast_to(images, (k, 32, 32, 3)).copy()
        left = rng.integers(8, 20, k)
        for i in range(k):
            images[i, 6:26, left[i] : left[i] + 5] += 80.0
        images += rng.normal(0, 8, images.shape).astype(np.float32)
        X[..., start : start + k] = np.clip(images, 0, 255).astype(np.uint8).transpose(1, 2, 3, 0)
    return X


def write(folder: str, sizes: dict = SIZES, log=print) -> None:
    """Writes the files of `sizes` ({file name: images}) into folder."""
    os.makedirs(folder, exist_ok=True)
    for seed, (name, n) in enumerate(sizes.items()):
        started = time.perf_counter()
        X = synthetic_images(n, seed)
        y = np.random.default_rng(100 + seed).integers(1, 11, (n, 1)).astype(np.uint8)
        path = os.path.join(folder, name)
        scipy.io.savemat(path, {"X": X, "y": y}, format="5", do_compression=True)
        seconds = time.perf_counter() - started
        log(f"{path}: {n} images, {os.path.getsize(path) / 1e6:.1f} MB, {seconds:.0f}s")


def main(argv):
    if len(argv) != 2:
        raise DrawError("usage: python -m bench.write_svhn_files DIR")
    write(argv[1])


if __name__ == "__main__":
    startup.start()
    from draw.app import cli

    cli.run(main)
