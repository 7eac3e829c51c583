"""The absl flags of the scripts, made from options dataclasses (draw.options): one flag
per field of DrawConfig (the shared flags), the run flags, and each script's own options.
A setting is defined once, as a field; its flag follows."""

from __future__ import annotations

import dataclasses

from absl import flags

from draw import configure
from draw.config import DrawConfig, fields_in_group
from draw.options import flag_name, range_text

FLAGS = flags.FLAGS

_DEFINE_BY_TYPE = {
    "int": flags.DEFINE_integer,
    "float": flags.DEFINE_float,
    "bool": flags.DEFINE_boolean,
    "bool | None": flags.DEFINE_boolean,
    "str": flags.DEFINE_string,
    "list[str] | None": flags.DEFINE_list,
}


def define_option_flags(options_class, flag_values=FLAGS, skip=()) -> None:
    """One absl flag per field of options_class (but the shared ones and those named in
    skip): an enum where the field has choices; a flag already defined is kept.
    DrawConfig's --dataset and --model take their choices and help from the registries."""
    for f in dataclasses.fields(options_class):
        if f.metadata["shared"] or f.name in skip or flag_name(f) in flag_values:
            continue
        choices, help_text = f.metadata["choices"], f.metadata["help"]
        if options_class is DrawConfig:
            choices, help_text = configure.choices(f.name), configure.help_of(f.name)
        if f.metadata["range"]:
            help_text += f" Range: {range_text(f.metadata['range'])}."
        if choices:
            flags.DEFINE_enum(flag_name(f), f.default, choices, help_text, flag_values=flag_values)
        else:
            define = _DEFINE_BY_TYPE[f.type]
            define(flag_name(f), f.default, help_text, flag_values=flag_values)


def options_from_flags(options_class, flag_values=FLAGS):
    """An options_class with every field's value from its flag."""
    fields = dataclasses.fields(options_class)
    return options_class(**{f.name: flag_values[flag_name(f)].value for f in fields})


# The shared flags that are not DrawConfig fields: which run, and how to run it.
RUN_FLAGS = (
    "logdir",
    "pretrained",
    "checkpoint",
    "overwrite",
    "restore_from_previous",
    "intra_op_threads",
    "verbose",
)


def define_flags(flag_values=FLAGS, training: bool = True) -> None:
    """Defines the flags of DrawConfig's fields (without training=True, not the "training"
    group's, which only train.py takes) and the run flags; safe to call twice."""
    define_option_flags(DrawConfig, flag_values, () if training else fields_in_group("training"))
    if "logdir" in flag_values:
        return
    flags.DEFINE_string(
        "logdir",
        "",
        "Run directory: config.json, checkpoints, TensorBoard events, outputs. "
        "Default: runs/<dataset>_<preset>.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "pretrained",
        "",
        "A shipped trained model to use instead of a run (e.g. mnist_attention; "
        "docs/pretrained.md). generate.py and evaluate.py write to runs/pretrained/NAME; "
        "train.py starts a new run from its weights.",
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
        "config.json, checkpoints/, train/, test/ and TensorBoard events are deleted "
        "first). generate.py: replace files of the same name in --out_dir, and the "
        "--export folder. evaluate.py: replace the shipped model of the --ship name.",
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
        "XLA and with at most 256 LSTM units (faster there: bench/README.md; the run's "
        "test-set evaluation uses it too), else TensorFlow's default; 0: TensorFlow's "
        "default (one per logical CPU); N: N threads.",
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
        if f.name in flag_values and flag_values[f.name].present
    }
