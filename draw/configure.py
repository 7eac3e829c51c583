"""A configuration made and checked against the registries: `make_config` (a preset, the
values its dataset and model imply, the overrides), `validate`, and the values a stored
configuration takes for the settings only other models and datasets take
(`stored_defaults`).

draw.config knows every setting but no dataset or model: its `check_values` checks each
value's type, choices and range and what holds for every configuration. The registries
(draw.data.DATASETS, draw.models.MODELS) declare each dataset and model with the values it
implies, the settings it takes and its own checks; this module applies them, and gives the
--dataset and --model flags their choices and help.
"""

from __future__ import annotations

from draw.config import PRESETS, DrawConfig, check_values, fields_in_group, preset_config
from draw.data import DATASETS
from draw.errors import DrawError
from draw.models import MODELS
from draw.options import check_choice

# The settings whose values are the names of a registry.
REGISTRIES = {"dataset": DATASETS, "model": MODELS}


def choices(name: str) -> tuple | None:
    """The values the DrawConfig field `name` takes (None: any of its type)."""
    if name in REGISTRIES:
        return tuple(REGISTRIES[name])
    return DrawConfig.__dataclass_fields__[name].metadata["choices"]


def help_of(name: str) -> str:
    """The help of the DrawConfig field `name`; a registry's with each entry's help."""
    text = DrawConfig.__dataclass_fields__[name].metadata["help"]
    if name not in REGISTRIES:
        return text
    entries = ", ".join(f"{key} ({entry.help})" for key, entry in REGISTRIES[name].items())
    return f"{text.rstrip('.')}: {entries}."


def stored_defaults(values) -> dict:
    """The values a stored configuration `values` (a run's config.json, read by
    DrawConfig.from_dict) takes for the settings it lacks: the defaults of the settings
    only other models and datasets take (their entries' `own`), which a run stored before
    such a setting existed lacks, and which have no other value for its own model and
    dataset. A setting its own model or dataset takes is not among them: lacking it stays
    an error."""
    if not isinstance(values, dict):
        return {}
    taken, others = set(), set()
    for name, registry in REGISTRIES.items():
        for key, entry in registry.items():
            (taken if key == values.get(name) else others).update(entry.own)
    fields = DrawConfig.__dataclass_fields__
    return {setting: fields[setting].default for setting in sorted(others - taken)}


def make_config(preset: str = "jang", **overrides) -> DrawConfig:
    """The preset's configuration with `overrides` applied, validated. The values the
    dataset and the model imply (their entries' defaults) apply unless the preset or the
    overrides set them."""
    check_choice("preset", preset, PRESETS)
    values = {**PRESETS[preset], **overrides}
    dataset = DATASETS.get(values.get("dataset", DrawConfig.dataset))
    model = MODELS.get(values.get("model", DrawConfig.model))
    implied = {**(dataset.defaults if dataset else {}), **(model.defaults if model else {})}
    config = DrawConfig(preset=preset, **{**implied, **values})
    validate(config)
    return config


def validate(config: DrawConfig) -> None:
    """Raises DrawError with one clear sentence for the first invalid value."""
    check_values(config)
    for name, registry in REGISTRIES.items():
        check_choice(name, getattr(config, name), registry)
    _check_dataset(config)
    _check_model(config)


def _check_dataset(config: DrawConfig) -> None:
    """The data settings only some datasets take, given with another."""
    entry = DATASETS[config.dataset]
    fixed = entry.defaults.get("binarize")
    if fixed and config.binarize != fixed:
        binarized = [e.title for e in DATASETS.values() if "binarize" not in e.defaults]
        raise DrawError(
            f"--binarize={config.binarize} is for {' and '.join(binarized)}; "
            f"{config.dataset} is modelled as intensities in [0, 1] (--binarize={fixed}, "
            "its default)"
        )
    if not entry.colour and config.color != DrawConfig.color:
        colour = [e.title for e in DATASETS.values() if e.colour]
        raise DrawError(
            f"--color={config.color} is for {' and '.join(colour)}; {config.dataset} is grayscale"
        )
    for name, other in DATASETS.items():
        for setting in other.own:
            if setting not in entry.own and getattr(config, setting) != getattr(
                DrawConfig, setting
            ):
                raise DrawError(f"--{setting} is for --dataset={name}, not {config.dataset}")


def _check_model(config: DrawConfig) -> None:
    """The model settings the chosen model does not take (those of the other task, another
    model's own), given away from the preset's value; then the model's own checks."""
    entry = MODELS[config.model]
    preset = preset_config(config.preset)
    changed = [
        name
        for name in fields_in_group("model")
        if name not in ("preset", "model", "seed")
        and getattr(config, name) != getattr(preset, name)
    ]
    for name in changed:
        if entry.uses is not None and name not in entry.uses:
            hint = " (its one LSTM is --dec_size)" if name == "enc_size" else ""
            raise DrawError(f"--{name} does not apply to --model={config.model}{hint}")
    for name, other in MODELS.items():
        for setting in [s for s in changed if s in other.own and s not in entry.own]:
            raise DrawError(
                f"--{setting}={getattr(config, setting)} applies only to --model={name}, "
                f"not --model={config.model}"
            )
    if entry.check:
        entry.check(config)
