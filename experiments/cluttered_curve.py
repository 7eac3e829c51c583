"""Trains a cluttered-MNIST classifier and writes its learning curve (test error against
iterations) as CSV: the initialisation study of docs/cluttered.md.

    python -m experiments.cluttered_curve --out=DIR [--model=glimpse] [--T=4]
        [--log_sigma2_bias=3] [--curriculum=0] [--iters=2000] [--eval_every=250]
        [--test_count=2000]

DIR/curve.csv gets one row per evaluation: step, test error on the first --test_count
images of the fixed test set (data.cluttered.test_set), its binomial standard error, the
training loss and accuracy since the last row, and the seconds spent training. Training
batch s is data.cluttered.train_batch(seed, s); --curriculum=K ramps the number of
distractors linearly from 0 to 8 over the first K iterations (0: all 8 from the start).
The model, Adam (per-variable clipnorm; trained by draw.train_step.TrainStep) and the step
are checkpointed in DIR/checkpoints as train.py checkpoints a run
(tf.train.Checkpoint(model=, optimizer=, step=)), every --checkpoint_every iterations;
running the same command again resumes there and appends to the curve (a
--learning_rate given then replaces the stored one). SIGINT or SIGTERM saves a checkpoint
of the step reached and stops.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from draw.data import cluttered, mnist, pipeline
from draw.models.classifier import ConvClassifier, GlimpseClassifier
from draw.train_step import TrainStep
from draw.training import StopSignals

FIELDS = ["step", "test_error", "standard_error", "train_loss", "train_accuracy", "seconds"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder of the curve and the checkpoints")
    p.add_argument("--model", choices=("glimpse", "conv"), default="glimpse")
    p.add_argument("--T", type=int, default=4, help="glimpses")
    p.add_argument("--N", type=int, default=12, help="glimpse grid size")
    p.add_argument("--log_sigma2_bias", type=float, default=3.0)
    p.add_argument("--curriculum", type=int, default=0, help="iterations of the distractor ramp")
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--batch_size", type=int, default=100)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--beta_1", type=float, default=0.9)
    p.add_argument("--adam_epsilon", type=float, default=1e-7)
    p.add_argument("--clipnorm", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--eval_every", type=int, default=250)
    p.add_argument("--checkpoint_every", type=int, default=1000)
    p.add_argument("--test_count", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op")
    return p.parse_args(argv)


def distractors_at(step: int, curriculum: int, full: int = 8) -> int:
    """The number of distractors of training batch step under a ramp of curriculum steps."""
    if curriculum <= 0 or step >= curriculum:
        return full
    return full * step // curriculum


def build(args):
    shape = (100, 100, 1)
    if args.model == "conv":
        model = ConvClassifier(shape, name="classifier")
    else:
        model = GlimpseClassifier(
            shape, T=args.T, N=args.N, log_sigma2_bias=args.log_sigma2_bias, name="classifier"
        )
    model.build_variables()
    optimizer = keras.optimizers.Adam(
        learning_rate=args.learning_rate,
        beta_1=args.beta_1,
        epsilon=args.adam_epsilon,
        clipnorm=args.clipnorm,
    )
    model.compile(optimizer=optimizer)
    optimizer.build(model.trainable_variables)
    return model, optimizer


class Curriculum:
    """ClutteredData whose batch step has distractors_at(step, curriculum) distractors."""

    def __init__(self, data: cluttered.ClutteredData, curriculum: int):
        self.data, self.curriculum = data, curriculum
        self.image_shape = data.image_shape

    def train_batch(self, seed, step, batch_size):
        full = self.data.clutter.num_distractors
        options = dataclasses.replace(
            self.data.clutter, num_distractors=distractors_at(step, self.curriculum, full)
        )
        data = self.data
        return cluttered.train_batch(
            data.train_images, data.train_labels, seed, step, batch_size, options
        )


def test_error(predict, x_test, y_test, batch_size=500):
    wrong = 0
    for i in range(0, len(x_test), batch_size):
        x = x_test[i : i + batch_size].astype(np.float32) / 255.0
        predicted = np.argmax(predict(tf.constant(x)).numpy(), -1)
        wrong += int(np.sum(predicted != y_test[i : i + batch_size]))
    error = wrong / len(x_test)
    return error, math.sqrt(error * (1 - error) / len(x_test))


def _last_row(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))[-1]


def main(argv=None):
    args = parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.keras.utils.set_random_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    data = cluttered.from_mnist(mnist.load())
    x_test, y_test = data.test_images[: args.test_count], data.test_labels[: args.test_count]
    model, optimizer = build(args)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(args.out, "checkpoints"), max_to_keep=3, step_counter=step
    )
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        # A learning rate given for this invocation replaces the stored one.
        optimizer.learning_rate.assign(args.learning_rate)
        print(f"resumed from {manager.latest_checkpoint} at step {int(step)}", flush=True)
    train_fn = TrainStep(model)
    predict = tf.function(lambda x: model(x)["logits"])
    curve_path = os.path.join(args.out, "curve.csv")
    new_file = not os.path.exists(curve_path) or int(step) == 0
    seconds = 0.0 if new_file else float(_last_row(curve_path)["seconds"])
    with open(curve_path, "w" if new_file else "a", newline="") as f, StopSignals() as stop:
        writer = csv.writer(f)
        if new_file:
            writer.writerow(FIELDS)
            error, se = test_error(predict, x_test, y_test)
            writer.writerow([0, f"{error:.5f}", f"{se:.5f}", "", "", "0.0"])
        started = time.perf_counter()
        stream = pipeline.generated_batches(
            Curriculum(data, args.curriculum), args.batch_size, args.seed, int(step)
        )
        for batch in stream.take(args.iters - int(step)):
            if stop.received:
                manager.save(checkpoint_number=int(step))
                print(f"stopped by {stop.name} at step {int(step)}; saved", flush=True)
                return
            train_fn(batch)
            step.assign_add(1)
            s = int(step)
            if s % args.eval_every == 0 or s == args.iters:
                seconds += time.perf_counter() - started
                loss, accuracy = (float(m.result()) for m in model.metrics)
                for metric in model.metrics:
                    metric.reset_state()
                error, se = test_error(predict, x_test, y_test)
                row = [s, f"{error:.5f}", f"{se:.5f}", f"{loss:.4f}", f"{accuracy:.4f}"]
                writer.writerow(row + [f"{seconds:.1f}"])
                f.flush()
                print(
                    f"step {s:>6d}  test error {100 * error:6.2f}% +- {100 * se:.2f}  "
                    f"train loss {loss:.3f} acc {accuracy:.3f}  {seconds:.0f}s",
                    flush=True,
                )
                started = time.perf_counter()
            if s % args.checkpoint_every == 0 or s == args.iters:
                manager.save(checkpoint_number=s)


if __name__ == "__main__":
    main()
