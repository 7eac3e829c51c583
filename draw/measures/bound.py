"""The test-set bound: -log p(x) <= L_x + L_z, one posterior sample per image, in nats."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from draw.measures.measure import Measure, forward_pass
from draw.registry import GENERATION

# The keys of every ELBO record; a variant's own metrics (Model II: L_c, accuracy) come after.
ELBO_KEYS = ("L_x", "L_z", "loss", "num_images", "seconds")


def evaluate_bound(model, batches, test_fn=None) -> dict:
    """Mean L_x, L_z and loss (and a variant's metrics) over every image of `batches`
    ((x, labels) pairs).

    test_fn: a compiled `model.test_step` (compiled here when None).
    """
    test_fn = test_fn or tf.function(model.test_step)
    for metric in model.metrics:
        metric.reset_state()
    for batch in batches:
        test_fn(batch)
    results = {m.name: float(m.result()) for m in model.metrics}
    for metric in model.metrics:
        metric.reset_state()
    return results


def seeded_elbo(model, images, batch_size: int, seed: int, labels=None) -> dict:
    """The bound L_x + L_z (and its terms), mean nats per image over images `[n, B, A, C]`,
    with the model's noise stream restarted at seed (one posterior sample per image).

    labels `[n]`: the images' classes, for a variant's own metrics (Model II's L_c and
    accuracy; reported only when given; "loss" is always the bound L_x + L_z).
    """
    started = time.perf_counter()
    model.noise_seed.state.assign(tf.constant([seed, 0], model.noise_seed.state.dtype))
    given = labels is not None
    labels = np.asarray(labels, np.int32) if given else np.zeros(len(images), np.int32)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    results = evaluate_bound(model, batches)
    results["loss"] = results["L_x"] + results["L_z"]
    if not given:
        for name in model.variant_metrics:
            results.pop(name)
    results.update(num_images=len(images), seconds=time.perf_counter() - started)
    return results


def _run(inputs, settings) -> dict:
    images, labels = inputs.test_split
    inputs.log(f"elbo: {len(images)} test images ...")
    return seeded_elbo(inputs.model, images, inputs.batch_size, inputs.seed, labels)


ELBO = Measure(
    "elbo", task=GENERATION, run=_run, flag="elbo", default=True, memory=forward_pass,
    title="the bound -log p(x) <= L_x + L_z on the test split (one posterior sample per image)",
    help="Test-set bound L_x + L_z (the measure taken when no other is chosen).",
    columns=(("elbo", "loss"), ("L_x", "L_x"), ("L_z", "L_z"), ("elbo_images", "num_images"),
             ("elbo_seconds", "seconds")),
    # A variant's metrics (Model II: L_c, accuracy).
    more_columns=lambda figures: {k: v for k, v in figures.items() if k not in ELBO_KEYS},
    chart={"elbo": "test-set bound L_x + L_z"},
)  # fmt: skip
