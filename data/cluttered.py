"""Cluttered translated MNIST, the data of the DRAW paper's Table 1 (and of RAM), made offline.

The recipe of DeepMind's mnist-cluttered generator, for one image:

    canvas = zeros(size x size)
    repeat num_distractors times:
        a random distractor_size x distractor_size crop of a random digit of the same split
        is added at a uniformly random position; the canvas is clipped at 1
    the whole 28 x 28 target digit is added at a uniformly random position; clip to [0, 1]
    label = the target's label

Intensities are the digits' grey levels / 255. Adding and clipping at 255 in integers is
exactly adding and clipping at 1 in grey levels / 255, so images stay uint8 (a quarter of
the memory of floats) until a batch is drawn.

Training batches are generated on the fly, each a pure function of (seed, step) (its
target digits are drawn uniformly, with replacement, from the training split), so that a
resumed run sees the images an uninterrupted one would have. The test set is fixed: one
cluttered image per MNIST test image, in order, made with TEST_SEED in chunks of
TEST_CHUNK images (any prefix of it is the same whatever was generated after it).

Variants of the recipe through `Clutter`: RAM's 60 x 60 translated MNIST is
`Clutter(60, 0)`, its 60 x 60 cluttered one `Clutter(60, 4)`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from draw.data.arrays import ImageData
from draw.errors import DrawError

DIGIT_SIZE = 28  # MNIST digits, 28 x 28
TEST_SEED = 20150216  # DRAW's arXiv submission date; any fixed number would do
TEST_CHUNK = 1000  # the test set is generated in chunks of this many images


@dataclasses.dataclass(frozen=True)
class Clutter:
    """One variant of the recipe: a size x size canvas with num_distractors crops of
    distractor_size x distractor_size pixels."""

    size: int = 100
    num_distractors: int = 8
    distractor_size: int = 8

    def __post_init__(self):
        if self.size < DIGIT_SIZE:
            raise DrawError(f"a cluttered canvas of {self.size} pixels cannot hold a 28 x 28 digit")
        if not 1 <= self.distractor_size <= DIGIT_SIZE:
            raise DrawError(f"distractors of {self.distractor_size} pixels: expected 1 to 28")
        if self.num_distractors < 0:
            raise DrawError(f"{self.num_distractors} distractors: expected 0 or more")


def _add_patches(canvas, patches, rng):
    """Adds each patch `[n, s, s]` (uint16) to its canvas `[n, size, size]` (uint16) at a
    uniformly random position, then clips the canvas at 255, in place."""
    n, s = patches.shape[0], patches.shape[1]
    size = canvas.shape[1]
    top, left = rng.integers(0, size - s + 1, size=(2, n))
    offsets = np.arange(s)
    rows = (top[:, None] + offsets)[:, :, None]  # [n, s, 1]
    cols = (left[:, None] + offsets)[:, None, :]  # [n, 1, s]
    # One patch per canvas: no index repeats, so the fancy-indexed += adds each pixel once.
    canvas[np.arange(n)[:, None, None], rows, cols] += patches
    np.minimum(canvas, 255, out=canvas)


def _random_crops(pool, n, s, rng):
    """n random s x s crops `[n, s, s]` (uint16) of random digits of pool `[m, 28, 28]`."""
    source = rng.integers(0, len(pool), size=n)
    top, left = rng.integers(0, DIGIT_SIZE - s + 1, size=(2, n))
    offsets = np.arange(s)
    rows = (top[:, None] + offsets)[:, :, None]
    cols = (left[:, None] + offsets)[:, None, :]
    return pool[source[:, None, None], rows, cols].astype(np.uint16)


def clutter(targets, pool, rng, options: Clutter = Clutter()):
    """Cluttered images of the target digits.

    Args:
      targets: `[n, 28, 28]` or `[n, 28, 28, 1]` uint8 digits, one per image.
      pool: `[m, 28, 28]` or `[m, 28, 28, 1]` uint8 digits the distractors are cropped from.
      rng: a numpy Generator, the only source of randomness.
      options: canvas size and distractors.

    Returns `[n, size, size, 1]` uint8 images (grey levels, clipped at 255).
    """
    targets = targets.reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
    pool = pool.reshape(-1, DIGIT_SIZE, DIGIT_SIZE)
    n = len(targets)
    canvas = np.zeros([n, options.size, options.size], np.uint16)
    for _ in range(options.num_distractors):
        _add_patches(canvas, _random_crops(pool, n, options.distractor_size, rng), rng)
    _add_patches(canvas, targets.astype(np.uint16), rng)
    return canvas.astype(np.uint8)[..., np.newaxis]


def train_batch(images, labels, seed: int, step: int, batch_size: int, options=Clutter()):
    """Training batch `step`: `(images [batch, size, size, 1] uint8, labels [batch] int32)`,
    a pure function of (seed, step); targets and distractors come from images `[m, 28, 28,
    1]` (the training split), labels `[m]`."""
    rng = np.random.default_rng([seed, step])
    index = rng.integers(0, len(images), size=batch_size)
    return clutter(images[index], images, rng, options), labels[index].astype(np.int32)


def test_set(images, labels, options=Clutter(), count: int | None = None, seed: int = TEST_SEED):
    """The fixed test set: one cluttered image per digit of images `[m, 28, 28, 1]` (the
    test split), in order, distractors from the same split. count: only the first count
    images (the same as in the whole set). Returns `(uint8 [count, size, size, 1], int32
    [count])`."""
    count = len(images) if count is None else min(count, len(images))
    chunks = []
    for chunk, start in enumerate(range(0, count, TEST_CHUNK)):
        rng = np.random.default_rng([seed, chunk])
        targets = images[start : start + TEST_CHUNK]
        chunks.append(clutter(targets, images, rng, options)[: count - start])
    return np.concatenate(chunks), labels[:count].astype(np.int32)


@dataclasses.dataclass
class ClutteredData(ImageData):
    """Cluttered MNIST as the pipelines serve it.

    train_images, train_labels: MNIST's training digits `[60000, 28, 28, 1]` and labels,
      which the training batches are made of (`train_batch`, on the fly).
    test_images, test_labels: the fixed test set `[10000, size, size, 1]` (`test_set`).
    clutter: the recipe's variant; image_shape is its canvas, `(size, size, 1)`.
    """

    clutter: Clutter = Clutter()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.clutter.size, self.clutter.size, 1)

    def train_batch(self, seed: int, step: int, batch_size: int):
        """Training batch step: `(uint8 [batch, size, size, 1], int32 [batch])`."""
        return train_batch(
            self.train_images, self.train_labels, seed, step, batch_size, self.clutter
        )


def from_mnist(mnist: ImageData, options: Clutter = Clutter()) -> ClutteredData:
    """Cluttered MNIST made of mnist's two splits (each split's distractors its own)."""
    test_images, test_labels = test_set(mnist.test_images, mnist.test_labels, options)
    return ClutteredData(
        name="cluttered_mnist",
        train_images=mnist.train_images,
        train_labels=mnist.train_labels,
        test_images=test_images,
        test_labels=test_labels,
        source=mnist.source,
        clutter=options,
    )
