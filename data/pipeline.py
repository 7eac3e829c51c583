"""tf.data pipelines over an ImageData: training batches, test batches, binarization.

Training batches are a pure function of (seed, step): batch `s` holds the images at
positions `k*batch .. (k+1)*batch` of epoch `s // steps_per_epoch`'s permutation, and
dynamic binarization draws with the stateless seed (seed, s). Resuming at step s therefore
continues exactly the stream an uninterrupted run would have seen, with no iterator state
to checkpoint.

Binarization (`binarize`):
  dynamic: each pixel ~ Bernoulli(grey / 255), resampled every time an image is drawn.
  static:  sampled once with the fixed seed STATIC_SEED, the same in every run.
  none:    grey levels / 255 in [0, 1], as in Eric Jang's code.
The test split of a binarized run is always binarized once with TEST_SEED, so that test
figures are reproducible and comparable across runs.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from draw.data.arrays import ImageData

STATIC_SEED = 20150219  # DRAW's arXiv date; any fixed number would do
TEST_SEED = 20161110  # the report's date
_BINARIZE_STREAM = 0x5EED  # separates the binarization stream from the order stream


def binarize_once(images: np.ndarray, seed: int, chunk: int = 10000) -> np.ndarray:
    """One fixed Bernoulli(grey / 255) sample of uint8 images, as uint8 0 or 255."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for start in range(0, len(images), chunk):
        block = images[start : start + chunk]
        uniform = rng.random(block.shape, dtype=np.float32)
        out[start : start + chunk] = np.where(uniform * 255.0 < block, 255, 0)
    return out


def _to_float(images):
    return tf.cast(images, tf.float32) / 255.0


def _rows(array: np.ndarray, index) -> tf.Tensor:
    """array[index] (index `[k]` int), read from the NumPy array itself.

    The pipelines read the images where the loader put them rather than copying them into a
    tf.constant, which would hold a second copy of the whole split (`python -m bench.run
    --cases=trick_pipeline_memory`).
    """
    rows = tf.numpy_function(lambda i: array[i], [index], tf.as_dtype(array.dtype), stateful=False)
    rows.set_shape([None, *array.shape[1:]])
    return rows


def train_batches(
    data: ImageData, batch_size: int, seed: int, binarize: str, start_step: int = 0
) -> tf.data.Dataset:
    """Endless training batches from `start_step` on.

    Yields `(x [batch, H, W, C] float32 in [0, 1], labels [batch] int32)`.
    """
    if hasattr(data, "train_batch"):  # images made on the fly (data.cluttered)
        return generated_batches(data, batch_size, seed, start_step)
    images = data.train_images
    if binarize == "static":
        images = binarize_once(images, STATIC_SEED)
    n = len(images)
    if batch_size > n:
        raise ValueError(f"batch size {batch_size} exceeds the {n} training images")
    steps_per_epoch = n // batch_size
    labels = data.train_labels

    def epoch_order(epoch):
        order_key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return tf.argsort(tf.random.stateless_uniform([n], seed=order_key))

    def batch_at(order, step):
        k = step % steps_per_epoch
        index = order[k * batch_size : (k + 1) * batch_size]
        x = _to_float(_rows(images, index))
        if binarize == "dynamic":
            key = tf.stack([tf.constant(seed ^ _BINARIZE_STREAM, tf.int64), step])
            x = tf.cast(tf.random.stateless_uniform(tf.shape(x), seed=key) < x, tf.float32)
        return x, _rows(labels, index)

    def epoch_batches(epoch):
        # The epoch's permutation is drawn once here, not once per batch.
        order = epoch_order(epoch)
        first = tf.maximum(epoch * steps_per_epoch, start_step)
        steps = tf.data.Dataset.range(first, (epoch + 1) * steps_per_epoch)
        return steps.map(lambda step: batch_at(order, step))

    epochs = tf.data.Dataset.range(start_step // steps_per_epoch, np.iinfo(np.int64).max)
    return epochs.flat_map(epoch_batches).prefetch(tf.data.AUTOTUNE)


def generated_batches(data, batch_size: int, seed: int, start_step: int = 0) -> tf.data.Dataset:
    """Endless training batches of data whose `train_batch(seed, step, batch_size)` makes
    batch `step` (uint8 images, labels), generated ahead of the training step on one
    thread of tf.data's own."""
    shape = [batch_size, *data.image_shape]

    def batch_at(step):
        x, labels = tf.numpy_function(
            lambda s: data.train_batch(seed, int(s), batch_size),
            [step],
            (tf.uint8, tf.int32),
            stateful=False,
        )
        x.set_shape(shape)
        labels.set_shape([batch_size])
        return _to_float(x), labels

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
    return steps.map(batch_at).prefetch(tf.data.AUTOTUNE).with_options(options)


def _test_uint8(data: ImageData, binarize: str, count: int | None = None) -> np.ndarray:
    """The first `count` (default all) test images, binarized once if the run binarizes."""
    images = data.test_images[:count]
    if binarize != "none":
        images = binarize_once(images, TEST_SEED)
    return images


def test_images(data: ImageData, binarize: str, count: int | None = None) -> np.ndarray:
    """The test split as the model sees it: float32 `[n, H, W, C]` in [0, 1].

    count: only the first `count` images (the same values as in the whole split).
    """
    return _test_uint8(data, binarize, count).astype(np.float32) / 255.0


def test_batches(data: ImageData, batch_size: int, binarize: str) -> tf.data.Dataset:
    """The whole test split in order, last batch possibly smaller: `(x, labels)`.

    The split stays uint8, in NumPy; each batch is scaled to [0, 1] as it is drawn.
    """
    images, labels = _test_uint8(data, binarize), data.test_labels
    n = len(images)

    def batch_from(start):
        index = tf.range(start, tf.minimum(start + batch_size, n))
        return _to_float(_rows(images, index)), _rows(labels, index)

    starts = tf.data.Dataset.range(0, n, batch_size)
    return starts.map(batch_from).prefetch(tf.data.AUTOTUNE)
