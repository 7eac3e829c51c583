"""The shipped trained models: the folders of draw/pretrained_models/, one per model.

    NAME/model.weights.h5   its weights only (Keras save_weights: no optimizer state)
    NAME/config.json        its configuration, as in the run directory it came from
    NAME/README.md          its card: the training command, commit, seed, wall time and
                            the test-set figure evaluate.py gives on it

The folder is a run directory of weights only (draw.run_dir), so it loads as a run does
(`draw.api.load(NAME)`, the scripts' `--pretrained=NAME`). `python evaluate.py
--logdir=RUN --ship=NAME` makes one from a trained run (draw.app.shipping).
"""

from __future__ import annotations

import os

from draw.errors import DrawError
from draw.run_dir import RunDir

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained_models")
PREFERRED = "mnist_attention"  # the model generate.py uses when there is no run


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
