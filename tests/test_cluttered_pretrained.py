"""The shipped cluttered-MNIST classifiers, on images of an independent implementation of
the recipe (written here from its description, with Python's own random numbers): each
classifies them with the error its card states, within sampling error."""

import math
import random
import re

import numpy as np
import pytest

from draw import api, pretrained
from draw.data import mnist

SHIPPED = [name for name in pretrained.names() if "clutter" in name]
# Every 10th test digit: MNIST's first 5,000 test digits are harder than its last 5,000
# (the 4-glimpse model: 13.6% and 7.2% error), so a sample spans the whole split.
TARGETS = range(0, 10000, 10)


def independent_cluttered(digits, labels, targets, seed):
    """Images `[n, 100, 100, 1]` in [0, 1] of the digits numbered in targets: 8 random 8x8
    crops of random digits, each added at a uniform position and clipped at 1, then the
    whole 28x28 target digit added at a uniform position and clipped to [0, 1]; and their
    labels."""
    rng = random.Random(seed)
    grey = digits[..., 0].astype(np.float64) / 255.0
    images = np.zeros((len(targets), 100, 100, 1), np.float32)
    for i, target in enumerate(targets):
        canvas = np.zeros((100, 100))
        for _ in range(8):
            source = grey[rng.randrange(len(grey))]
            top, left = rng.randrange(28 - 8 + 1), rng.randrange(28 - 8 + 1)
            y, x = rng.randrange(100 - 8 + 1), rng.randrange(100 - 8 + 1)
            patch = canvas[y : y + 8, x : x + 8] + source[top : top + 8, left : left + 8]
            canvas[y : y + 8, x : x + 8] = np.minimum(patch, 1.0)
        y, x = rng.randrange(100 - 28 + 1), rng.randrange(100 - 28 + 1)
        canvas[y : y + 28, x : x + 28] += grey[target]
        images[i, ..., 0] = np.clip(canvas, 0.0, 1.0)
    return images, labels[list(targets)]


def card_error(name):
    """The test error (a fraction) and the number of images its card states."""
    with open(pretrained.path(name) + "/README.md") as f:
        text = f.read()
    match = re.search(
        r"\*\*([\d.]+)%\*\* \+- [\d.]+% \(binomial standard error; the (\d+) images", text
    )
    return float(match.group(1)) / 100, int(match.group(2))


def test_a_classifier_of_cluttered_mnist_is_shipped():
    assert SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_classifier_has_its_cards_error_on_independent_images(name):
    digits = mnist.load("embedded")
    images, labels = independent_cluttered(digits.test_images, digits.test_labels, TARGETS, 21)
    predicted = np.argmax(api.classify(api.load(name), images), axis=1)
    error = float(np.mean(predicted != labels))
    stated, n = card_error(name)
    se = math.sqrt(stated * (1 - stated) * (1 / len(TARGETS) + 1 / n))
    assert abs(error - stated) < 4 * se, (error, stated)
