"""A classifier's test error, with its binomial standard error, the confusion matrix and
each class's error."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from draw.classification import classification_results, confusion_table
from draw.measures.measure import Measure
from draw.registry import CLASSIFICATION


def test_error(model, images, labels, batch_size: int) -> dict:
    """A classifier's figures on images `[n, B, A, C]` with labels `[n]`: test_error and
    its binomial standard error test_error_se, the confusion matrix (row = true class) and
    each class's error (JSON-ready lists; None for a class absent from labels), images and
    seconds. The predicted class is the arg-max of the logits."""
    started = time.perf_counter()
    logits = tf.function(lambda x: model(x)["logits"])
    batches = tf.data.Dataset.from_tensor_slices(images).batch(batch_size)
    predicted = np.concatenate([np.argmax(logits(x).numpy(), -1) for x in batches])
    results = classification_results(labels, predicted, num_classes=model.num_classes)
    class_errors = [None if np.isnan(e) else float(e) for e in results["class_errors"]]
    return {
        "test_error": results["test_error"],
        "test_error_se": results["test_error_se"],
        "images": results["images"],
        "confusion": results["confusion"].tolist(),
        "class_errors": class_errors,
        "seconds": time.perf_counter() - started,
    }


def _run(inputs, settings) -> dict:
    images, labels = inputs.test_split
    inputs.log(f"test error: {len(images)} test images ...")
    figures = test_error(inputs.model, images, labels, inputs.batch_size)
    inputs.log(
        f"test error {100 * figures['test_error']:.2f}% +- {100 * figures['test_error_se']:.2f}% "
        f"(binomial standard error; {figures['images']} images)\n"
        + confusion_table(np.array(figures["confusion"]), figures["class_errors"])
    )
    return figures


def _percent(figures) -> dict:
    """The error, its standard error and each class's error, in percent."""
    percent = {"test_error_%": figures["test_error"], "se_%": figures["test_error_se"]}
    percent.update({f"error_{k}_%": e for k, e in enumerate(figures["class_errors"])})
    return {k: None if e is None else 100 * e for k, e in percent.items()}


CLASSIFICATION = Measure(
    "classification", task=CLASSIFICATION, run=_run, more_columns=_percent,
    title="its test error with its binomial standard error, the confusion matrix and each "
    "class's error",
    help="A classifier's test error on the test split.",
    columns=(("test_images", "images"), ("test_seconds", "seconds")),
)  # fmt: skip
