"""Trained models outside training: the Python API, the shipped models, the SavedModel.

The Python API: a trained DRAW from a run directory or a shipped model, and its images.

    from draw import api

    model = api.load("mnist_attention")  # a shipped model, or a run: api.load("runs/x")
    images = api.sample(model, 16, seed=0)  # [16, 28, 28, 1] float32 in [0, 1]
    again = api.reconstruct(model, images)  # [16, 28, 28, 1]: through encoder and decoder

`model` is the keras.Model (draw.model.DRAW or a variant of models/): `model.generate(n)`
gives the whole drawing as logits, canvas `[T, n, H, W, C]`, and `model(x)` runs the
encoder and decoder on images x `[n, H, W, C]` in [0, 1].

The shipped models: a shipped model is a folder of draw/pretrained_models/, named after
the model:

    NAME/model.weights.h5   its weights only (Keras save_weights: no optimizer state)
    NAME/config.json        its configuration, as in the run directory it came from
    NAME/README.md          its card: the training command, commit, seed, wall time and
                            the test-set bound evaluate.py gives on it

The folder is a run directory of weights only (draw.run_dir), so the scripts read it as
they read a run: `--pretrained=NAME` selects it, and what they write goes to
runs/pretrained/NAME/, never into the package. A trained run becomes a shipped model with

    python evaluate.py --logdir=RUN --ship=NAME

which evaluates the run's newest checkpoint on the test set (recorded in RUN/evaluations/
as any evaluation), writes the three files into a new folder and moves it into place
whole.

The SavedModel, usable without this project: `python generate.py --export=DIR` writes DIR
with three serving signatures (keras' ExportArchive); any TensorFlow program loads it with
`tf.saved_model.load(DIR)`:

    generate(num_images: int32 [], seed: int64 [])
        -> images [n, H, W, C] in [0, 1], canvases [T, n, H, W, C] in [0, 1]
        z_t ~ N(0, I) drawn by tf.random.stateless_normal([T, n, z_size], seed=[seed, 0]);
        the same seed gives the same images.
    reconstruct(images: float32 [n, H, W, C] in [0, 1], seed: int64 [])
        -> reconstructions [n, H, W, C], canvases [T, n, H, W, C]
        (z_t = mu_t + sigma_t eps_t, eps ~ stateless_normal([T, n, z_size], [seed, 0]))
    decode(z: float32 [T, n, z_size]) -> images [n, H, W, C], canvases [T, n, H, W, C]

The folder appears whole (written next to DIR, then renamed) and replaces an existing DIR
only with --overwrite.
"""

from __future__ import annotations

import dataclasses
import datetime
import glob
import os
import platform
import re
import subprocess
import weakref

import keras
import numpy as np
import tensorflow as tf

from draw import generation
from draw.config import DrawConfig, fields_with_role
from draw.configure import make_config
from draw.errors import DrawError, first_line
from draw.models import CLASSIFIERS
from draw.run_dir import (
    WEIGHTS_FILE,
    RunDir,
    atomic_folder,
    atomic_write,
    default_logdir,
    load_trained_model,
)

# The Python API.


def load(source: str, checkpoint: str = ""):
    """The trained model of `source`: a run directory (its newest checkpoint, or the
    named `checkpoint`) or the name of a shipped model (`names()`)."""
    if os.path.isdir(source):
        return load_trained_model({}, source, checkpoint)[1]
    if source in names():
        return load_trained_model({}, path(source))[1]
    shipped = ", ".join(names()) or "none shipped"
    raise DrawError(f"{source} is neither a run directory nor a shipped model ({shipped})")


def sample(model, n: int, seed: int = 0) -> np.ndarray:
    """n images from the prior, z_t ~ N(0, I): `[n, H, W, C]` float32 in [0, 1] (the
    final canvases sigmoid(c_T)); the same seed gives the same images."""
    _check_generative(model, "sample")
    config = model.config
    z = generation.prior_latents(generation.make_generator(seed), config.T, n, config.z_size)
    return generation.Sampler(model).decode(z)["canvas"][-1]


def reconstruct(model, images, seed: int = 0) -> np.ndarray:
    """images `[n, H, W, C]` in [0, 1] through the encoder and decoder (z_t drawn from the
    posterior): `[n, H, W, C]` float32 in [0, 1]."""
    _check_generative(model, "reconstruct")
    images = np.asarray(images, np.float32)
    config = model.config
    eps = generation.prior_latents(
        generation.make_generator(seed), config.T, len(images), config.z_size
    )
    return generation.Sampler(model).reconstruct(images, eps)["canvas"][-1]


def classify(model, images, batch_size: int = 500) -> np.ndarray:
    """Class probabilities `[n, 10]` float32 (softmax of the logits) of images `[n, H, W,
    C]` floats in [0, 1] (for the cluttered-MNIST classifiers, `[n, 100, 100, 1]`)."""
    if getattr(model.config, "model", None) not in CLASSIFIERS:
        raise DrawError(
            "classify takes a classifier (--model=glimpse_classifier or conv_classifier)"
        )
    images = np.asarray(images, np.float32)
    shape = (model.B, model.A, model.C)
    if images.ndim != 4 or images.shape[1:] != shape:
        raise DrawError(
            f"classify takes images [n, {', '.join(map(str, shape))}], got {images.shape}"
        )
    probabilities = _probabilities(model)
    parts = [
        probabilities(images[i : i + batch_size]).numpy() for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, model.num_classes), np.float32)


_COMPILED = weakref.WeakKeyDictionary()  # model -> its compiled classify function


def _probabilities(model):
    """The compiled softmax of model's logits (one per model, traced once)."""
    if model not in _COMPILED:
        spec = tf.TensorSpec([None, model.B, model.A, model.C], tf.float32)
        _COMPILED[model] = tf.function(
            lambda x: tf.nn.softmax(model(x)["logits"]), input_signature=[spec]
        )
    return _COMPILED[model]


def _check_generative(model, what: str) -> None:
    if model.config.model in CLASSIFIERS:
        raise DrawError(f"{what} takes a DRAW model; {model.config.model} classifies (classify)")


# The shipped models.

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained_models")
OUTPUT_ROOT = os.path.join("runs", "pretrained")
PREFERRED = "mnist_attention"  # the model generate.py uses when there is no run
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def names(folder: str = "") -> list[str]:
    """The shipped models in folder (default: the package's), sorted."""
    folder = folder or FOLDER
    if not os.path.isdir(folder):
        return []
    return sorted(
        name
        for name in os.listdir(folder)
        if RunDir(os.path.join(folder, name)).holds_weights_only()
        and os.path.isfile(os.path.join(folder, name, "config.json"))
    )


def path(name: str, folder: str = "") -> str:
    """The folder of the shipped model `name`; DrawError naming the shipped ones if none."""
    shipped = names(folder)
    if name not in shipped:
        listed = ", ".join(shipped) if shipped else "none is shipped in this copy"
        raise DrawError(f"--pretrained={name} is not a shipped model ({listed})")
    return os.path.join(folder or FOLDER, name)


def default_name(folder: str = "") -> str | None:
    """PREFERRED if shipped, else the first shipped model with read and write attention,
    else the first one; None when no model is shipped."""
    shipped = names(folder)
    if PREFERRED in shipped:
        return PREFERRED
    for name in shipped:
        config, _ = RunDir(os.path.join(folder or FOLDER, name)).read()
        if config.read_attn and config.write_attn:
            return name
    return shipped[0] if shipped else None


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


def choose(pretrained: str, logdir: str, default_logdir: str, explicit: dict, fallback=False):
    """The Source of --pretrained=NAME or --logdir=RUN (one of them at most).

    With neither, the default run; if that does not exist and `fallback`, the default
    shipped model, provided it agrees with the model flags in `explicit`.
    """
    if pretrained and logdir:
        raise DrawError("--pretrained and --logdir each choose the model: give one of them")
    if pretrained:
        folder = path(pretrained)
        note = f"using the shipped model {pretrained} ({folder})"
        return Source(folder, os.path.join(OUTPUT_ROOT, pretrained), note)
    run = logdir or default_logdir
    name = default_name()
    if logdir or RunDir(run).exists() or not fallback or name is None:
        return Source(run, run)
    config, _ = RunDir(path(name)).read()
    model_fields = set(fields_with_role("model"))
    if any(k in model_fields and getattr(config, k) != v for k, v in explicit.items()):
        return Source(run, run)
    note = (
        f"no run in {run}: using the shipped model {name} (--pretrained={name}); "
        "train your own with python train.py"
    )
    return Source(path(name), os.path.join(OUTPUT_ROOT, name), note)


def starting_point(name: str, explicit: dict) -> tuple[dict, str]:
    """For train.py --pretrained=NAME: the flags of a new run that trains the shipped
    model further (its model fields, then the flags given, which must agree with them),
    and its weights file."""
    folder = path(name)
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
    what = {
        "glimpse_classifier": f"{c.T} glimpses of {c.read_n}x{c.read_n}, one LSTM of "
        f"{c.dec_size} units (differentiable RAM)",
        "conv_classifier": f"two convolution layers and a hidden layer of {c.class_hidden} units",
    }[c.model]
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

    python evaluate.py --pretrained={name}
    python generate.py --pretrained={name} --glimpses

or from Python: `from draw import api; api.classify(api.load("{name}"), images)` with
images `[n, {c.clutter_size}, {c.clutter_size}, 1]` in [0, 1] (docs/cluttered.md).
"""


def _class_error_text(k: int, error) -> str:
    return f"{k}: -" if error is None else f"{k}: {100 * error:.1f}%"


def card(name: str, facts: dict) -> str:
    """The README.md of a shipped model, from facts (see package)."""
    if facts["config"].model in CLASSIFIERS:
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
    folder = folder or FOLDER
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
    target = os.path.join(folder or FOLDER, name)
    if os.path.lexists(target) and not overwrite:
        raise DrawError(f"{target} exists; pass --overwrite to replace it")
    return target


def _check_same_weights(model, folder: str) -> None:
    """The weights file in folder loads into a fresh model with exactly model's weights."""
    _, loaded, _ = load_trained_model({}, folder)
    for before, after in zip(model.weights, loaded.weights, strict=True):
        if not np.array_equal(before.numpy(), after.numpy()):
            raise DrawError(f"the weights written to {folder} do not read back ({before.path})")


# The SavedModel.


def latents(seed, T: int, n, z_size: int):
    """z ~ N(0, I) `[T, n, z_size]` from the seed alone (stateless)."""
    return tf.random.stateless_normal([T, n, z_size], seed=tf.stack([seed, tf.zeros_like(seed)]))


def _images(canvas):
    """Logits `[T, n, H, W, C]` -> (final images, canvases), both in [0, 1]."""
    canvases = tf.sigmoid(canvas)
    return {"images": canvases[-1], "canvases": canvases}


def archive(model) -> keras.export.ExportArchive:
    """The ExportArchive of model with the generate, reconstruct and decode endpoints (a
    classifier: classify)."""
    T, z_size = model.config.T, model.config.z_size
    image = tf.TensorSpec([None, model.B, model.A, model.C], tf.float32, name="images")
    if model.config.model in CLASSIFIERS:
        return _classifier_archive(model, image)
    seed = tf.TensorSpec([], tf.int64, name="seed")

    def generate(num_images, seed):
        return _images(model.generate(z=latents(seed, T, num_images, z_size))["canvas"])

    def reconstruct(images, seed):
        noise = latents(seed, T, tf.shape(images)[0], z_size)
        out = _images(model(images, noise=noise)["canvas"])
        return {"reconstructions": out["images"], "canvases": out["canvases"]}

    def decode(z):
        return _images(model.generate(z=z)["canvas"])

    result = keras.export.ExportArchive()
    result.track(model)
    number = tf.TensorSpec([], tf.int32, name="num_images")
    result.add_endpoint("generate", generate, input_signature=[number, seed])
    result.add_endpoint("reconstruct", reconstruct, input_signature=[image, seed])
    latent = tf.TensorSpec([T, None, z_size], tf.float32, name="z")
    result.add_endpoint("decode", decode, input_signature=[latent])
    return result


def _classifier_archive(model, image) -> keras.export.ExportArchive:
    """classify(images [n, H, W, C] in [0, 1]) -> probabilities [n, 10] (softmax), logits."""

    def classify(images):
        logits = model(images)["logits"]
        return {"probabilities": tf.nn.softmax(logits), "logits": logits}

    result = keras.export.ExportArchive()
    result.track(model)
    result.add_endpoint("classify", classify, input_signature=[image])
    return result


def export(model, folder: str, overwrite: bool = False) -> str:
    """Writes model's SavedModel to folder (see the module docstring); returns its path."""
    folder = os.path.abspath(folder)
    if os.path.lexists(folder) and not overwrite:
        raise DrawError(
            f"{folder} exists; pass --overwrite to replace it or choose another --export"
        )

    def write(target):
        try:
            archive(model).write_out(target, verbose=False)
        except tf.errors.OpError as e:
            raise DrawError(f"cannot write {folder}: {first_line(e)}") from None

    atomic_folder(folder, write)
    return folder
