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
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from bench import flops, measure, write_svhn_files
from bench.plain import make_plain_train_step
from draw import distribute
from draw.configure import make_config
from draw.data import load_dataset, pipeline
from draw.errors import DrawError
from draw.measures.iwae import importance_sampled_nll
from draw.measures.nearest_neighbour import nearest_neighbours
from draw.models import build_model
from draw.run_dir import RunDir
from draw.sampling import Sampler, make_generator, prior_latents
from draw.train_step import TrainStep
from draw.training import Trainer, make_optimizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
    logical_cpus: int = 2  # of train_mirrored
    svhn_images: dict = dataclasses.field(default_factory=lambda: dict(write_svhn_files.SIZES))
    svhn_iters: int = 40  # of train_svhn_files, progress every svhn_window iterations
    svhn_window: int = 10
    overrides: dict = dataclasses.field(default_factory=dict)
    classifier_overrides: dict = dataclasses.field(default_factory=dict)
    generator_batches: int = 50


FULL = Sizes(train_calls={"jang": 20, "paper_mnist": 4, "cluttered_mnist": 10}, repeats=5)
# Tiny sizes for the smoke test: every row, in seconds.
QUICK = Sizes(
    train_calls={"jang": 2, "paper_mnist": 2, "cluttered_mnist": 2},
    repeats=3,
    generate_images=50,
    pipeline_batches=3,
    matmul_n=128,
    nn_references=2000,
    iwae_images=2,
    svhn_images={"train_32x32.mat": 200, "test_32x32.mat": 50},
    svhn_iters=4,
    svhn_window=2,
    overrides=dict(T=2, enc_size=8, dec_size=8, z_size=2, batch_size=10),
    classifier_overrides=dict(T=2, dec_size=8, batch_size=10),
    generator_batches=2,
)


def threads_in_force() -> str:
    """TensorFlow's intra-op thread count in this process: "1", ..., or "all" (its default,
    one per logical CPU)."""
    return str(distribute.threads_in_force() or "all")


def _config(preset, sizes, **extra):
    overrides = sizes.classifier_overrides if preset == "cluttered_mnist" else sizes.overrides
    return make_config(preset, **{**overrides, **extra})


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
    """The train step as train.py runs it (draw.train_step.TrainStep, compiled as
    draw/training.py compiles it, TensorFlow's threads set as train.py sets them for
    `--intra_op_threads`): time to the first step, then ms/iteration on a fixed batch;
    with plain=True also the plain port of bench/plain.py on the same model. The steps and
    the reference matmul are timed in turns (median of sizes.repeats turns), all with the
    same threads; peak memory is taken before the plain port is built."""
    config = _config(preset, sizes, jit_compile=jit_compile)
    configure_threads(intra_op_threads, config)
    data = load_dataset(config)
    model, optimizer, batch = _train_setup(config, data)
    label = f"train (jit_compile={jit_compile})"
    step = TrainStep(model, jit_compile=jit_compile)
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


def generate(preset, sizes, chunk=1000):
    """Stochastic generation as evaluate.py --nn-nll runs it: the final canvases (logits)
    of sizes.generate_images prior samples by draw.sampling's Sampler (one compiled
    decoder over chunks of `chunk` images, the one generate.py's modes run too, keeping
    every step's canvas). The first call (tracing), then
    the median of sizes.repeats calls in wall-clock seconds, and their mean CPU seconds
    (summed over TensorFlow's threads; on a shared machine the wall-clock time also counts
    the other processes)."""
    config = _config(preset, sizes)
    data_shape = (28, 28, 1)
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, data_shape)
    n = sizes.generate_images
    sampler = Sampler(model, batch=min(chunk, n))
    z = prior_latents(make_generator(config.seed), config.T, n, config.z_size)
    first = measure.time_first_call(lambda: sampler.final_logits(z[:, : sampler.batch]))
    cpu = time.process_time()
    seconds = measure.seconds_per_call(lambda: sampler.final_logits(z), 1, sizes.repeats, 1)
    cpu = (time.process_time() - cpu) / (sizes.repeats + 1)
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
            note=f"first call {first:.1f} s; chunks of {sampler.batch}; CPU {cpu:.2f} s a call",
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


def cluttered_generator(sizes):
    """The cluttered-MNIST generator (data.cluttered) against the classifier's training
    step in one process: images/s of the NumPy generator alone, of the tf.data pipeline
    that serves it to train.py (one thread of its own), and of the 8-glimpse training step
    (cluttered_mnist preset, train.py's threads); the note gives the generator's rate over
    the step's."""
    config = _config("cluttered_mnist", sizes)
    configure_threads(distribute.AUTO_THREADS, config)
    data = load_dataset(config)
    model, _, batch = _train_setup(config, data)
    step = TrainStep(model)
    step(batch)
    n, size = sizes.generator_batches, config.batch_size
    stream = iter(pipeline.train_batches(data, size, config.seed, config.binarize))
    counter = iter(range(10**9))

    def through_pipeline():
        for _ in range(n):
            next(stream)

    fns = {
        "numpy": lambda: [data.train_batch(config.seed, next(counter), size) for _ in range(n)],
        "pipeline": through_pipeline,
        "step": lambda: step(batch),
    }
    seconds = measure.interleaved_seconds_per_call(
        fns, {"numpy": 1, "pipeline": 1, "step": 5}, sizes.repeats
    )
    step_rate = size / seconds["step"]
    rows = []
    for name, label in (("numpy", "NumPy, one thread"), ("pipeline", "tf.data, as train.py")):
        rate = n * size / seconds[name]
        rows.append(
            dict(
                name=f"cluttered generator ({label})",
                preset="cluttered_mnist",
                ms=seconds[name] / n * 1e3,
                images_per_s=rate,
                note=f"{rate / step_rate:.1f}x the training step's {step_rate:.0f} images/s",
            )
        )
    return rows


def evaluation(sizes):
    """Nearest-neighbour search and the IWAE estimate (draw.measures)."""
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
    note = "uniform random queries; images/s: queries per second"
    rows = [_per_call_row(names[0], search, len(queries), note)]
    keras.utils.set_random_seed(config.seed)
    model = build_model(config, data.image_shape)
    images = pipeline.test_images(data, config.binarize)[: sizes.iwae_images]

    def iwae():
        result = importance_sampled_nll(model, images, sizes.iwae_k, seed=0, log=None)
        return tf.constant(result["nll"])

    seconds = measure.seconds_per_call(iwae, 1, sizes.repeats, warmup=1)
    note = f"{len(images)} test images, untrained weights"
    return rows + [_per_call_row(names[1], seconds, len(images), note)]


def _per_call_row(name, seconds, images, note):
    """A jang row of seconds per call on `images` images, with the peak memory so far."""
    return dict(
        name=name,
        preset="jang",
        seconds=seconds,
        images_per_s=images / seconds,
        peak_rss_mb=measure.peak_rss_mb(),
        note=note,
    )


def train_mirrored(sizes):
    """Training as train.py runs it under `--strategy` (draw.training.Trainer's compiled
    step on batches split by draw.distribute) without a strategy, and under a
    MirroredStrategy over 1 and over sizes.logical_cpus logical CPU devices, timed in turns
    in one process, with train.py's threads. The logical devices share the machine's cores:
    this measures the strategy's overhead on CPU, not a speed-up (that needs GPUs or
    machines). The CPU is split before TensorFlow starts, which needs the case's own
    process (bench.run's default); in a process where TensorFlow has started (--quick) the
    MirroredStrategy runs over the logical CPUs there are."""
    config = _config("jang", sizes)
    configure_threads(distribute.AUTO_THREADS, config)
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        logical = [tf.config.LogicalDeviceConfiguration()] * sizes.logical_cpus
        tf.config.set_logical_device_configuration(cpu, logical)
    except RuntimeError:  # TensorFlow has started: its devices stay as they are
        pass
    devices = [d.name for d in tf.config.list_logical_devices("CPU")][: sizes.logical_cpus]
    strategies = {"no strategy": None}
    for k in sorted({1, len(devices)}):
        label = f"MirroredStrategy over {k} logical CPU" + "s" * (k > 1)
        strategies[label] = tf.distribute.MirroredStrategy(devices[:k])
    data = load_dataset(config)
    fns = {}
    with tempfile.TemporaryDirectory() as folder:
        for label, strategy in strategies.items():
            run = RunDir(os.path.join(folder, str(len(fns))))
            trainer = Trainer(config, run, data, log=lambda *_: None, strategy=strategy)
            batches = distribute.distribute_train_batches(
                trainer.strategy,
                lambda: pipeline.train_batches(
                    data, config.batch_size, config.seed, config.binarize
                ),
                config.batch_size,
            )
            iterator = iter(batches)
            fns[label] = lambda t=trainer, b=iterator: t.train_fn(next(b))
        calls = {label: sizes.train_calls["jang"] for label in fns}
        seconds = measure.interleaved_seconds_per_call(fns, calls, sizes.repeats)
    base = seconds["no strategy"]
    return [
        dict(
            name=f"train, {label}",
            preset="jang",
            ms=seconds[label] * 1e3,
            images_per_s=config.batch_size / seconds[label],
            peak_rss_mb=measure.peak_rss_mb(),
            note=f"draw.training.Trainer's step; ms / no strategy's: {seconds[label] / base:.2f}x",
        )
        for label in fns
    ]


def train_svhn_files(sizes):
    """train.py --dataset=svhn --preset=paper_svhn on files in SVHN's layout and size
    (sizes.svhn_images; bench/write_svhn_files.py writes them to a temporary folder), in a
    fresh process, for sizes.svhn_iters iterations with a progress line every
    sizes.svhn_window: the seconds to the first progress line (start-up, loading, tracing
    and the first window), the seconds per iteration of the windows after it (timed between
    progress lines), the whole run's wall time (with the final test-set bound over every
    test image) and the training process's peak resident memory."""
    window = sizes.svhn_window
    overrides = [f"--{name}={value}" for name, value in sizes.overrides.items()]
    batch = sizes.overrides.get("batch_size", make_config("paper_svhn").batch_size)
    with tempfile.TemporaryDirectory(prefix="svhn_bench_") as folder:
        data_dir = os.path.join(folder, "svhn")
        write_svhn_files.write(data_dir, sizes.svhn_images, log=lambda *_: None)
        command = [
            sys.executable,
            os.path.join(REPO, "train.py"),
            "--dataset=svhn",
            "--preset=paper_svhn",
            f"--data_dir={data_dir}",
            f"--logdir={os.path.join(folder, 'run')}",
            f"--train_iters={sizes.svhn_iters}",
            f"--log_every={window}",
            *overrides,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env
        )
        progress = []  # seconds since the start of each progress line
        for line in process.stdout:
            if re.match(r"step\s+\d+/", line):
                progress.append(time.perf_counter() - started)
        error = process.stderr.read()
        status = process.wait()
        wall = time.perf_counter() - started
    if status != 0 or len(progress) < 2:
        raise DrawError(f"train.py on SVHN files failed (exit status {status}): {error[-2000:]}")
    per_iteration = (progress[-1] - progress[0]) / (window * (len(progress) - 1))
    images = sizes.svhn_images
    return [
        dict(
            name=f"train.py on SVHN files, {sizes.svhn_iters} iterations",
            preset="paper_svhn",
            ms=per_iteration * 1e3,
            seconds=wall,
            images_per_s=batch / per_iteration,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            note=(
                f"{images['train_32x32.mat']:,} + {images['test_32x32.mat']:,} images; "
                f"first progress line after {progress[0]:.1f} s; ms: the windows after it; "
                "s: the whole run; peak MB: train.py's"
            ),
        )
    ]
