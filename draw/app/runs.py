"""The run a script works on, from its flags: train.py's new run or an existing one."""

from __future__ import annotations

from draw.configure import make_config
from draw.errors import DrawError
from draw.run_dir import RunDir, configured_run, default_logdir


def resolve_config(explicit: dict, logdir: str = "", new_run: bool = False, overwrite=False):
    """The configuration of the run in logdir, or of a new one.

    Args:
      explicit: DrawConfig fields given on the command line.
      logdir: the run directory ("" for the default).
      new_run: whether a run may be created (train.py) when logdir holds none.
      overwrite: a new run replaces the one in logdir (the caller then calls run.clear()).

    Returns (config, RunDir, stored image_shape or None for a new run). A model field
    given explicitly that contradicts the stored configuration is a DrawError; training
    fields given explicitly replace the stored ones (draw.run_dir.configured_run).
    """
    run = RunDir(logdir or default_logdir(explicit))
    if not new_run or not (overwrite or not run.exists()):
        return configured_run(explicit, run.path)
    if run.has_checkpoints() and not overwrite:
        raise DrawError(
            f"{run.checkpoint_dir} holds checkpoints but {run.config_path} is missing; "
            "put it back, or start a new run there with --overwrite"
        )
    values = {k: v for k, v in explicit.items() if k != "preset"}
    return make_config(explicit.get("preset", "jang"), **values), run, None
