"""data.cluttered, the cluttered translated MNIST generator, checked on marked digits."""

import numpy as np
import pytest

from draw.data import cluttered
from draw.errors import DrawError


def _digits(n, value, seed=0):
    """uint8 `[n, 28, 28, 1]` digits: a random stroke pattern of the given value."""
    rng = np.random.default_rng(seed)
    digits = np.where(rng.random((n, 28, 28, 1)) < 0.3, value, 0).astype(np.uint8)
    return digits


def _block(value=1):
    """One digit whose every pixel is value: each distractor is then a solid square."""
    return np.full((1, 28, 28, 1), value, np.uint8)


def test_the_whole_target_digit_is_inside_at_a_uniform_position():
    targets = np.zeros((2000, 28, 28, 1), np.uint8)
    targets[:, 0, 0] = targets[:, 27, 27] = 255  # the digit's two opposite corners
    images = cluttered.clutter(targets, targets, np.random.default_rng(0), cluttered.Clutter(60, 0))
    assert images.shape == (2000, 60, 60, 1) and images.dtype == np.uint8
    tops, lefts = [], []
    for image in images[..., 0]:
        rows, cols = np.nonzero(image)
        assert len(rows) == 2  # both corners inside: nothing of the digit was cut
        assert rows[1] - rows[0] == 27 and cols[1] - cols[0] == 27
        tops.append(rows[0])
        lefts.append(cols[0])
    # Uniform over the 33 positions 0..32: mean 16, variance (33^2 - 1) / 12 = 90.7.
    for position in (tops, lefts):
        assert min(position) == 0 and max(position) == 32
        assert abs(np.mean(position) - 16) < 1.0
        assert abs(np.var(position) - 90.67) < 10


def test_each_distractor_is_one_crop_of_its_size_fully_inside():
    pool = _block(1)
    targets = np.zeros((500, 28, 28, 1), np.uint8)
    for size, count in ((8, 8), (5, 3)):
        options = cluttered.Clutter(100, count, size)
        images = cluttered.clutter(targets, pool, np.random.default_rng(1), options)
        # Solid squares of ones that never reach the clip: every crop lands whole.
        assert (images.reshape(500, -1).sum(axis=1) == count * size * size).all()
        one = cluttered.clutter(
            targets[:50], pool, np.random.default_rng(2), cluttered.Clutter(100, 1, size)
        )
        for image in one[..., 0]:
            rows, cols = np.nonzero(image)
            assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size
            assert len(rows) == size * size


def test_distractors_are_crops_of_pool_digits_at_uniform_offsets():
    # A pool digit whose pixels hold 1 + their row (then their column): a crop is the
    # digit's block at its offset, and its top-left value names the offset.
    ramp = np.arange(1, 29, dtype=np.uint8)
    for axis, pool in ((0, np.tile(ramp[:, None], (1, 28))), (1, np.tile(ramp[None, :], (28, 1)))):
        targets = np.zeros((2000, 28, 28, 1), np.uint8)
        options = cluttered.Clutter(40, 1, 8)
        images = cluttered.clutter(
            targets, pool[None, ..., None], np.random.default_rng(3), options
        )
        offsets = []
        for image in images[..., 0]:
            rows, cols = np.nonzero(image)
            crop = image[rows.min() : rows.min() + 8, cols.min() : cols.min() + 8]
            offset = int(crop[0, 0]) - 1
            np.testing.assert_array_equal(
                crop, pool[offset : offset + 8, :8] if axis == 0 else pool[:8, offset : offset + 8]
            )
            offsets.append(offset)
        # Uniform over 0..20: mean 10, variance (21^2 - 1) / 12 = 36.7.
        assert min(offsets) == 0 and max(offsets) == 20
        assert abs(np.mean(offsets) - 10) < 0.5 and abs(np.var(offsets) - 36.67) < 4


def test_values_add_and_clip_at_one():
    pool = _block(200)
    targets = np.full((200, 28, 28, 1), 100, np.uint8)
    images = cluttered.clutter(targets, pool, np.random.default_rng(4), cluttered.Clutter(30, 8, 8))
    # 200 + 200 clips to 255; the digit's 100 adds to 0 or 200 (-> 100, 255) or 255.
    assert set(np.unique(images)) <= {0, 100, 200, 255}
    assert (images == 255).any() and (images == 100).any()
    # Every pixel under the target is at least its value: the digit is added last.
    assert (images.reshape(200, -1) >= 100).sum(axis=1).min() >= 28 * 28


def test_batches_are_a_function_of_seed_and_step():
    images, labels = _digits(300, 255), np.arange(300, dtype=np.int32) % 10
    a = cluttered.train_batch(images, labels, seed=5, step=17, batch_size=40)
    b = cluttered.train_batch(images, labels, seed=5, step=17, batch_size=40)
    c = cluttered.train_batch(images, labels, seed=5, step=18, batch_size=40)
    d = cluttered.train_batch(images, labels, seed=6, step=17, batch_size=40)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[0], d[0])
    assert a[0].shape == (40, 100, 100, 1) and a[1].dtype == np.int32


def test_labels_are_the_targets_and_splits_stay_apart():
    # Digit k of the split is solid with the value 10 + k: the label names the one
    # value whose whole 28 x 28 square is in the image, and distractors (crops of 8 x 8)
    # carry only values of the same split.
    train = np.stack([np.full((28, 28, 1), 10 + k, np.uint8) for k in range(10)])
    test = train + 100
    labels = np.arange(10, dtype=np.int32)
    x, y = cluttered.train_batch(train, labels, seed=1, step=0, batch_size=30)
    assert set(np.unique(x)) - {0} <= set(range(10, 256))
    for image, label in zip(x[..., 0], y):
        # the target square of value 10 + label (maybe raised by distractors under it)
        assert (image >= 10 + label).sum() >= 28 * 28
    xt, yt = cluttered.test_set(test, labels)
    assert len(xt) == 10 and (yt == labels).all()
    values = set(np.unique(xt)) - {0}
    assert min(values) >= 110  # test images only: every train value is below 110
    assert min(set(np.unique(x)) - {0}) < 110


def test_the_test_set_is_fixed_and_any_prefix_is_the_same():
    images, labels = _digits(2500, 255), np.arange(2500, dtype=np.int32) % 10
    whole, whole_labels = cluttered.test_set(images, labels)
    part, part_labels = cluttered.test_set(images, labels, count=1200)
    np.testing.assert_array_equal(whole[:1200], part)
    np.testing.assert_array_equal(whole_labels, labels)
    again, _ = cluttered.test_set(images, labels, count=1200)
    np.testing.assert_array_equal(part, again)


@pytest.mark.parametrize("options", [(20, 8, 8), (100, 8, 29), (100, 8, 0), (100, -1, 8)])
def test_impossible_options_are_errors(options):
    with pytest.raises(DrawError):
        cluttered.Clutter(*options)
