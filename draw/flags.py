"""The absl flag vocabulary shared by train.py, generate.py and evaluate.py.

The flags are generated from the fields of `draw.config.DrawConfig`, so a new setting is
added in one place. Only flags given explicitly on the command line override the preset
or the run's stored configuration (`explicit_config_values`).
"""

from __future__ import annotations

import dataclasses

from absl import flags

from draw.config import DrawConfig

FLAGS = flags.FLAGS

_DEFINE_BY_TYPE = {
    "int": flags.DEFINE_integer,
    "float": flags.DEFINE_float,
    "bool": flags.DEFINE_boolean,
    "str": flags.DEFINE_string,
}


def define_flags(flag_values=FLAGS) -> None:
    """Defines one flag per DrawConfig field plus the run flags; safe to call twice."""
    if "logdir" in flag_values:
        return
    for f in dataclasses.fields(DrawConfig):
        help_text = f.metadata["help"]
        if f.metadata["choices"]:
            help_text += f" One of: {', '.join(f.metadata['choices'])}."
        _DEFINE_BY_TYPE[f.type](f.name, f.default, help_text, flag_values=flag_values)
    flags.DEFINE_string(
        "logdir",
        "",
        "Run directory: config.json, checkpoints, TensorBoard events, outputs. "
        "Default: runs/<dataset>_<preset>.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "checkpoint",
        "",
        "A named checkpoint (path prefix) instead of the run's latest.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "overwrite",
        False,
        "train.py: start a new run in --logdir even though one exists there (its "
        "config.json, checkpoints/, train/ and test/ are deleted first). generate.py: "
        "replace files of the same name in --out_dir.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "restore_from_previous",
        False,
        "When the newest checkpoint does not read (truncated, corrupt), restore the newest "
        "one that does; unreadable ones are reported and left in place.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "intra_op_threads",
        -1,
        "Threads TensorFlow gives one op. -1 (automatic): 1 for train.py on CPU without "
        "XLA and with at most 256 LSTM units (measured faster at batch 100 on 2 cores, "
        "README, Performance; the run's test-set evaluation uses it too), else "
        "TensorFlow's default; 0: TensorFlow's default (one per logical CPU); N: N threads.",
        flag_values=flag_values,
    )
    flags.DEFINE_boolean(
        "verbose", False, "Show TensorFlow logs and full tracebacks.", flag_values=flag_values
    )


def explicit_config_values(flag_values=FLAGS) -> dict:
    """The DrawConfig fields the user gave on the command line, as {name: value}."""
    return {
        f.name: flag_values[f.name].value
        for f in dataclasses.fields(DrawConfig)
        if flag_values[f.name].present
    }
