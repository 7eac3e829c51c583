"""A classifier's test-set figures from its predictions: the error with its binomial
standard error, the confusion matrix and the error of each class."""

from __future__ import annotations

import math

import numpy as np


def classification_results(labels, predicted, num_classes: int) -> dict:
    """Figures of predicted `[n]` against labels `[n]` (class indices).

    Returns a dict: test_error (the fraction misclassified), test_error_se (its binomial
    standard error sqrt(e (1 - e) / n)), images (n), confusion (`[num_classes,
    num_classes]` counts, row = true class, column = predicted), class_errors (`[num_classes]`,
    each class's fraction misclassified; NaN for a class absent from labels).
    """
    labels = np.asarray(labels, np.int64)
    predicted = np.asarray(predicted, np.int64)
    n = len(labels)
    error = float(np.mean(predicted != labels)) if n else float("nan")
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_errors = 1.0 - np.diag(confusion) / per_class
    return {
        "test_error": error,
        "test_error_se": math.sqrt(error * (1.0 - error) / n) if n else float("nan"),
        "images": n,
        "confusion": confusion,
        "class_errors": class_errors,
    }


def confusion_table(confusion: np.ndarray, class_errors: np.ndarray) -> str:
    """The confusion matrix as a Markdown table, each row with its class's error."""
    k = len(confusion)
    head = "| true \\ predicted | " + " | ".join(str(j) for j in range(k)) + " | error |"
    rule = "|" + " --- |" * (k + 2)
    rows = [
        f"| {i} | "
        + " | ".join(str(int(v)) for v in confusion[i])
        + f" | {100 * class_errors[i]:.2f}% |"
        for i in range(k)
    ]
    return "\n".join([head, rule, *rows])


def _percent(error) -> str:
    return "-" if error is None or np.isnan(error) else f"{100 * error:.2f}%"
