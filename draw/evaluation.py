"""The test-set variational bound, -log p(x) <= L_x + L_z, in nats per image."""

from __future__ import annotations


def evaluate_bound(model, batches, test_fn=None) -> dict:
    """Mean L_x, L_z and loss over every image of `batches` ((x, labels) pairs).

    test_fn: a compiled `model.test_step` (compiled here when None).
    """
    import tensorflow as tf

    test_fn = test_fn or tf.function(model.test_step)
    for metric in model.metrics:
        metric.reset_state()
    for batch in batches:
        test_fn(batch)
    results = {m.name: float(m.result()) for m in model.metrics}
    for metric in model.metrics:
        metric.reset_state()
    return results
