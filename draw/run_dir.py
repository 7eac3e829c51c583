"""A run directory: its stored configuration, its checkpoints, its TensorBoard events.

    RUN/config.json       {"config": DrawConfig fields, "image_shape": [H, W, C]}
    RUN/checkpoints/      tf.train.CheckpointManager (model, optimizer, step)
    RUN/train/, RUN/test/ TensorBoard event files

train.py creates it; generate.py and evaluate.py rebuild exactly the trained model from it.
"""

from __future__ import annotations

import json
import os
import tempfile

import tensorflow as tf

from draw.config import DrawConfig, fields_with_role, make_config, validate
from draw.errors import DrawError


def atomic_write_text(path: str, text: str) -> None:
    """Writes text to path through a temporary file and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def default_logdir(explicit: dict) -> str:
    """runs/<dataset>_<preset>, from the flags given or their defaults."""
    defaults = DrawConfig()
    dataset = explicit.get("dataset", defaults.dataset)
    preset = explicit.get("preset", defaults.preset)
    return os.path.join("runs", f"{dataset}_{preset}")


class RunDir:
    def __init__(self, path: str):
        self.path = path
        self.config_path = os.path.join(path, "config.json")
        self.checkpoint_dir = os.path.join(path, "checkpoints")

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
        os.makedirs(self.path, exist_ok=True)
        stored = {"config": json.loads(config.to_json()), "image_shape": list(image_shape)}
        atomic_write_text(self.config_path, json.dumps(stored, indent=2, sort_keys=True) + "\n")


def resolve_config(explicit: dict, logdir: str = "", new_run: bool = False):
    """The configuration of the run in logdir, or of a new one.

    Args:
      explicit: DrawConfig fields given on the command line.
      logdir: the run directory ("" for the default).
      new_run: whether a run may be created (train.py) when logdir holds none.

    Returns (config, RunDir, stored image_shape or None for a new run). A model field
    given explicitly that contradicts the stored configuration is a DrawError; training
    fields given explicitly replace the stored ones.
    """
    run = RunDir(logdir or default_logdir(explicit))
    if not run.exists():
        if not new_run:
            raise DrawError(
                f"no trained run in {run.path} (no config.json); train one with "
                f"python train.py --logdir={run.path}"
            )
        values = {k: v for k, v in explicit.items() if k != "preset"}
        return make_config(explicit.get("preset", "jang"), **values), run, None
    stored, image_shape = run.read()
    model_fields = set(fields_with_role("model"))
    for name, value in explicit.items():
        if name in model_fields and value != getattr(stored, name):
            raise DrawError(
                f"--{name}={value} contradicts the run in {run.path}, trained with "
                f"{name}={getattr(stored, name)}; use another --logdir for a new run"
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
    except (tf.errors.OpError, ValueError, AssertionError) as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DrawError(f"cannot restore checkpoint {path}: {detail}") from None


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


def load_trained_model(explicit: dict, logdir: str = "", named_checkpoint: str = ""):
    """Rebuilds a run's model and restores its weights.

    Returns (config, model, checkpoint path).
    """
    from models import build_model

    config, run, image_shape = resolve_config(explicit, logdir)
    path = checkpoint_to_load(run, named_checkpoint)
    model = build_model(config, image_shape)
    restore(tf.train.Checkpoint(model=model), path, partial=True)
    return config, model, path
