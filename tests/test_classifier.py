"""models.classifier: the glimpse classifier against an independent NumPy forward pass, its
first window, its parameter count and the convolutional baseline's, and both learning."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from draw.classification import classification_results, confusion_table
from draw.models.classifier import ConvClassifier, GlimpseClassifier
from tests import numpy_draw
from tests.helpers import bar_images


def _weights(layer):
    return [w.numpy().astype(np.float64) for w in layer.weights]


def _numpy_forward(model, x):
    """The recurrence of models/classifier.py's docstring in NumPy: logits, glimpses."""
    images = np.transpose(x, [0, 3, 1, 2]).astype(np.float64)
    kernel, bias = _weights(model.window.params)
    h = c = np.zeros((len(x), model.units))
    glimpses = []
    for _ in range(model.T):
        Fx, Fy, gamma = numpy_draw.window(h, kernel, bias, model.N, model.A, model.B)
        r = numpy_draw.read_glimpse(images, Fx, Fy, gamma)
        glimpses.append(r)
        h, (h, c) = numpy_draw.lstm(r.reshape(len(x), -1), (h, c), *_weights(model.lstm))
    w, b = _weights(model.logits_layer)
    return h @ w + b, np.stack(glimpses)


@pytest.mark.parametrize("bias", [0.0, 3.0])
def test_the_forward_pass_is_the_papers_recurrence(bias):
    model = GlimpseClassifier((30, 40, 1), T=3, N=5, units=16, log_sigma2_bias=bias)
    model.build_variables()
    # Random window weights, so that later glimpses move.
    kernel = np.random.default_rng(0).normal(0, 0.3, model.window.params.kernel.shape)
    model.window.params.kernel.assign(kernel)
    x = np.random.default_rng(1).random((4, 30, 40, 1)).astype(np.float32)
    outputs = model(tf.constant(x))
    logits, glimpses = _numpy_forward(model, x)
    np.testing.assert_allclose(outputs["logits"].numpy(), logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs["glimpses"].numpy(), glimpses, rtol=1e-4, atol=1e-5)


def test_the_first_window_is_centred_with_the_chosen_width():
    for bias in (0.0, 3.0):
        model = GlimpseClassifier((100, 100, 1), T=2, log_sigma2_bias=bias)
        model.build_variables()
        np.testing.assert_array_equal(model.window.params.bias.numpy(), [0, 0, bias, 0, 0])
        outputs = model(tf.zeros([2, 100, 100, 1]))
        # h_0 = 0: gx = gy = (100 + 1) / 2, delta = 99 / 11 = 9, sigma^2 = exp(bias).
        np.testing.assert_allclose(
            outputs["read_window"][0].numpy(), [[50.5, 50.5, 9.0]] * 2, rtol=1e-6
        )
        np.testing.assert_allclose(outputs["sigma2"][0].numpy(), np.exp(bias), rtol=1e-3)


def test_parameter_counts_match_the_papers_model_and_the_baseline_is_close():
    glimpse = GlimpseClassifier((100, 100, 1), T=8)
    glimpse.build_variables()
    lstm = 4 * 256 * (12 * 12 + 256 + 1)
    assert glimpse.count_params() == lstm + (256 * 5 + 5) + (256 * 10 + 10)
    conv = ConvClassifier((100, 100, 1))
    conv.build_variables()
    assert abs(conv.count_params() / glimpse.count_params() - 1) < 0.05


def _train(model, images, labels, steps, learning_rate):
    model.build_variables()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=5.0))
    step = tf.function(model.train_step)
    x = tf.constant(images.astype(np.float32) / 255.0)
    y = tf.constant(labels)
    for _ in range(steps):
        step((x, y))
    predicted = np.argmax(model(x)["logits"].numpy(), -1)
    return np.mean(predicted == labels)


@pytest.mark.parametrize(
    "make, size",
    [
        (lambda shape: GlimpseClassifier(shape, T=2, N=6, units=32), 16),
        (lambda shape: ConvClassifier(shape, hidden=16), 28),
    ],
)
def test_each_classifier_learns_bars(make, size):
    tf.keras.utils.set_random_seed(0)
    images, labels = bar_images(64, size, size, seed=0)
    assert _train(make((size, size, 1)), images, labels, steps=150, learning_rate=1e-2) > 0.95


def test_classification_results_count_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    predicted = np.array([0, 1, 0, 1, 1, 2, 0, 2, 2, 1])
    results = classification_results(labels, predicted, 3)
    assert results["test_error"] == pytest.approx(0.3)
    assert results["test_error_se"] == pytest.approx(np.sqrt(0.3 * 0.7 / 10))
    np.testing.assert_array_equal(results["confusion"], [[2, 1, 0], [0, 2, 0], [1, 1, 3]])
    np.testing.assert_allclose(results["class_errors"], [1 / 3, 0.0, 0.4])
    table = confusion_table(results["confusion"], results["class_errors"])
    assert "| 2 | 1 | 1 | 3 | 40.00% |" in table.splitlines()
