"""A run directory: its stored configuration, its checkpoints, its TensorBoard events.

    RUN/config.json       {"config": DrawConfig fields, "image_shape": [H, W, C]}
    RUN/checkpoints/      tf.train.CheckpointManager (model, optimizer, step); its list
                          `checkpoint` names the complete checkpoints, newest last
    RUN/train/, RUN/test/ TensorBoard event files
    RUN/model.weights.h5  instead of checkpoints/: the weights alone (Keras
                          save_weights), as in a shipped model (draw.pretrained)

train.py creates it; generate.py and evaluate.py rebuild exactly the trained model from it.
Every file written here is written atomically (a temporary file, then a rename); a
checkpoint counts only once the list names it, which TensorFlow updates (atomically)
after the checkpoint's files are complete.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from typing import BinaryIO

import tensorflow as tf

from draw.config import PRESETS, DrawConfig, fields_with_role, make_config, validate
from draw.errors import DrawError, first_line
from models import build_model


def atomic_write(path: str, data: str | bytes | Callable[[BinaryIO], None]) -> None:
    """Writes path through a temporary file in the same folder, fsync and a rename, so a
    reader (or a crash) sees either the old file or the whole new one.

    data: text, bytes, or a function that writes the bytes to a binary file object.
    An OSError (disk full, read-only folder) is a DrawError naming path; the old file
    stays whole.
    """
    if isinstance(data, str):
        data = data.encode()
    save = (lambda f: f.write(data)) if isinstance(data, bytes) else data
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        raise DrawError(f"cannot write {path}: {e.strerror or first_line(e)}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def atomic_folder(path: str, fill: Callable[[str], None]) -> None:
    """Writes the folder path whole: fill(staging) fills a new folder beside it, which then
    takes path's place (an existing path is moved aside, and deleted once the new one is
    in place). If fill or a rename fails, path stays as it was; an OSError is a DrawError
    naming path."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        prefix = "." + os.path.basename(path) + "."
        with tempfile.TemporaryDirectory(dir=parent, prefix=prefix) as scratch:
            staging, old = os.path.join(scratch, "new"), os.path.join(scratch, "old")
            os.mkdir(staging, 0o755)
            fill(staging)
            if os.path.lexists(path):
                os.rename(path, old)
            try:
                os.rename(staging, path)
            except OSError:
                if os.path.lexists(old):
                    os.rename(old, path)
                raise
    except OSError as e:
        raise DrawError(f"cannot write {path}: {e.strerror or first_line(e)}") from None


WEIGHTS_FILE = "model.weights.h5"


def default_logdir(explicit: dict) -> str:
    """runs/<dataset>_<preset>, from the flags given, the preset's values or the defaults."""
    defaults = DrawConfig()
    preset = explicit.get("preset", defaults.preset)
    dataset = explicit.get("dataset", PRESETS.get(preset, {}).get("dataset", defaults.dataset))
    return os.path.join("runs", f"{dataset}_{preset}")


class RunDir:
    def __init__(self, path: str):
        self.path = path
        self.config_path = os.path.join(path, "config.json")
        self.checkpoint_dir = os.path.join(path, "checkpoints")
        self.weights_path = os.path.join(path, WEIGHTS_FILE)

    def events_dir(self, name: str) -> str:
        return os.path.join(self.path, name)

    def exists(self) -> bool:
        return os.path.isfile(self.config_path)

    def read(self) -> tuple[DrawConfig, tuple[int, int, int]]:
        """The stored (config, image_shape); DrawError if missing or unreadable."""
        if not self.exists():
            raise DrawError(f"no run in {self.path}: {self.config_path} does not exist")
        try:
            with open(self.config_path) as f:
                stored = json.load(f)
            config = DrawConfig.from_dict(stored["config"])
            image_shape = tuple(int(d) for d in stored["image_shape"])
            validate(config)
        except (OSError, ValueError, KeyError, TypeError, DrawError) as e:
            raise DrawError(f"cannot read the run configuration {self.config_path}: {e}") from None
        return config, image_shape

    def write(self, config: DrawConfig, image_shape) -> None:
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise DrawError(
                f"cannot create the run directory {self.path}: {e.strerror or e}"
            ) from None
        stored = {"config": json.loads(config.to_json()), "image_shape": list(image_shape)}
        atomic_write(self.config_path, json.dumps(stored, indent=2, sort_keys=True) + "\n")

    def has_checkpoints(self) -> bool:
        return os.path.isfile(os.path.join(self.checkpoint_dir, "checkpoint"))

    def holds_weights_only(self) -> bool:
        """Whether the run is weights without checkpoints (a shipped model)."""
        return os.path.isfile(self.weights_path) and not self.has_checkpoints()

    def latest_step(self) -> int:
        """The step of the newest checkpoint the list names (0 when there is none)."""
        paths = listed_checkpoints(self.checkpoint_dir)
        return checkpoint_step(paths[-1]) or 0 if paths else 0

    def clear(self) -> None:
        """Deletes the run (config.json, checkpoints/, train/, test/ and the configuration's
        TensorBoard events) for --overwrite; other files stay. config.json goes first, so
        an interrupted clear leaves checkpoints that no configuration claims (an error
        until --overwrite again), never a half old run."""
        if not os.path.isdir(self.path):
            return
        events = [
            os.path.basename(path)
            for path in glob.glob(os.path.join(glob.escape(self.path), "events.out.tfevents.*"))
        ]
        try:
            trash = tempfile.mkdtemp(dir=self.path, prefix=".overwritten-")
            for name in ["config.json", "checkpoints", "train", "test"] + events:
                if os.path.lexists(os.path.join(self.path, name)):
                    os.rename(os.path.join(self.path, name), os.path.join(trash, name))
            shutil.rmtree(trash)
        except OSError as e:
            raise DrawError(f"cannot clear the run in {self.path}: {e.strerror or e}") from None


def resolve_config(explicit: dict, logdir: str = "", new_run: bool = False, overwrite=False):
    """The configuration of the run in logdir, or of a new one.

    Args:
      explicit: DrawConfig fields given on the command line.
      logdir: the run directory ("" for the default).
      new_run: whether a run may be created (train.py) when logdir holds none.
      overwrite: a new run replaces the one in logdir (the caller then calls run.clear()).

    Returns (config, RunDir, stored image_shape or None for a new run). A model field
    given explicitly that contradicts the stored configuration is a DrawError; training
    fields given explicitly replace the stored ones.
    """
    run = RunDir(logdir or default_logdir(explicit))
    if overwrite or not run.exists():
        if not new_run:
            raise DrawError(
                f"no trained run in {run.path} (no config.json); train one with "
                f"python train.py --logdir={run.path}"
            )
        if run.has_checkpoints() and not overwrite:
            raise DrawError(
                f"{run.checkpoint_dir} holds checkpoints but {run.config_path} is missing; "
                "put it back, or start a new run there with --overwrite"
            )
        values = {k: v for k, v in explicit.items() if k != "preset"}
        return make_config(explicit.get("preset", "jang"), **values), run, None
    stored, image_shape = run.read()
    model_fields = set(fields_with_role("model"))
    for name, value in explicit.items():
        if name in model_fields and value != getattr(stored, name):
            raise DrawError(
                f"--{name}={value} contradicts the run in {run.path}, trained with "
                f"{name}={getattr(stored, name)}; use another --logdir for a new run "
                "(or --overwrite to replace this one)"
            )
    train_values = {k: v for k, v in explicit.items() if k not in model_fields}
    config = stored.replace(**train_values)
    validate(config)
    return config, run, image_shape


def restore(checkpoint: tf.train.Checkpoint, path: str, partial: bool = False) -> None:
    """Restores checkpoint from path, turning every failure into one DrawError."""
    try:
        status = checkpoint.restore(path)
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError, TypeError, IndexError, KeyError) as e:
        raise DrawError(f"cannot restore checkpoint {path}: {first_line(e)}") from None


def checkpoint_step(path: str) -> int | None:
    """The training step a checkpoint was saved at, from its name `ckpt-<step>` (the
    Trainer numbers its checkpoints by step); None for a name without a number."""
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else None


def listed_checkpoints(directory: str, restore_from_previous: bool = False) -> list[str]:
    """The complete checkpoints in directory, oldest first, as its list `checkpoint` names
    them ([] when there is no list: files without one are from a save cut short).

    An unreadable list is a DrawError; with restore_from_previous, every ckpt-N.index file
    in directory is a candidate instead.
    """
    state_file = os.path.join(directory, "checkpoint")
    if not os.path.isfile(state_file):
        return []
    state = tf.train.get_checkpoint_state(directory)
    if state is not None and state.model_checkpoint_path:
        paths = list(state.all_model_checkpoint_paths)
        if state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        return paths
    if not restore_from_previous:
        raise DrawError(
            f"the checkpoint list {state_file} is unreadable; --restore_from_previous "
            "restores the newest checkpoint file in its folder that reads"
        )
    indexes = glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index"))
    paths = (index[: -len(".index")] for index in indexes)
    return sorted(
        paths, key=lambda path: -1 if checkpoint_step(path) is None else checkpoint_step(path)
    )


def restore_newest(checkpoint, paths, restore_from_previous=False, log=print, partial=False):
    """Restores the newest of paths (oldest first) and returns it.

    A checkpoint that does not read is a DrawError naming it; with restore_from_previous,
    the next older one is tried instead (each failure is logged). No file is touched.
    """
    for path in reversed(paths):
        try:
            restore(checkpoint, path, partial)
            return path
        except DrawError as e:
            if not restore_from_previous:
                raise DrawError(
                    f"{e}; --restore_from_previous restores the newest checkpoint that reads"
                ) from None
            log(f"skipping a checkpoint that does not read: {e}")
    raise DrawError(f"none of the checkpoints {', '.join(paths)} reads")


def checkpoint_to_load(run: RunDir, named: str = "") -> str:
    """The named checkpoint, or the run's latest; DrawError if there is none."""
    if named:
        if not tf.io.gfile.glob(named + ".index"):
            raise DrawError(f"checkpoint {named} not found (no {named}.index)")
        return named
    latest = tf.train.latest_checkpoint(run.checkpoint_dir)
    if latest is None:
        raise DrawError(f"no checkpoint in {run.checkpoint_dir}; train the run first")
    return latest


def load_weights(model, path: str) -> None:
    """model.load_weights(path) (a Keras .weights.h5 file), any failure one DrawError.

    Such a file holds no optimizer state: Keras' warning that the model's optimizer (of a
    run about to train) finds none in it is expected, and silenced."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DrawError(f"cannot load the weights {path}: {first_line(e)}") from None


def load_trained_model(
    explicit: dict, logdir: str = "", named_checkpoint: str = "", restore_from_previous=False
):
    """Rebuilds a run's model and restores its weights: the named checkpoint, or the
    newest one (with restore_from_previous, the newest one that reads), or for a run of
    weights only (a shipped model) its model.weights.h5.

    Returns (config, model, checkpoint or weights path).
    """
    config, run, image_shape = resolve_config(explicit, logdir)
    model = build_model(config, image_shape)
    if run.holds_weights_only():
        if named_checkpoint:
            raise DrawError(f"{run.path} holds weights, not checkpoints: drop --checkpoint")
        load_weights(model, run.weights_path)
        return config, model, run.weights_path
    checkpoint = tf.train.Checkpoint(model=model)
    if named_checkpoint:
        path = checkpoint_to_load(run, named_checkpoint)
        restore(checkpoint, path, partial=True)
        return config, model, path
    paths = listed_checkpoints(run.checkpoint_dir, restore_from_previous)
    if not paths:
        raise DrawError(f"no checkpoint in {run.checkpoint_dir}; train the run first")
    path = restore_newest(checkpoint, paths, restore_from_previous, partial=True)
    return config, model, path
