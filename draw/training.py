"""The training loop: compiled steps, progress lines, TensorBoard, checkpoints, resume.

The loop is a plain Python loop over compiled training steps (draw.train_step: one call
per iteration; the T-step recurrence is inside the compiled function), so that the step
counter, the checkpoints and the data stream stay under exact control: training batch s
is a pure function of (seed, s) (see data.pipeline), and the checkpoint holds the model,
the optimizer and the step, so a resumed run continues exactly where the last
checkpoint left it.

Faults: SIGINT/SIGTERM stop the loop at the next step boundary, save and raise
`Interrupted`; a step whose loss or gradients are not finite is not applied, and stops the
run (DrawError naming the step and the last good checkpoint) or, with skip_nonfinite, is
skipped and counted; a checkpoint or summary that cannot be written (disk full, read-only
folder) is a DrawError, and the checkpoints already written stay as they were.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from draw import distribute
from draw.config import hparam_fields
from draw.configure import choices
from draw.data import pipeline
from draw.errors import DrawError, Interrupted, first_line
from draw.figures import drawing_picture, glimpse_picture, image_grid
from draw.measures.bound import evaluate_bound
from draw.models import MODELS, build_model, check_data, task_of
from draw.progress import format_duration, print_now
from draw.registry import CLASSIFICATION
from draw.run_dir import (
    RunDir,
    RunLock,
    from_tf_path,
    listed_checkpoints,
    load_weights,
    restore_newest,
    tf_path,
)
from draw.train_step import TrainStep, forward, test_step

NUM_SUMMARY_IMAGES = 64
NUM_DRAWING_IMAGES = 8  # test images whose drawing, step by step, goes to TensorBoard
# What the HParams dashboard compares runs by: the final test-set figures (RUN/test) and
# the last training loss (RUN/train).
HPARAMS_METRICS = [
    hparams_api.Metric("loss", group="test", display_name="test bound L_x + L_z (nats)"),
    hparams_api.Metric("L_x", group="test", display_name="test L_x (nats)"),
    hparams_api.Metric("L_z", group="test", display_name="test L_z (nats)"),
    hparams_api.Metric("loss", group="train", display_name="training loss (nats)"),
    hparams_api.Metric("accuracy", group="test", display_name="test accuracy (classifiers)"),
]


def write_configuration(config, run_name: str) -> None:
    """The run's configuration, with the default summary writer: through the HParams
    plugin as the trial `run_name` (config.hparam_fields: the fields that define the model
    and its training, not paths, logging or devices, in DrawConfig's order; the metrics
    are HPARAMS_METRICS) and every field as a text table."""
    values = dataclasses.asdict(config)
    domains = {}
    for name in hparam_fields():
        domain = hparams_api.Discrete(list(choices(name))) if choices(name) else None
        domains[name] = hparams_api.HParam(name, domain)
    hparams_api.hparams_config(hparams=list(domains.values()), metrics=HPARAMS_METRICS)
    hparams_api.hparams({domains[k]: values[k] for k in domains}, trial_id=run_name)
    rows = "\n".join(f"| {k} | {v!r} |" for k, v in values.items())
    tf.summary.text("config", f"| field | value |\n|---|---|\n{rows}", step=0)


def trial_name(run_path: str) -> str:
    """The run's name in the HParams dashboard, which merges the runs of one name: its
    path relative to the current folder when inside it (runs/a/seed0), else absolute."""
    path = os.path.abspath(run_path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # Windows: another drive
        return path
    outside = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return path if outside else relative


def make_optimizer(config) -> keras.optimizers.Optimizer:
    """Adam with each variable's gradient clipped to norm config.clipnorm (Keras' clipnorm;
    under a tf.distribute strategy, TrainStep clips the gradients summed over the replicas).
    beta_2 is 0.999, as in TensorFlow 1 and Keras."""
    return keras.optimizers.Adam(
        learning_rate=config.learning_rate,
        beta_1=config.beta_1,
        epsilon=config.adam_epsilon,
        clipnorm=config.clipnorm,
    )


def _extra_metrics(values: dict, names: list[str]) -> str:
    """A variant's own metrics (Model II: L_c, accuracy) for the progress lines."""
    extra = [f"{name} {values[name]:.3f}" for name in names if name in values]
    return "  " + "  ".join(extra) if extra else ""


class Trainer:
    """Trains config's model on data in the run directory run.

    strategy: the tf.distribute strategy to train under (default: the one of
    config.strategy, see draw.distribute); the model, optimizer and metrics are created
    under it, and only its chief writes files.
    restore_from_previous: resume from the newest checkpoint that reads when the newest
    one does not (otherwise that is a DrawError).
    overwrite: start the run afresh, deleting the one in run (train() does it, once it
    holds the run's lock).
    initial_weights: a .weights.h5 file (a shipped model's) the model starts from when the
    run has no checkpoint yet; the optimizer and the step start afresh.

    Everything that can be checked is checked here, before train() touches any file: the
    data against the stored run, the batch size, the strategy, the memory training needs.
    """

    def __init__(
        self,
        config,
        run: RunDir,
        data,
        stored_image_shape=None,
        log=print_now,
        strategy=None,
        restore_from_previous=False,
        overwrite=False,
        initial_weights="",
    ):
        if stored_image_shape is not None and tuple(stored_image_shape) != data.image_shape:
            raise DrawError(
                f"the run in {run.path} was trained on images {tuple(stored_image_shape)}, "
                f"but {config.dataset} gives {data.image_shape}"
            )
        if config.batch_size > len(data.train_images):
            raise DrawError(
                f"--batch_size={config.batch_size} exceeds the {len(data.train_images)} "
                f"training images of {config.dataset}"
            )
        self.config, self.run, self.data, self.log = config, run, data, log
        self.strategy = strategy or distribute.make_strategy(config)
        distribute.per_replica_batch_size(config.batch_size, self.strategy)
        distribute.check_jit_compile(config.jit_compile, self.strategy)
        self.chief = distribute.is_chief(self.strategy)
        self.restore_from_previous, self.overwrite = restore_from_previous, overwrite
        self.initial_weights = initial_weights
        self.last_good = None  # the newest checkpoint known to be complete
        self.new_run = stored_image_shape is None  # (--overwrite included)
        self.config_stored = False  # whether this invocation has stored its config.json
        self.replaced = None  # with --overwrite: the old run, moved aside (RunDir.clear)
        if self.chief:
            run.check_entries()
        check_data(config, data)
        distribute.check_training(config, data.image_shape, self.strategy.num_replicas_in_sync)
        keras.utils.set_random_seed(config.seed)  # the initial weights follow the seed
        with self.strategy.scope():
            self.model = build_model(config, data.image_shape)
            self.optimizer = make_optimizer(config)
            self.model.compile(optimizer=self.optimizer)
            self.optimizer.build(self.model.trainable_variables)
            if initial_weights:  # read now: a file that does not load stops before any write
                load_weights(self.model, initial_weights)
        # Outside the strategy: a plain variable, as only the Python loop uses it.
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint = tf.train.Checkpoint(
            model=self.model, optimizer=self.optimizer, step=self.step
        )
        self.checkpoint_dir = distribute.WorkerCheckpointDir(self.strategy, run.checkpoint_dir)
        self.manager = None  # made by train(), which may first delete an old run
        # Every model computation runs on the replicas (strategy.run), each replica with its
        # slice of the global batch's noise; results are replica 0's (the metrics are read
        # separately, aggregated).
        jit = config.jit_compile
        self.train_fn = TrainStep(self.model, self.strategy, jit)
        on_replicas = functools.partial(distribute.replica_function, self.strategy)
        self.test_fn = on_replicas(functools.partial(test_step, self.model), jit)
        self.reconstruct_fn = on_replicas(
            lambda x: tf.sigmoid(forward(self.model, x)["canvas"][-1]), jit
        )
        self.drawing_fn = on_replicas(
            lambda x: {
                k: tf.sigmoid(v) if k == "canvas" else v
                for k, v in forward(self.model, x).items()
                if k in ("canvas", "read_window", "write_window")
            },
            jit,
        )
        self.glimpse_fn = on_replicas(lambda x: forward(self.model, x)["read_window"], jit)
        self.sample_fn = on_replicas(
            lambda: tf.sigmoid(self.model.generate(NUM_SUMMARY_IMAGES)["canvas"][-1]), jit
        )

    def restore_latest(self) -> int:
        """Restores the newest checkpoint, if any; returns the step reached."""
        paths = listed_checkpoints(self.run.checkpoint_dir, self.restore_from_previous)
        latest = None  # the chief's
        if paths:
            latest = restore_newest(
                self.checkpoint,
                paths,
                self.restore_from_previous,
                self.log,
                variables=self.model.weights + self.optimizer.variables,
            )
            # A learning rate given for this invocation replaces the stored one.
            self.optimizer.learning_rate.assign(self.config.learning_rate)
            self.log(f"resumed from {latest} at step {int(self.step)}")
        elif self.initial_weights:  # loaded by __init__
            self.log(f"starting from the weights {self.initial_weights}")
        self.saved_step = int(self.step) if latest else None
        self.last_good = latest
        return int(self.step)

    def _last_good_text(self) -> str:
        if self.last_good:
            return f"the last good checkpoint is {self.last_good}"
        return "no checkpoint was saved yet"

    def save(self) -> str:
        """Saves a checkpoint of the current step; DrawError if it cannot be written (the
        checkpoint list still names only complete checkpoints).

        The invocation's configuration is stored with its first checkpoint: a new run's
        config.json before it, an existing run's after it (so a failed invocation leaves
        the stored values as they were); an old run replaced by --overwrite is deleted
        once that checkpoint is saved."""
        store = self.chief and not self.config_stored
        if store and self.new_run:
            self.run.write(self.config, self.data.image_shape)
        try:
            path = self.manager.save(checkpoint_number=int(self.step))
            self.checkpoint_dir.after_save()
        except (tf.errors.OpError, OSError) as e:
            raise DrawError(
                f"cannot save a checkpoint in {self.run.checkpoint_dir}: {first_line(e)}; "
                f"{self._last_good_text()}"
            ) from None
        path = from_tf_path(path, self.run.checkpoint_dir)
        self.saved_step, self.last_good = int(self.step), path
        if store:
            if not self.new_run:
                self.run.write(self.config, self.data.image_shape)
            self.config_stored = True
            RunDir.discard(self.replaced)
            self.replaced = None
        return path

    @contextlib.contextmanager
    def _writing(self, folder):
        """Turns a failure to write TensorBoard events in folder into one DrawError."""
        try:
            yield
        except (tf.errors.OpError, OSError) as e:
            raise DrawError(
                f"cannot write TensorBoard events in {folder}: {first_line(e)}; "
                f"{self._last_good_text()}"
            ) from None

    def train(self) -> dict:
        """Trains to config.train_iters and returns the test-set bound of the result.

        The chief holds the run's lock (draw.run_dir.RunLock) throughout: a second trainer
        on the same run directory is refused at once."""
        if not self.chief:
            return self._train()
        created = not os.path.lexists(self.run.path)
        try:
            with RunLock(self.run.path):
                self.run.remove_leftovers()
                if self.overwrite:
                    self.replaced = self.run.clear()
                try:
                    return self._train()
                except BaseException:
                    if self.new_run and not self.config_stored:
                        # Nothing of the new run was saved: the old run (or nothing) again.
                        self.run.put_back(self.replaced)
                    raise
        finally:
            if created and not self.config_stored:
                with contextlib.suppress(OSError):
                    os.rmdir(self.run.path)  # a failed start leaves no empty folder

    def _train(self) -> dict:
        config = self.config
        if self.chief:
            os.makedirs(self.checkpoint_dir.path, exist_ok=True)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint,
            tf_path(self.checkpoint_dir.path),
            max_to_keep=config.keep_checkpoints,
            step_counter=self.step,
        )
        start = self.restore_latest()
        test_batches = distribute.distribute_batches(
            self.strategy, pipeline.test_batches(self.data, config.batch_size, config.binarize)
        )
        summary_images = pipeline.test_images(self.data, config.binarize, count=NUM_SUMMARY_IMAGES)
        with self._writing(self.run.path):
            train_writer, test_writer, run_writer = (
                tf.summary.create_file_writer(self.run.events_dir(name))
                if self.chief
                else tf.summary.create_noop_writer()
                for name in ("train", "test", "")
            )
            with run_writer.as_default():
                write_configuration(config, trial_name(self.run.path))
            run_writer.close()
        if start >= config.train_iters:
            self.log(f"the run is already at step {start} >= --train_iters={config.train_iters}")
        else:
            self.log(
                f"training {config.dataset} ({self.data.source}) {self.data.image_shape} "
                f"from step {start} to {config.train_iters} in {self.run.path}"
            )
            batches = distribute.distribute_train_batches(
                self.strategy,
                lambda: pipeline.train_batches(
                    self.data, config.batch_size, config.seed, config.binarize, start_step=start
                ).take(config.train_iters - start),
                config.batch_size,
            )
            self.test_batches, self.test_writer = test_batches, test_writer  # for classifiers
            with StopSignals() as stop:
                self._loop(batches, train_writer, summary_images, stop)
                if self.saved_step != int(self.step) and int(self.step) > 0:
                    self.save()
                with self._writing(self.run.events_dir("train")):
                    train_writer.flush()
                if stop.received:
                    raise Interrupted(
                        f"stopped by {stop.name} at step {int(self.step)}; "
                        f"{self._last_good_text()}; run the same command to resume",
                        stop.received,
                    )
        if getattr(self, "tested", (None,))[0] == int(self.step):  # a classifier's, just now
            return self.tested[1]
        results = evaluate_bound(self.model, test_batches, self.test_fn)
        with self._writing(self.run.events_dir("test")):
            with test_writer.as_default(step=int(self.step)):
                for name, value in results.items():
                    tf.summary.scalar(name, value)
                if "accuracy" in results and task_of(self.config) is CLASSIFICATION:
                    tf.summary.scalar("error", 1.0 - results["accuracy"])
            test_writer.flush()
        self.log(_test_line(results, len(self.data.test_images), int(self.step), self.model))
        return results

    def _loop(self, batches, train_writer, summary_images, stop):
        config = self.config
        step = int(self.step)
        self.log("compiling the training step ...")
        started = time.perf_counter()
        window_start, window_steps = None, 0
        self.skipped = 0  # non-finite batches skipped since the last progress line
        self.applied = 0  # batches applied since the last progress line
        for batch in batches:
            if stop.received:
                break
            logs = self.train_fn(batch)
            if not bool(logs.pop("finite")):
                self._nonfinite(step + 1, logs)
            elif not bool(logs.pop("weights_finite")):
                raise DrawError(
                    f"the update of step {step + 1} made the weights or Adam's moments NaN or "
                    f"infinite (--learning_rate={config.learning_rate} is too large for "
                    f"them); nothing was saved after it; {self._last_good_text()}; lower "
                    "--learning_rate and run again"
                )
            else:
                self.applied += 1
            logs.pop("weights_finite", None)
            self.step.assign_add(1)
            step += 1
            if window_start is None:
                self.log(
                    f"first step (tracing and compiling) took {time.perf_counter() - started:.1f}s"
                )
                window_start = time.perf_counter()
            else:
                window_steps += 1
            if step % config.log_every == 0 or step == config.train_iters:
                now = time.perf_counter()
                rate = (
                    window_steps * config.batch_size / (now - window_start) if window_steps else 0.0
                )
                self._log_progress(step, logs, rate, train_writer)
                window_start, window_steps = now, 0
            if step % config.image_every == 0:
                self._image_summaries(step, summary_images, train_writer)
            if step % config.checkpoint_every == 0:
                self.save()

    def _nonfinite(self, step, logs):
        """A step whose loss or gradients are NaN/Inf (its update was not applied): a
        DrawError, or with skip_nonfinite a skipped batch."""
        if not self.config.skip_nonfinite:
            raise DrawError(
                f"the loss or gradients are not finite at step {step} (gradient norm "
                f"{float(logs['grad_norm'])}); nothing was saved after it; "
                f"{self._last_good_text()}; lower --learning_rate, or pass "
                "--skip_nonfinite to skip such batches"
            )
        self.skipped += 1
        self.log(f"step {step}: the loss or gradients are not finite; batch skipped")

    def _log_progress(self, step, logs, images_per_second, writer):
        # The metrics' totals and counts are summed over the replicas when read: per-image
        # means over every image since the last progress line.
        applied, self.applied = self.applied, 0
        if not applied:  # every batch since the last line was skipped
            self.log(f"step {step:>7d}/{self.config.train_iters}  no batch applied: skipped "
                     f"{self.skipped} with a non-finite loss or gradients")  # fmt: skip
            with self._writing(self.run.events_dir("train")), writer.as_default(step=step):
                tf.summary.scalar("skipped_nonfinite_batches", self.skipped)
            self.skipped = 0
            return
        values = {metric.name: float(metric.result()) for metric in self.model.metrics}
        values.update({name: float(value) for name, value in logs.items()})
        for metric in self.model.metrics:
            metric.reset_state()
        remaining = (self.config.train_iters - step) * self.config.batch_size
        eta = format_duration(remaining / images_per_second) if images_per_second else "?"
        self.log(
            f"step {step:>7d}/{self.config.train_iters}  {_loss_text(values)}  "
            f"grad {values['grad_norm']:8.2f}  {images_per_second:6.0f} img/s  "
            f"eta {eta}{_extra_metrics(values, self.model.variant_metrics)}"
            + (f"  skipped {self.skipped}" if self.skipped else "")
        )
        with self._writing(self.run.events_dir("train")), writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(name, value)
            tf.summary.scalar("learning_rate", float(self.optimizer.learning_rate.numpy()))
            tf.summary.scalar("images_per_second", images_per_second)
            tf.summary.scalar("skipped_nonfinite_batches", self.skipped)
        self.skipped = 0

    def _image_summaries(self, step, summary_images, writer):
        if task_of(self.config) is CLASSIFICATION:
            self._test_error(step)
            return self._glimpse_summaries(step, summary_images, writer)
        # The summaries draw noise from the model's generator; putting its state back
        # keeps the training noise independent of --image_every.
        noise_state = self.model.noise_seed.state.numpy()
        x = tf.constant(summary_images)
        reconstructions = self.reconstruct_fn(x).numpy()
        samples = self.sample_fn().numpy()
        drawn = x[:NUM_DRAWING_IMAGES]
        outputs = {k: v.numpy() for k, v in self.drawing_fn(drawn).items()}
        self.model.noise_seed.state.assign(noise_state)
        drawing = drawing_picture(self.config, drawn.numpy(), outputs)
        side_by_side = np.concatenate([summary_images, reconstructions], axis=2)
        with self._writing(self.run.events_dir("train")), writer.as_default(step=step):
            tf.summary.image("reconstructions", image_grid(side_by_side, 8)[np.newaxis])
            tf.summary.image("samples", image_grid(samples, 8)[np.newaxis])
            # Each test image beside its canvas at steps 1..T (top to bottom), with the read
            # (green) and write (red) windows.
            tf.summary.image("drawing", drawing[np.newaxis])

    def _test_error(self, step):
        """A classifier's test error (the learning curve): a progress line and the test
        run's scalars error, loss and accuracy. It restarts the training metrics."""
        results = evaluate_bound(self.model, self.test_batches, self.test_fn)
        self.tested = (step, results)
        self.log(_test_line(results, len(self.data.test_images), step, self.model))
        with self._writing(self.run.events_dir("test")), self.test_writer.as_default(step=step):
            for name, value in results.items():
                tf.summary.scalar(name, value)
            tf.summary.scalar("error", 1.0 - results["accuracy"])
        self.test_writer.flush()

    def _glimpse_summaries(self, step, summary_images, writer):
        """The glimpse classifier's windows on test images, glimpse by glimpse (top to
        bottom); nothing for a classifier without glimpses."""
        if not MODELS[self.config.model].glimpses:
            return
        x = summary_images[:NUM_DRAWING_IMAGES]
        windows = self.glimpse_fn(tf.constant(x)).numpy()
        picture = glimpse_picture(x, windows, self.config.read_n)
        with self._writing(self.run.events_dir("train")), writer.as_default(step=step):
            tf.summary.image("glimpses", picture[np.newaxis])


def _loss_text(values: dict) -> str:
    """A progress line's loss figures: DRAW's loss, L_x and L_z; a classifier's loss."""
    if "L_x" not in values:
        return f"loss {values['loss']:8.4f}"
    return f"loss {values['loss']:8.2f}  L_x {values['L_x']:8.2f}  L_z {values['L_z']:7.2f}"


def _test_line(results: dict, images: int, step: int, model) -> str:
    """The test-set figures of the end of training: DRAW's bound, a classifier's error
    with its binomial standard error."""
    if "L_x" not in results:
        error = 1.0 - results["accuracy"]
        se = math.sqrt(error * (1.0 - error) / images)
        return (
            f"test error at step {step} ({images} images): {100 * error:.2f}% +- "
            f"{100 * se:.2f}% (cross-entropy {results['loss']:.4f} nats)"
        )
    return (
        f"test-set bound at step {step} ({images} images): "
        f"L_x + L_z = {results['L_x'] + results['L_z']:.2f} nats (L_x {results['L_x']:.2f}, "
        f"L_z {results['L_z']:.2f}){_extra_metrics(results, model.variant_metrics)}"
    )


SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM as requests to stop training at the next step boundary.

        with StopSignals() as stop:
            for batch in batches:
                if stop.received:
                    save(); raise Interrupted(...)
                step(batch)

    Inside the block, the first SIGINT (Ctrl-C) or SIGTERM (kill, a job scheduler's
    pre-emption) only records its number in `stop.received`, so the step under way finishes
    and the loop can save a checkpoint; it also restores the previous handlers, so a second
    signal acts as usual (KeyboardInterrupt, termination). A signal the process ignores
    (e.g. SIGINT in a background job of a script) stays ignored. Outside the main thread,
    where Python cannot install handlers, the block changes nothing.
    """

    def __init__(self):
        self.received: int | None = None
        self._previous: dict = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    def _handle(self, signum, frame):
        self.received = signum
        self._restore()

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                if signal.getsignal(signum) != signal.SIG_IGN:  # ignored stays ignored
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()
