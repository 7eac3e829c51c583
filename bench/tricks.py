"""Benchmarks of the code's performance tricks, each against its alternative in the same
run: the alternative is written here (patched into the library only while a function is
traced), never by changing the library.

- filterbank_gradient: draw.attention.filterbank's hand-written gradient against autodiff
  of the same forward maths (the jang training step, and the filterbank alone).
- unroll: draw.model.run_steps unrolled in Python against a tf.while_loop, at several T
  (the training step: first step and ms per step).
- pipeline_memory: data.pipeline reading rows from the NumPy array (tf.numpy_function)
  against a tf.constant of the array, each in a fresh process (peak memory is per process).
- finite_check (a safety check's cost, not a trick): the training step with the check
  that the updated weights are finite (draw.train_step.all_finite) against the step
  without.

Times of a trick and its alternative are taken in interleaved turns
(bench.measure.interleaved_seconds_per_call), so a change of the machine's load hits both
alike; their ratio (the alternative's time over the trick's, above 1 when the trick wins)
is in each row's note.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys

import numpy as np
import tensorflow as tf

from bench import cases, measure
from draw import attention, distribute, train_step
from draw import model as draw_model
from draw.configure import make_config
from draw.data import load_dataset, pipeline
from draw.data.arrays import ImageData
from draw.errors import DrawError
from draw.train_step import TrainStep

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def patched(module, name, value):
    """module.name = value inside the block (for tracing an alternative), restored after."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def _quick(sizes) -> bool:
    """The smoke test's sizes override the model; the real benchmark's do not."""
    return bool(sizes.overrides)


def _setup(config):
    """A compiled model and one training batch, as bench.cases sets them (threads as
    train.py's default sets them: one per op for these small models on CPU)."""
    cases.configure_threads(distribute.AUTO_THREADS, config)
    model, _, batch = cases._train_setup(config, load_dataset(config))
    return model, batch


def _step_seconds(steps, batch, calls, sizes):
    """{name: seconds per call} of the compiled steps {name: function}, timed in turns."""
    fns = {name: (lambda s=step: s(batch)) for name, step in steps.items()}
    return measure.interleaved_seconds_per_call(fns, dict.fromkeys(fns, calls), sizes.repeats)


def _first_steps(model, batch, variants, sizes):
    """({name: median seconds of the first call of a fresh tf.function of the training
    step}, {name: the last such function}) for variants {name: context manager factory in
    which the step is traced}, in FIRST_STEP_TURNS turns after one discarded warm-up trace
    (the process's one-time costs); with --quick, one turn and no warm-up."""
    if not _quick(sizes):
        measure.time_first_call(lambda: TrainStep(model)(batch))
    firsts = {name: [] for name in variants}
    steps = {}
    for _ in range(1 if _quick(sizes) else FIRST_STEP_TURNS):
        for name, context in variants.items():
            with context():
                steps[name] = TrainStep(model)
                firsts[name].append(measure.time_first_call(lambda s=steps[name]: s(batch)))
    return {name: statistics.median(v) for name, v in firsts.items()}, steps


def _ratio_note(alternative, ratio, what="ms"):
    return f"{alternative}'s {what} / this: {ratio:.2f}x"


FIRST_STEP_TURNS = 2  # fresh traces of each variant, in turns; the median is kept

# 1. The filterbank's gradient.


def autodiff_filterbank(gx, gy, sigma2, delta, N, A, B, eps=1e-8):
    """draw.attention.filterbank's forward maths, differentiated by autodiff."""
    dtype = gx.dtype
    offsets = tf.range(1, N + 1, dtype=dtype)[tf.newaxis, :] - N / 2 - 0.5
    a = tf.range(1, A + 1, dtype=dtype)[tf.newaxis, tf.newaxis, :]
    b = tf.range(1, B + 1, dtype=dtype)[tf.newaxis, tf.newaxis, :]
    two_sigma2 = 2.0 * sigma2[:, :, tf.newaxis]

    def normalised(pixels, g):
        mu = g + offsets * delta
        u = pixels - mu[:, :, tf.newaxis]
        E = tf.exp(-tf.square(u) / two_sigma2)
        return E / tf.maximum(tf.reduce_sum(E, axis=2, keepdims=True), eps)

    return normalised(a, gx), normalised(b, gy)


def _filterbank_alone(bank, batch, N, A, B):
    """A compiled forward and backward pass of `bank` on a batch of random windows."""
    rng = np.random.default_rng(0)
    params = [
        tf.constant(rng.uniform(low, high, (batch, 1)), tf.float32)
        for low, high in ((5, 24), (5, 24), (0.5, 4.0), (0.5, 3.0))
    ]
    wx = tf.constant(rng.normal(size=(batch, N, A)), tf.float32)
    wy = tf.constant(rng.normal(size=(batch, N, B)), tf.float32)

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(params)
            Fx, Fy = bank(*params, N, A, B)
            loss = tf.reduce_sum(wx * Fx) + tf.reduce_sum(wy * Fy)
        return tape.gradient(loss, params)

    return forward_backward


def filterbank_gradient(sizes):
    """The jang training step with the hand-written filterbank gradient and with autodiff
    (the same model, weights and batch; each step traced with its filterbank), and the
    filterbank's forward and backward alone (batch 100, 5x5 on 28x28)."""
    config = make_config("jang", **sizes.overrides)
    model, batch = _setup(config)
    variants = {
        "hand-written": contextlib.nullcontext,
        "autodiff": lambda: patched(attention, "filterbank", autodiff_filterbank),
    }
    firsts, steps = _first_steps(model, batch, variants, sizes)
    calls = sizes.train_calls["jang"]
    seconds = _step_seconds(steps, batch, calls, sizes)
    alone = {
        "hand-written": _filterbank_alone(attention.filterbank, 100, 5, 28, 28),
        "autodiff": _filterbank_alone(autodiff_filterbank, 100, 5, 28, 28),
    }
    alone_seconds = measure.interleaved_seconds_per_call(
        alone, dict.fromkeys(alone, 50 * calls), sizes.repeats
    )
    ratio = seconds["autodiff"] / seconds["hand-written"]
    alone_ratio = alone_seconds["autodiff"] / alone_seconds["hand-written"]
    rows = []
    for what, times, ratio_, note in (
        ("train", seconds, ratio, lambda name: f"first step {firsts[name]:.2f} s"),
        ("filterbank alone", alone_seconds, alone_ratio,
         lambda name: "forward and backward, batch 100, N=5, 28x28"),
    ):  # fmt: skip
        for name in times:
            extra = "; " + _ratio_note("autodiff", ratio_) if name == "hand-written" else ""
            row = dict(name=f"trick: filterbank gradient {name}, {what}", preset="jang",
                       ms=times[name] * 1e3, note=note(name) + extra)  # fmt: skip
            if what == "train":
                row["images_per_s"] = config.batch_size / times[name]
            rows.append(row)
    return rows


# 2. Unrolling the T loop.

UNROLL_SETTINGS = [("jang", 10), ("jang", 16), ("jang", 32), ("paper_mnist", 64)]


LOOPS = {"unrolled": 10**6, "while_loop": 0}  # draw.model.UNROLL_MAX_T for each


def unroll(sizes):
    """The training step with the T loop unrolled in Python and in a tf.while_loop
    (draw.model.UNROLL_MAX_T patched while each step is traced), for each of
    UNROLL_SETTINGS: the first step (a fresh trace, in turns; median of FIRST_STEP_TURNS)
    and ms per step."""
    rows = []
    settings = [("jang", sizes.overrides["T"])] if _quick(sizes) else UNROLL_SETTINGS
    for preset, T in settings:
        config = make_config(preset, **{**sizes.overrides, "T": T})
        model, batch = _setup(config)
        variants = {
            name: (lambda m=max_t: patched(draw_model, "UNROLL_MAX_T", m))
            for name, max_t in LOOPS.items()
        }
        first, steps = _first_steps(model, batch, variants, sizes)
        calls = max(1, sizes.train_calls["jang"] * 10 // T) if not _quick(sizes) else 2
        seconds = _step_seconds(steps, batch, calls, sizes)
        for name in LOOPS:
            other = "while_loop" if name == "unrolled" else "unrolled"
            rows.append(
                dict(
                    name=f"trick: T loop {name}, T={T}",
                    preset=preset,
                    ms=seconds[name] * 1e3,
                    seconds=first[name],
                    images_per_s=config.batch_size / seconds[name],
                    note=f"s: first step; {_ratio_note(other, seconds[other] / seconds[name])}, "
                    f"{_ratio_note(other, first[other] / first[name], 'first step')}",
                )
            )
    return rows


# 2b. The finite check of the updated weights (not a trick: a safety check's cost).


def finite_check(sizes):
    """The jang training step with the check that the updated weights and Adam's moments
    are finite (draw.train_step.all_finite) against the same step traced without it."""
    config = make_config("jang", **sizes.overrides)
    model, batch = _setup(config)
    variants = {
        "checked": contextlib.nullcontext,
        "unchecked": lambda: patched(train_step, "all_finite", lambda _: tf.constant(True)),
    }
    first, steps = _first_steps(model, batch, variants, sizes)
    seconds = _step_seconds(steps, batch, 2 if _quick(sizes) else 50, sizes)
    ratio = seconds["checked"] / seconds["unchecked"]
    return [
        dict(
            name=f"train step {name} finite-weights check",
            preset="jang",
            ms=seconds[key] * 1e3,
            note=f"with / without: {ratio:.3f}x" if key == "checked" else "",
        )
        for key, name in (("checked", "with the"), ("unchecked", "without the"))
    ]


# 3. The pipeline's rows: from the NumPy array, or from a tf.constant of it.

SVHN_TRAIN_SHAPE = (73257, 32, 32, 3)


def _eager_constant_rows():
    """A `_rows` that gathers from a tf.constant of the array, made once per array."""
    constants = {}

    def rows(array, index):
        if id(array) not in constants:
            with tf.init_scope():
                constants[id(array)] = (array, tf.constant(array))
        return tf.gather(constants[id(array)][1], index)

    return rows


def _graph_constant_rows(array, index):
    """A `_rows` that puts the array into the dataset's graph as a constant."""
    return tf.gather(tf.constant(array), index)


ROWS_VARIANTS = {
    "numpy_function": None,  # the library's
    "eager tf.constant": _eager_constant_rows,
    "tf.constant in the graph": lambda: _graph_constant_rows,
}


def _synthetic_svhn(count) -> ImageData:
    """Random uint8 images of SVHN's shape (`count` training images; 32x32 RGB)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, *SVHN_TRAIN_SHAPE[1:]), dtype=np.uint8)
    labels = np.zeros(count, np.int32)
    return ImageData("synthetic_svhn", images, labels, images[:100], labels[:100])


def pipeline_run(variant, source, batches, count=SVHN_TRAIN_SHAPE[0]) -> dict:
    """In this process: the training pipeline over `source` ("mnist", or "svhn_shape": a
    synthetic uint8 array of `count` x 32x32x3) with `_rows` as `variant`; peak resident
    MB before the pipeline is built (data loaded, TensorFlow started) and after `batches`
    batches, and batches per second."""
    tf.constant(0.0).numpy()  # starts TensorFlow's runtime before the baseline
    if source == "mnist":
        data, binarize = load_dataset(make_config("jang")), "dynamic"
    else:
        data, binarize = _synthetic_svhn(count), "none"
    before = measure.peak_rss_mb()
    rows = ROWS_VARIANTS[variant]
    with patched(pipeline, "_rows", rows() if rows else pipeline._rows):
        dataset = pipeline.train_batches(data, 100, 0, binarize)
    iterator = iter(dataset)
    next(iterator)
    seconds = measure.seconds_per_call(lambda: next(iterator)[0], batches, 1, warmup=0)
    return dict(
        before_mb=before,
        peak_mb=measure.peak_rss_mb(),
        batches_per_s=1 / seconds,
        array_mb=data.train_images.nbytes / 2**20,
    )


def _pipeline_in_fresh_process(variant, source, batches) -> dict:
    command = [sys.executable, "-m", "bench.tricks", variant, source, str(batches)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise DrawError(f"pipeline case {variant} on {source} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def pipeline_memory(sizes):
    """Peak resident memory and batches/s of the training pipeline with each `_rows` of
    ROWS_VARIANTS, each in a fresh process, on MNIST (dynamic binarization) and on a
    synthetic uint8 array of SVHN's training shape (no binarization). With --quick: in this
    process, on a small synthetic array (the memory figures then mean nothing)."""
    rows = []
    sources = ["mnist", "svhn_shape"]
    for source in sources:
        results = {}
        for variant in ROWS_VARIANTS:
            if _quick(sizes):
                results[variant] = pipeline_run(variant, source, sizes.pipeline_batches, 500)
            else:
                results[variant] = _pipeline_in_fresh_process(
                    variant, source, sizes.pipeline_batches
                )
        base = results["numpy_function"]
        for variant, r in results.items():
            added = r["peak_mb"] - r["before_mb"]
            note = (
                f"array {r['array_mb']:.0f} MB; peak before the pipeline {r['before_mb']:,.0f}"
                f" MB, added {added:,.0f} MB; {r['batches_per_s']:,.0f} batches/s"
            )
            if variant != "numpy_function":
                note += f"; this peak / numpy_function's: {r['peak_mb'] / base['peak_mb']:.2f}x"
            rows.append(
                dict(
                    name=f"trick: pipeline rows by {variant}, {source}",
                    preset="jang" if source == "mnist" else "svhn shape",
                    ms=1e3 / r["batches_per_s"],
                    peak_rss_mb=r["peak_mb"],
                    note=note,
                )
            )
    return rows


if __name__ == "__main__":
    # python -m bench.tricks VARIANT SOURCE BATCHES [COUNT]: one pipeline_run, as JSON.
    variant, source, batches, *count = sys.argv[1:]
    print(json.dumps(pipeline_run(variant, source, int(batches), *map(int, count))))
