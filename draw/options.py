"""The option-metadata scheme: a setting is a field of an options dataclass with its default,
help text, kind, choices and range (`option`), checked by `check_fields`.

DrawConfig (draw.config) and the scripts' own options (generate.py's, evaluate.py's) are
such dataclasses; the application layer (draw.app.flags) turns their fields into absl flags.
A DrawConfig field's `kind` (KINDS) says what it sets, and from it follow the scripts that
take it, whether the HParams dashboard shows it, and its `role`, how it behaves when a run
directory already exists:

- "model": defines the trained model or its data; it is stored in the run's config.json
  and a value given on the command line that contradicts the stored one is an error.
- "train": how training proceeds (batch size, learning rate, iterations, logging); the
  newest value is used and stored, so `train.py --logdir=RUN --train_iters=N` extends a run.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from dataclasses import dataclass, field

from draw.errors import DrawError

SEED_LIMIT = 2**32  # seeds are in [0, 2^32): NumPy's and TensorFlow's seeds both take them
COUNT_LIMIT = 10**9  # iterations and intervals: far beyond any run, far below int64
# A finite float > 0 (a float range is (low, high, which ends are open)).
POSITIVE = (0.0, math.inf, "low")


@dataclass(frozen=True)
class Kind:
    """What a kind of DrawConfig field is: its role ("model" or "train", see above), whether
    it is an HParam (defines the model or its training, not paths, logging or devices), and
    its group in --help ("training": only train.py takes it)."""

    role: str
    hparam: bool
    group: str


KINDS = {
    "data": Kind("model", True, "data"),  # which data: the dataset and its preparation
    "source": Kind("train", False, "data"),  # where the data is read from
    "model": Kind("model", True, "model"),
    "training": Kind("train", True, "training"),  # the optimisation
    "logging": Kind("train", False, "training"),  # progress, summaries, checkpoints
    "device": Kind("train", False, "training"),  # where and how the steps run
}


def option(default, help, kind="", choices=None, flag=None, shared=False, range=None):
    """A field of an options dataclass: its default, help text, kind, choices and range.

    kind: one of KINDS for a DrawConfig field (required there), "" for a script's own
    option; flag: the flag's name when it is not the field's (e.g. "nn-nll"); shared: the
    flag is one of the shared flags (draw.app.flags.define_flags), not defined again by the
    options' script; range: (low, high) inclusive for an int; (low, high, open ends: "low",
    "high", "both" or "") for a float, which must also be finite.
    """
    metadata = {
        "help": help,
        "kind": kind,
        "choices": choices,
        "flag": flag,
        "shared": shared,
        "range": range,
    }
    return field(default=default, metadata=metadata)


def check_kinds(options_class) -> None:
    """TypeError for a field of options_class (DrawConfig) without a kind of KINDS, so that
    a new field says what it is (and so whether it is an HParam, which scripts take it)."""
    for f in dataclasses.fields(options_class):
        if f.metadata["kind"] not in KINDS:
            kind = f.metadata["kind"]
            raise TypeError(f"{options_class.__name__}.{f.name}: kind {kind!r} is not in KINDS")


def flag_name(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or f.name


def check_fields(options) -> None:
    """DrawError for the first field of the options dataclass whose value is not one of its
    choices or outside its range (absl checks only the choices and types on the command
    line; this checks every value, also those from config.json or Python)."""
    for f in dataclasses.fields(options):
        check_choice(flag_name(f), getattr(options, f.name), f.metadata["choices"])
        valid, value = f.metadata["range"], getattr(options, f.name)
        if valid and len(valid) == 2:
            check_int(flag_name(f), value, *valid)
        elif valid:
            check_float(flag_name(f), value, *valid)


def check_choice(name: str, value, choices) -> None:
    """DrawError unless value is one of choices (no choices: any value)."""
    if choices and value not in choices:
        raise DrawError(f"--{name}={value} is not one of {', '.join(choices)}")


def check_int(name: str, value: int, low: int, high: int) -> None:
    """DrawError unless low <= value <= high."""
    if value < low:
        what = {0: "non-negative", 1: "positive"}.get(low, f"at least {low}")
        raise DrawError(f"--{name} must be {what}, got {value}")
    if value > high:
        raise DrawError(f"--{name}={value} is above its limit of {high:,}")


def float32(value: float) -> float:
    """value rounded to the nearest float32 (an infinity beyond float32's range)."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def check_float(name: str, value: float, low: float, high: float, open_ends: str = "") -> None:
    """DrawError unless value is finite and within its range (see `option`), both as given
    and as the float32 the model computes with (1e39 is infinite there, 1e-50 zero)."""
    for candidate in (value, float32(value)):
        below = candidate <= low if open_ends in ("low", "both") else candidate < low
        above = candidate >= high if open_ends in ("high", "both") else candidate > high
        if not math.isfinite(candidate) or below or above:
            break
    else:
        return
    if candidate is not value:
        value = f"{value} ({candidate} as a float32, which the model computes with)"
    if math.isinf(high):
        what = "positive" if open_ends == "low" else "non-negative"
        raise DrawError(f"--{name} must be finite and {what}, got {value}")
    raise DrawError(f"--{name} must be in {range_text((low, high, open_ends))}, got {value}")


def range_text(valid: tuple) -> str:
    """A field's valid range for its flag help: `1..1000`, `(0, inf)`, `(0, 1)`."""
    if len(valid) == 2:
        return f"{valid[0]}..{valid[1]}"
    low, high, open_ends = valid
    left = "(" if open_ends in ("low", "both") else "["
    right = ")" if open_ends in ("high", "both") or math.isinf(high) else "]"
    return f"{left}{low:g}, {high:g}{right}"
