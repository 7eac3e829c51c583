"""Shipping a model: choosing between a run and a shipped model from the scripts' flags,
and making a shipped model of a trained run (`evaluate.py --ship=NAME`).

What the scripts write for a shipped model goes to runs/pretrained/NAME/, never into the
package. `package` evaluates nothing itself: it takes evaluate.py's record of the run's
newest checkpoint, writes the weights, the configuration and the card (README.md) into a
new folder and moves it into place whole (draw.files.atomic_folder).
"""

from __future__ import annotations

import dataclasses
import datetime
import glob
import os
import platform
import re
import subprocess

import numpy as np
import tensorflow as tf

from draw import pretrained
from draw.config import DrawConfig, fields_with_role
from draw.configure import make_config
from draw.errors import DrawError
from draw.files import atomic_folder, atomic_write
from draw.models import MODELS, task_of
from draw.registry import CLASSIFICATION
from draw.run_dir import WEIGHTS_FILE, RunDir, default_logdir, load_trained_model

OUTPUT_ROOT = os.path.join("runs", "pretrained")
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# The checkout this file is in (as its draw/app/shipping.py): git commit of the cards.
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclasses.dataclass
class Source:
    """Where a script loads its model from and where it writes what it makes.

    model_dir: a run directory or a shipped model's folder.
    output_dir: the run directory, or runs/pretrained/NAME for a shipped model.
    note: the line to print first when a shipped model is used, else "".
    """

    model_dir: str
    output_dir: str
    note: str = ""


def choose(pretrained_name: str, logdir: str, default_run: str, explicit: dict, fallback=False):
    """The Source of --pretrained=NAME or --logdir=RUN (one of them at most).

    With neither, the default run; if that does not exist and `fallback`, the default
    shipped model, provided it agrees with the model flags in `explicit`.
    """
    if pretrained_name and logdir:
        raise DrawError("--pretrained and --logdir each choose the model: give one of them")
    if pretrained_name:
        folder = pretrained.path(pretrained_name)
        note = f"using the shipped model {pretrained_name} ({folder})"
        return Source(folder, os.path.join(OUTPUT_ROOT, pretrained_name), note)
    run = logdir or default_run
    name = pretrained.default_name()
    if logdir or RunDir(run).exists() or not fallback or name is None:
        return Source(run, run)
    config, _ = RunDir(pretrained.path(name)).read()
    model_fields = set(fields_with_role("model"))
    if any(k in model_fields and getattr(config, k) != v for k, v in explicit.items()):
        return Source(run, run)
    note = (
        f"no run in {run}: using the shipped model {name} (--pretrained={name}); "
        "train your own with python train.py"
    )
    return Source(pretrained.path(name), os.path.join(OUTPUT_ROOT, name), note)


def starting_point(name: str, explicit: dict) -> tuple[dict, str]:
    """For train.py --pretrained=NAME: the flags of a new run that trains the shipped
    model further (its model fields, then the flags given, which must agree with them),
    and its weights file."""
    folder = pretrained.path(name)
    run = RunDir(folder)
    config, _ = run.read()
    values = {k: getattr(config, k) for k in fields_with_role("model")}
    for key, value in explicit.items():
        if key in values and value != values[key]:
            raise DrawError(
                f"--{key}={value} contradicts the shipped model {name}, trained with "
                f"{key}={values[key]}"
            )
    return {**values, **explicit}, run.weights_path


# Packaging a trained run.


def train_command(config: DrawConfig, logdir: str) -> str:
    """A train.py command line that trains config: the flags whose values differ from
    the preset's (the data folder, a path of the machine that trained it, left out), and
    --logdir as a path relative to the working folder unless it is the default."""
    base = make_config(config.preset, dataset=config.dataset)
    parts = ["python", "train.py"]
    relative = os.path.relpath(logdir)
    if relative.startswith(".."):
        relative = logdir
    if relative != default_logdir({"preset": config.preset, "dataset": config.dataset}):
        parts.append(f"--logdir={relative}")
    if config.preset != DrawConfig.preset:
        parts.append(f"--preset={config.preset}")
    if config.dataset != make_config(config.preset).dataset:
        parts.append(f"--dataset={config.dataset}")
    for f in dataclasses.fields(DrawConfig):
        value = getattr(config, f.name)
        if f.name in ("preset", "dataset", "data_dir") or value == getattr(base, f.name):
            continue
        if isinstance(value, bool):
            parts.append(f"--{f.name}" if value else f"--no{f.name}")
        else:
            parts.append(f"--{f.name}={value}")
    return " ".join(parts)


def training_seconds(run: RunDir) -> float | None:
    """The run's training wall time: over its TensorBoard event files of train/ (one per
    invocation of train.py), from each file's creation to its last event; None if none."""
    total, found = 0.0, False
    for events in sorted(glob.glob(os.path.join(glob.escape(run.events_dir("train")), "*"))):
        times = []
        try:
            for event in tf.compat.v1.train.summary_iterator(events):
                times.append(event.wall_time)
        except tf.errors.DataLossError:
            pass  # a file cut short: its events up to there count
        if len(times) > 1:
            total, found = total + times[-1] - times[0], True
    return total if found else None


def checkout_commit() -> str:
    """The commit of this checkout (with "-dirty" if it has changes), or "unknown"."""
    try:

        def git(*args):
            return subprocess.run(
                ["git", "-C", REPOSITORY, *args], capture_output=True, text=True, check=True
            ).stdout.strip()

        commit = git("rev-parse", "HEAD")
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _hours(seconds) -> str:
    if seconds is None:
        return "unknown (the run has no TensorBoard events)"
    return f"{seconds / 3600:.2f} h ({seconds:.0f} s)"


# A card's note on a model trained with a non-default LSTM initialisation.
INITIALISATION_NOTES = {
    "jang": (
        "It reproduces Eric Jang's setup, his LSTM initialisation included "
        "(`--lstm_init=jang`). For a model of your own, `python train.py` is the recommended "
        "start: its default, Keras' initialisation (`--lstm_init=keras`), gave better and "
        "less seed-dependent test-set bounds, over four seeds at 2,000 iterations 118.26 "
        "nats (standard deviation 1.23) against 122.52 (3.61) for `jang`, and 93.15 against "
        "93.79 nats at 10,000 iterations, one seed each (experiments/README.md in the "
        "project).\n\n"
    ),
}


def _provenance_rows(facts: dict) -> list[tuple[str, str]]:
    """The card's rows on how the model was made: command, commit, seed, time, weights."""
    c = facts["config"]
    return [
        ("Training command", f"`{facts['command']}`"),
        ("Commit", f"`{facts['commit']}`"),
        ("Seed", str(c.seed)),
        ("Wall time", _hours(facts["seconds"])),
        (
            "Weights",
            f"`{WEIGHTS_FILE}`, {facts['size'] / 1e6:.1f} MB, {facts['parameters']:,} "
            "parameters (no optimizer state)",
        ),
        ("Packaged", f"{facts['created']} from `{facts['checkpoint']}`"),
    ]


def _table(rows) -> str:
    return "\n".join(["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


def hardware() -> str:
    """The machine packaging a model, as its cards state it: cores, architecture,
    TensorFlow's version (and the GPUs TensorFlow sees, if any)."""
    gpus = tf.config.list_physical_devices("GPU")
    devices = f"{len(gpus)} GPU(s) and " if gpus else ""
    return (
        f"{devices}{os.cpu_count()}-core {platform.machine().replace('_', '-')} CPU, TensorFlow "
        f"{'.'.join(tf.__version__.split('.')[:2])}"
    )


def _classifier_card(name: str, facts: dict) -> str:
    c, figures = facts["config"], facts["classification"]
    entry = MODELS[c.model]
    what = entry.description(c)
    glimpses = f"\n    python generate.py --pretrained={name} --glimpses" if entry.glimpses else ""
    rows = [
        (
            "Test error",
            f"**{100 * figures['test_error']:.2f}%** +- {100 * figures['test_error_se']:.2f}% "
            f"(binomial standard error; the {figures['images']} images of the fixed "
            "cluttered test set)",
        ),
        (
            "Per-class errors",
            ", ".join(_class_error_text(k, e) for k, e in enumerate(figures["class_errors"])),
        ),
        ("Budget", f"{facts['step']:,} iterations of batches of {c.batch_size}; {hardware()}"),
        *_provenance_rows(facts),
    ]
    return f"""# {name}

A classifier of {c.clutter_size}x{c.clutter_size} cluttered translated MNIST
({c.num_distractors} distractors of {c.distractor_size}x{c.distractor_size}): {what};
trained for {facts["step"]:,} iterations.

{_table(rows)}

Use it:

    python evaluate.py --pretrained={name}{glimpses}

or from Python: `from draw import api; api.classify(api.load("{name}"), images)` with
images `[n, {c.clutter_size}, {c.clutter_size}, 1]` in [0, 1] (docs/cluttered.md).
"""


def _class_error_text(k: int, error) -> str:
    return f"{k}: -" if error is None else f"{k}: {100 * error:.1f}%"


def card(name: str, facts: dict) -> str:
    """The README.md of a shipped model, from facts (see package)."""
    if task_of(facts["config"]) is CLASSIFICATION:
        return _classifier_card(name, facts)
    c, bound = facts["config"], facts["elbo"]
    note = INITIALISATION_NOTES.get(c.lstm_init, "")
    attention = {
        (True, True): "read and write attention",
        (False, False): "no attention",
        (True, False): "read attention only",
        (False, True): "write attention only",
    }[(c.read_attn, c.write_attn)]
    rows = [
        (
            "Test-set bound L_x + L_z",
            f"**{bound['loss']:.2f} nats** (L_x {bound['L_x']:.2f}, L_z {bound['L_z']:.2f}; "
            f"{bound['num_images']} test images, evaluation seed {facts['eval_seed']})",
        ),
        *_provenance_rows(facts),
    ]
    table = _table(rows)
    return f"""# {name}

DRAW on {c.dataset.upper()} ({c.preset} preset, {attention}; T={c.T}, {c.enc_size}/{c.dec_size}
LSTM units, z={c.z_size}), trained for {facts["step"]} iterations.

{note}{table}

Use it:

    python generate.py --pretrained={name} --stochastic
    python evaluate.py --pretrained={name}

or from Python: `from draw import api; api.load("{name}")` (docs/python_api.md).
"""


def package(record: dict, name: str, folder: str = "", commit="", overwrite=False) -> str:
    """Makes the shipped model `name` in folder (default: the package's) from the run
    evaluated in `record` (evaluate.py's record of one run, with its "elbo"): the weights of
    the checkpoint it measured, the run's configuration and a card. Returns the model's
    folder, which appears whole or not at all."""
    folder = folder or pretrained.FOLDER
    target = free_target(name, folder, overwrite)
    run = RunDir(record["run"])
    config, model, restored = load_trained_model({}, run.path, record["checkpoint"])
    _, image_shape = run.read()
    shipped_config = config.replace(data_source="auto", data_dir="")  # no machine's paths
    facts = {
        "config": config,
        "elbo": record.get("elbo"),
        "classification": record.get("classification"),
        "eval_seed": record["seed"],
        "step": record["step"],
        "command": train_command(config, run.path),
        "commit": commit or checkout_commit(),
        "seconds": training_seconds(run),
        "parameters": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
        "checkpoint": restored,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }

    def write(staging):
        RunDir(staging).write(shipped_config, image_shape)
        model.save_weights(os.path.join(staging, WEIGHTS_FILE))
        _check_same_weights(model, staging)
        facts["size"] = os.path.getsize(os.path.join(staging, WEIGHTS_FILE))
        atomic_write(os.path.join(staging, "README.md"), card(name, facts))

    atomic_folder(target, write)
    return target


def check_name(name: str) -> None:
    """DrawError unless name suits a shipped model (lower-case letters, digits and _)."""
    if not NAME.match(name):
        raise DrawError(f"--ship={name!r}: use lower-case letters, digits and _")


def free_target(name: str, folder: str = "", overwrite=False) -> str:
    """The folder the shipped model `name` goes to; DrawError if it exists and not
    overwrite."""
    check_name(name)
    target = os.path.join(folder or pretrained.FOLDER, name)
    if os.path.lexists(target) and not overwrite:
        raise DrawError(f"{target} exists; pass --overwrite to replace it")
    return target


def _check_same_weights(model, folder: str) -> None:
    """The weights file in folder loads into a fresh model with exactly model's weights."""
    _, loaded, _ = load_trained_model({}, folder)
    for before, after in zip(model.weights, loaded.weights, strict=True):
        if not np.array_equal(before.numpy(), after.numpy()):
            raise DrawError(f"the weights written to {folder} do not read back ({before.path})")
