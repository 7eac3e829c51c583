"""The benchmark cases. Each returns a list of rows (dicts); bench.run runs each case
in a fresh process (so that first-step times and peak memory are the case's own) and
prints and stores the rows.

A row has `name` and `preset` and any of: ms (per iteration or per call), images_per_s,
gflop (per iteration, see bench/flops.py), gflops (achieved), matmul_gflops (the 1024^3
float32 matmul in the same process), matmul_fraction, speedup (over the plain port),
seconds, peak_rss_mb, note; bench.run adds threads (`threads_in_force`).
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from bench import flops, measure
from bench.plain import make_plain_train_step
from data import load_dataset, pipeline
from draw import distribute
from draw.config import make_config
from draw.errors import DrawError
from draw.evaluation import importance_sampled_nll, nearest_neighbours
from draw.training import make_optimizer
from models import build_model


@dataclasses.dataclass
class Sizes:
    """How long to measure, and the model overrides (none for the real benchmark)."""

    train_calls: dict  # preset -> iterations per repeat
    repeats: int = 3
    generate_images: int = 10000
    pipeline_batches: int = 200
    matmul_n: int = 1024
    nn_references: int = 60000
    iwae_k: int = 100
    iwae_images: int = 50
    overrides: dict = dataclasses.field(default_factory=dict)


FULL = Sizes(train_calls={"jang": 20, "paper_mnist": 4}, repeats=5)
# Tiny sizes for the smoke test: every row, in seconds.
QUICK = Sizes(
    train_calls={"jang": 2, "paper_mnist": 2},
    repeats=3,
    generate_images=50,
    pipeline_batches=3,
    matmul_n=128,
    nn_references=2000,
    iwae_images=2,
    overrides=dict(T=2, enc_size=8, dec_size=8, z_size=2, batch_size=10),
)


def threads_in_force() -> str:
    """TensorFlow's intra-op thread count in this process: "1", ..., or "all" (its default,
    one per logical CPU)."""
    return str(distribute.threads_in_force() or "all")


def _config(preset, sizes, **extra):
    return make_config(preset, **{**sizes.overrides, **extra})


def configure_threads(setting, config) -> None:
    """TensorFlow's threads as train.py sets them for `--intra_op_threads=setting`."""
    try:
        distribute.configure_threads(setting, config)
    except DrawError:  # --quick runs every case in one process: the first case's count stays
        pass


def _train_setup(config, data):
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, data.image_shape)
    optimizer = make_optimizer(config)
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    batches = pipeline.train_batches(data, config.batch_size, config.seed, config.binarize)
    return model, optimizer, next(iter(batches))


def _rates(config, data, seconds, matmul):
    gflop = flops.train_flops(config, data.image_shape, config.batch_size) / 1e9
    return dict(
        ms=seconds * 1e3,
        images_per_s=config.batch_size / seconds,
        gflop=gflop,
        gflops=gflop / seconds,
        matmul_gflops=matmul,
        matmul_fraction=gflop / seconds / matmul,
    )


def train(preset, sizes, jit_compile, plain=False, intra_op_threads=distribute.AUTO_THREADS):
    """The train step as train.py runs it (model.train_step compiled as draw/training.py
    compiles it, TensorFlow's threads set as train.py sets them for `--intra_op_threads`):
    time to the first step, then ms/iteration on a fixed batch; with plain=True also the
    plain port of bench/plain.py on the same model. The steps and the reference matmul
    are timed in turns (median of sizes.repeats turns), all with the same threads; peak
    memory is taken before the plain port is built."""
    config = _config(preset, sizes, jit_compile=jit_compile)
    configure_threads(intra_op_threads, config)
    data = load_dataset(config)
    model, optimizer, batch = _train_setup(config, data)
    label = f"train (jit_compile={jit_compile})"
    step = tf.function(model.train_step, jit_compile=jit_compile)
    first = measure.time_first_call(lambda: step(batch))
    rss = measure.peak_rss_mb()  # before the plain port adds its own graphs
    calls = sizes.train_calls[preset]
    fns = {"step": lambda: step(batch), "matmul": measure.matmul(sizes.matmul_n)}
    ncalls = {"step": calls, "matmul": 20}
    if plain:
        plain_step = make_plain_train_step(model, optimizer)
        plain_first = measure.time_first_call(lambda: plain_step(batch[0]))
        fns["plain"] = lambda: plain_step(batch[0])
        ncalls["plain"] = calls
    seconds = measure.interleaved_seconds_per_call(fns, ncalls, sizes.repeats)
    matmul = 2 * sizes.matmul_n**3 / seconds["matmul"] / 1e9
    rows = [
        dict(
            name=label,
            preset=preset,
            **_rates(config, data, seconds["step"], matmul),
            peak_rss_mb=rss,
        ),
        dict(name=f"first step (jit_compile={jit_compile})", preset=preset, seconds=first),
    ]
    if plain:
        rows[0]["speedup"] = seconds["plain"] / seconds["step"]
        rows.append(
            dict(
                name="train, plain tf.function port",
                preset=preset,
                **_rates(config, data, seconds["plain"], matmul),
                note=f"first step {plain_first:.1f} s; the yardstick (bench/plain.py)",
            )
        )
    return rows


def generate(preset, sizes, jit_compile, chunk=1000):
    """Stochastic generation of sizes.generate_images images (final canvases, as images),
    by a compiled decoder over chunks of `chunk` images, like generate.py's sampler."""
    config = _config(preset, sizes)
    data_shape = (28, 28, 1)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, data_shape)
    n = sizes.generate_images
    chunk = min(chunk, n)

    @tf.function(jit_compile=jit_compile)
    def sample():
        return tf.sigmoid(model.generate(chunk)["canvas"][-1])

    def sample_all():
        return [sample() for _ in range(0, n, chunk)][-1]

    first = measure.time_first_call(sample)
    seconds = measure.seconds_per_call(sample_all, 1, sizes.repeats, warmup=1)
    gflop = flops.generate_flops(config, data_shape, n) / 1e9
    return [
        dict(
            name=f"generate {n} images",
            preset=preset,
            seconds=seconds,
            images_per_s=n / seconds,
            gflop=gflop,
            gflops=gflop / seconds,
            peak_rss_mb=measure.peak_rss_mb(),
            note=f"first call {first:.1f} s; chunks of {chunk}",
        )
    ]


def data_pipeline(sizes):
    """Training batches (batch 100, dynamic binarization) delivered by tf.data alone."""
    config = make_config("jang")
    data = load_dataset(config)
    batches = iter(pipeline.train_batches(data, config.batch_size, config.seed, config.binarize))
    n = sizes.pipeline_batches

    def take():
        for _ in range(n - 1):
            next(batches)
        return next(batches)

    seconds = measure.seconds_per_call(take, 1, sizes.repeats, warmup=1)
    return [
        dict(
            name="data pipeline (tf.data)",
            preset="jang",
            ms=seconds / n * 1e3,
            images_per_s=n * config.batch_size / seconds,
            peak_rss_mb=measure.peak_rss_mb(),
            note="per batch of 100, dynamic binarization",
        )
    ]


def evaluation(sizes):
    """Nearest-neighbour search and the IWAE estimate (draw.evaluation)."""
    names = (
        f"NN search, 1000 samples x {sizes.nn_references:,}",
        f"IWAE estimate, K={sizes.iwae_k}",
    )
    config = _config("jang", sizes)
    data = load_dataset(config)
    train = data.train_images[: sizes.nn_references].astype(np.float32) / 255.0
    queries = np.random.default_rng(0).uniform(size=(1000, train[0].size)).astype(np.float32)
    flat = train.reshape(len(train), -1)
    search = measure.seconds_per_call(
        lambda: tf.constant(nearest_neighbours(queries, flat)[0]), 1, sizes.repeats, warmup=1
    )
    rows = [dict(name=names[0], preset="jang", seconds=search, peak_rss_mb=measure.peak_rss_mb())]
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, data.image_shape)
    images = pipeline.test_images(data, config.binarize)[: sizes.iwae_images]

    def iwae():
        result = importance_sampled_nll(model, images, sizes.iwae_k, seed=0, log=None)
        return tf.constant(result["nll"])

    seconds = measure.seconds_per_call(iwae, 1, sizes.repeats, warmup=1)
    rows.append(
        dict(
            name=names[1],
            preset="jang",
            seconds=seconds,
            images_per_s=len(images) / seconds,
            peak_rss_mb=measure.peak_rss_mb(),
            note=f"{len(images)} test images, untrained weights",
        )
    )
    return rows
