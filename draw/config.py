"""The configuration of a DRAW run, its presets and validation, and the absl flags made
from it.

Every setting is a field of an options dataclass with a default, a help text and, where
the value is one of a list, its choices; `define_option_flags` turns the fields into absl
flags (an enum where there are choices), so a setting is defined once, here for the
model and training (`DrawConfig`) and beside generate.py's and evaluate.py's own code
for theirs. A DrawConfig field's `kind` (KINDS) says what it sets, and from it follow
the scripts that take it, whether the HParams dashboard shows it, and its `role`, how it
behaves when a run directory already exists:

- "model": defines the trained model or its data; it is stored in the run's config.json
  and a value given on the command line that contradicts the stored one is an error.
- "train": how training proceeds (batch size, learning rate, iterations, logging); the
  newest value is used and stored, so `train.py --logdir=RUN --train_iters=N` extends a run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from dataclasses import dataclass, field

from absl import flags

from draw.errors import DrawError

FLAGS = flags.FLAGS

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
    flag is one of the shared flags (`define_flags`), not defined again by the options'
    script; range: (low, high) inclusive for an int; (low, high, open ends: "low",
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


@dataclass
class DrawConfig:
    # Data.
    dataset: str = option(
        "mnist",
        "Dataset to model: mnist, svhn, or cluttered_mnist (100x100 cluttered translated "
        "MNIST made on the fly from the embedded MNIST, for the classifiers; "
        "docs/cluttered.md).",
        choices=("mnist", "svhn", "cluttered_mnist"),
        kind="data",
    )
    binarize: str = option(
        "dynamic",
        "MNIST binarization: dynamic (resampled each time an image is drawn), static "
        "(sampled once with a fixed seed) or none (grey levels, as in Eric Jang's code). "
        "SVHN is always none (intensities in [0, 1]), its default.",
        choices=("dynamic", "static", "none"),
        kind="data",
    )
    color: str = option(
        "gray",
        "SVHN colour: gray (the standard luma, as tf.image.rgb_to_grayscale and the report) "
        "or rgb (3 channels sharing one attention window, as in the DRAW paper).",
        choices=("gray", "rgb"),
        kind="data",
    )
    svhn_extra: bool = option(
        False, "Add SVHN's extra_32x32.mat (531,131 images) to the training split.", kind="data"
    )
    clutter_size: int = option(
        100, "cluttered_mnist: side of the square canvas, in pixels.", range=(28, 4096), kind="data"
    )
    num_distractors: int = option(
        8,
        "cluttered_mnist: distractors (crops of other digits) per image.",
        range=(0, 1000),
        kind="data",
    )
    distractor_size: int = option(
        8, "cluttered_mnist: side of each distractor crop, in pixels.", range=(1, 28), kind="data"
    )
    data_source: str = option(
        "auto",
        "Where the data comes from: files (the raw files in --data_dir), tfds "
        "(tensorflow-datasets, downloads when online), embedded (MNIST copy shipped in the "
        "package) or auto (files if --data_dir is given, else the dataset's default).",
        choices=("auto", "files", "tfds", "embedded"),
        kind="source",
    )
    data_dir: str = option("", "Folder holding the raw dataset files.", kind="source")
    # Model: the recurrence of docs/design.md.
    T: int = option(10, "Number of DRAW steps (glimpses).", range=(1, 1000), kind="model")
    enc_size: int = option(256, "Encoder LSTM units.", range=(1, 8192), kind="model")
    dec_size: int = option(
        256,
        "Decoder LSTM units (the glimpse classifier's one LSTM).",
        range=(1, 8192),
        kind="model",
    )
    z_size: int = option(10, "Latent units per step.", range=(1, 4096), kind="model")
    read_n: int = option(5, "Read glimpse grid size N (N x N).", range=(1, 64), kind="model")
    write_n: int = option(5, "Write glimpse grid size N (N x N).", range=(1, 64), kind="model")
    read_attn: bool = option(True, "Read with the Gaussian attention window.", kind="model")
    write_attn: bool = option(True, "Write with the Gaussian attention window.", kind="model")
    lstm_init: str = option(
        "keras",
        "Initial LSTM weights: keras (Keras' LSTMCell: Glorot-uniform input kernel, "
        "orthogonal recurrent kernel) or jang (TensorFlow 1's LSTMCell as in Eric Jang's "
        "code: one Glorot-uniform draw over the concatenated input and recurrent kernel; "
        "worse and more seed-dependent test-set bounds at 2,000 iterations, "
        "experiments/README.md). "
        "Both start the forget gate's bias at 1.",
        choices=("jang", "keras"),
        kind="model",
    )
    # Ablations (report section 4.1.1) and variants (section 4.2): models/.
    privy: bool = option(
        True,
        "Give the encoder the decoder's previous state h_dec (--noprivy: do not).",
        kind="model",
    )
    read_input: str = option(
        "both",
        "What the encoder reads: both x and the error image x_hat, or only the error image.",
        choices=("both", "error"),
        kind="model",
    )
    model: str = option(
        "draw",
        "Model: draw (the DRAW core), conv_read (report's Model I, each-step convolution "
        "after read), supervised (Model II, supervised conv encoder with a digit "
        "classifier), conv_encoder (Model III, CNN features of x replace x); the "
        "classifiers of the DRAW paper's Table 1: glimpse_classifier (T read glimpses "
        "driving one LSTM, 'differentiable RAM') and conv_classifier (its 2-layer "
        "convolutional baseline).",
        choices=(
            "draw",
            "conv_read",
            "supervised",
            "conv_encoder",
            "glimpse_classifier",
            "conv_classifier",
        ),
        kind="model",
    )
    log_sigma2_bias: float = option(
        3.0,
        "glimpse_classifier: initial bias of the window's log sigma^2, which sets the first "
        "glimpse's filter width (3: sigma ~ 4.5 pixels; 0 leaves sigma = 1 at a 9-pixel "
        "stride on 100x100 images; docs/cluttered.md compares them).",
        range=(-20.0, 20.0, ""),
        kind="model",
    )
    conv_read_mode: str = option(
        "",
        "Model I: concat (conv features beside the raw read) or replace (features alone); "
        "default concat with --model=conv_read.",
        choices=("", "concat", "replace"),
        kind="model",
    )
    conv_filters: str = option(
        "8,16",
        "Models I-III: filters of each conv layer (comma-separated, two layers).",
        kind="model",
    )
    conv_kernel: int = option(
        5, "Models I-III: square kernel size of the conv layers.", range=(1, 32), kind="model"
    )
    conv_stride: int = option(
        2, "Models I-III: stride of the conv layers.", range=(1, 32), kind="model"
    )
    class_hidden: int = option(
        128,
        "Model II: units of the classifier's hidden dense layer.",
        range=(1, 8192),
        kind="model",
    )
    class_weight: float = option(
        1.0,
        "Model II: weight of the classification loss L_c in the training loss.",
        range=(0.0, math.inf, ""),
        kind="model",
    )
    # Training.
    batch_size: int = option(100, "Training minibatch size.", range=(1, 1_000_000), kind="training")
    learning_rate: float = option(1e-3, "Adam learning rate.", range=POSITIVE, kind="training")
    beta_1: float = option(0.5, "Adam beta_1.", range=(0.0, 1.0, "both"), kind="training")
    adam_epsilon: float = option(
        1e-8,
        "Adam epsilon: 1e-8 is TensorFlow 1's AdamOptimizer, which Eric Jang's code ran with "
        "(Keras' own default is 1e-7).",
        range=POSITIVE,
        kind="training",
    )
    clipnorm: float = option(
        5.0, "Per-variable gradient norm clip.", range=POSITIVE, kind="training"
    )
    train_iters: int = option(
        10000, "Total training iterations of the run.", range=(1, COUNT_LIMIT), kind="training"
    )
    seed: int = option(
        0,
        "Seed of the initial weights, data order and noise.",
        range=(0, SEED_LIMIT - 1),
        kind="model",
    )
    log_every: int = option(
        100,
        "Iterations between progress lines and scalar summaries.",
        range=(1, COUNT_LIMIT),
        kind="logging",
    )
    image_every: int = option(
        1000, "Iterations between image summaries.", range=(1, COUNT_LIMIT), kind="logging"
    )
    checkpoint_every: int = option(
        1000, "Iterations between checkpoints.", range=(1, COUNT_LIMIT), kind="logging"
    )
    keep_checkpoints: int = option(
        3, "Checkpoints kept in the run directory.", range=(1, 1000), kind="logging"
    )
    skip_nonfinite: bool = option(
        False,
        "Skip (do not apply) a batch whose loss or gradients are NaN or Inf, counting it in "
        "TensorBoard, instead of stopping the run.",
        kind="training",
    )
    jit_compile: bool = option(
        False,
        "Compile the train/test steps with XLA (slower on CPU: bench/README.md).",
        kind="device",
    )
    strategy: str = option(
        "default",
        "tf.distribute strategy: default (one device), mirrored (all GPUs of this machine), "
        "multi_worker (the machines of TF_CONFIG), tpu (the TPU named by --tpu). "
        "--batch_size is the global batch, split evenly over the replicas.",
        choices=("default", "mirrored", "multi_worker", "tpu"),
        kind="device",
    )
    tpu: str = option(
        "",
        "For --strategy=tpu: the TPU's name or grpc:// address (local on a TPU VM).",
        kind="device",
    )
    preset: str = option(
        "jang",
        "Named setup: jang (Eric Jang's draw.py), paper_mnist (DRAW paper: T=64, z=100, "
        "read 2x2, write 5x5), paper_svhn (DRAW paper's SVHN: 800 LSTM units, z=100, T=32, "
        "12x12 read and write, RGB), cluttered_mnist (DRAW paper's Table 1: 8 glimpses of "
        "12x12 on 100x100 cluttered MNIST, one LSTM of 256 units; --T=4 for 4 glimpses).",
        choices=("jang", "paper_mnist", "paper_svhn", "cluttered_mnist"),
        kind="model",
    )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> DrawConfig:
        """The configuration stored as `values` (from JSON), read strictly: a missing key,
        an unknown key or a value of the wrong type is a DrawError naming the key.

        The one exception: a stored configuration without both `adam_epsilon` and
        `lstm_init` comes from a run made before these settings existed; it was trained
        with LEGACY_VALUES, which it keeps. Lacking only one of them is an error. The
        fields of the classifiers and of cluttered MNIST (CLASSIFIER_ERA_DEFAULTS) take
        their defaults when absent: a run stored before they existed is a DRAW run on
        MNIST or SVHN, for which they have no other value.
        """
        if not isinstance(values, dict):
            raise DrawError(f"the configuration is a {type(values).__name__}, not an object")
        if not set(LEGACY_VALUES) & set(values):
            values = {**LEGACY_VALUES, **values}
        values = {**CLASSIFIER_ERA_DEFAULTS, **values}
        types = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(types))
        if unknown:
            raise DrawError(f"unknown configuration keys {unknown}")
        missing = sorted(set(types) - set(values))
        if missing:
            raise DrawError(f"missing configuration keys {missing}")
        for name, value in values.items():
            if not isinstance(value, _JSON_TYPES[types[name]]) or (
                isinstance(value, bool) and types[name] != "bool"
            ):
                raise DrawError(f"{name}={value!r} is not of type {types[name]}")
        return cls(**values)

    def replace(self, **changes) -> DrawConfig:
        return dataclasses.replace(self, **changes)


# What runs stored without `adam_epsilon` and `lstm_init` were trained with.
LEGACY_VALUES = {"adam_epsilon": 1e-7, "lstm_init": "keras"}

# Fields a configuration stored before the classifiers existed lacks, and their values.
CLASSIFIER_ERA_DEFAULTS = {
    "clutter_size": 100,
    "num_distractors": 8,
    "distractor_size": 8,
    "log_sigma2_bias": 3.0,
}

_JSON_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str}

# Values that differ from the dataclass defaults (which are the jang preset).
PRESETS: dict[str, dict] = {
    "jang": {},
    "paper_mnist": {"T": 64, "z_size": 100, "read_n": 2, "write_n": 5},
    "paper_svhn": {
        "dataset": "svhn",
        "color": "rgb",
        "enc_size": 800,
        "dec_size": 800,
        "z_size": 100,
        "T": 32,
        "read_n": 12,
        "write_n": 12,
    },
    "cluttered_mnist": {
        "dataset": "cluttered_mnist",
        "binarize": "none",
        "model": "glimpse_classifier",
        "T": 8,
        "read_n": 12,
        "learning_rate": 5e-4,
        "beta_1": 0.9,
        "adam_epsilon": 1e-7,
        "train_iters": 30000,
    },
}

# Values a dataset implies unless the preset or the command line sets them: SVHN is
# modelled as intensities in [0, 1], never binarized.
DATASET_DEFAULTS: dict[str, dict] = {
    "mnist": {},
    "svhn": {"binarize": "none"},
    "cluttered_mnist": {"binarize": "none"},
}

CLASSIFIERS = ("glimpse_classifier", "conv_classifier")
# The fields each classifier uses besides data and training; every other model field
# (DRAW's encoder, latents, write, variants) is for the DRAW models only.
CLASSIFIER_FIELDS = {
    "glimpse_classifier": ("T", "dec_size", "read_n", "read_attn", "log_sigma2_bias"),
    "conv_classifier": ("class_hidden",),
}
CLUTTER_FIELDS = ("clutter_size", "num_distractors", "distractor_size")


def check_kinds(options_class) -> None:
    """TypeError for a field of options_class (DrawConfig) without a kind of KINDS, so that
    a new field says what it is (and so whether it is an HParam, which scripts take it)."""
    for f in dataclasses.fields(options_class):
        if f.metadata["kind"] not in KINDS:
            kind = f.metadata["kind"]
            raise TypeError(f"{options_class.__name__}.{f.name}: kind {kind!r} is not in KINDS")


check_kinds(DrawConfig)


def kind_of(name: str) -> Kind:
    """What the DrawConfig field `name` is."""
    return KINDS[DrawConfig.__dataclass_fields__[name].metadata["kind"]]


def fields_with_role(role: str) -> list[str]:
    return [f.name for f in dataclasses.fields(DrawConfig) if kind_of(f.name).role == role]


def fields_in_group(group: str) -> list[str]:
    """DrawConfig's fields of a --help group: "data", "model" or "training" (train.py's
    only), in DrawConfig's order."""
    return [f.name for f in dataclasses.fields(DrawConfig) if kind_of(f.name).group == group]


def hparam_fields() -> list[str]:
    """DrawConfig's fields that define the model and its training (the HParams), in order."""
    return [f.name for f in dataclasses.fields(DrawConfig) if kind_of(f.name).hparam]


def make_config(preset: str = "jang", **overrides) -> DrawConfig:
    """The preset's configuration with `overrides` applied, validated."""
    if preset not in PRESETS:
        raise DrawError(f"--preset={preset} is not one of {', '.join(PRESETS)}")
    values = {**PRESETS[preset], **overrides}
    dataset = values.get("dataset", DrawConfig.dataset)
    values = {**DATASET_DEFAULTS.get(dataset, {}), **values}
    if values.get("model") == "conv_read" and not values.get("conv_read_mode"):
        values["conv_read_mode"] = "concat"
    config = DrawConfig(preset=preset, **values)
    validate(config)
    return config


def validate(config: DrawConfig) -> None:
    """Raises DrawError with one clear sentence for the first invalid value."""
    check_fields(config)
    for name, attn in (("read_n", config.read_attn), ("write_n", config.write_attn)):
        if attn and getattr(config, name) < 2:
            raise DrawError(
                f"--{name} must be at least 2 with attention, got {getattr(config, name)}"
            )
    if config.data_source == "files" and not config.data_dir:
        raise DrawError("--data_source=files needs --data_dir")
    _validate_dataset_options(config)
    _validate_variant(config)


def _validate_dataset_options(config: DrawConfig) -> None:
    """The options that only some datasets take."""
    if config.dataset in ("svhn", "cluttered_mnist") and config.binarize != "none":
        raise DrawError(
            f"--binarize={config.binarize} is for MNIST; {config.dataset} is modelled as "
            "intensities in [0, 1] (--binarize=none, its default)"
        )
    if config.dataset != "cluttered_mnist":
        for name in CLUTTER_FIELDS:
            if getattr(config, name) != getattr(DrawConfig, name):
                raise DrawError(f"--{name} is for --dataset=cluttered_mnist, not {config.dataset}")
    elif config.distractor_size > 28 or config.clutter_size < 28:
        raise DrawError("cluttered_mnist needs --clutter_size >= 28 and --distractor_size <= 28")
    if config.dataset != "svhn" and config.color != "gray":
        raise DrawError(f"--color={config.color} is for SVHN; {config.dataset} is grayscale")
    if config.dataset != "svhn" and config.svhn_extra:
        raise DrawError(f"--svhn_extra is for --dataset=svhn, not {config.dataset}")


def conv_filters(config: DrawConfig) -> tuple[int, ...]:
    """--conv_filters as a tuple of positive ints; DrawError if malformed."""
    try:
        filters = tuple(int(f) for f in config.conv_filters.split(","))
    except ValueError:
        filters = ()
    if len(filters) != 2 or min(filters) <= 0:
        raise DrawError(
            f"--conv_filters={config.conv_filters} must be two positive integers, e.g. 16,32"
        )
    return filters


def _validate_classifier(config: DrawConfig) -> None:
    """A model field the chosen model does not use, set away from the preset's value, is
    an error: the DRAW models' fields for a classifier, and the reverse."""
    preset = DrawConfig(preset=config.preset, **PRESETS[config.preset])
    used = set(CLASSIFIER_FIELDS.get(config.model, ()))
    if config.model not in CLASSIFIERS:
        used = set(fields_with_role("model")) - {"log_sigma2_bias"}
    ignored = set(fields_with_role("model")) - used - {"preset", "dataset", "model", "seed"}
    ignored -= {"binarize", "color", "svhn_extra", *CLUTTER_FIELDS}
    for name in fields_with_role("model"):
        if name in ignored and getattr(config, name) != getattr(preset, name):
            hint = " (its one LSTM is --dec_size)" if name == "enc_size" else ""
            raise DrawError(f"--{name} does not apply to --model={config.model}{hint}")
    if config.model == "glimpse_classifier" and not config.read_attn:
        raise DrawError(
            "--model=glimpse_classifier reads through the attention window: drop --noread_attn"
        )


def _validate_variant(config: DrawConfig) -> None:
    """The ablation and variant flags of report sections 4.1.1 and 4.2 fit together."""
    _validate_classifier(config)
    if config.model in CLASSIFIERS:
        return
    if config.model == "conv_read":
        if config.read_attn:
            raise DrawError(
                "--model=conv_read convolves the whole images (the report's read without "
                "attention): add --noread_attn"
            )
        if not config.conv_read_mode:
            raise DrawError("--model=conv_read needs --conv_read_mode=concat or replace")
    elif config.conv_read_mode:
        raise DrawError(
            f"--conv_read_mode={config.conv_read_mode} applies only to --model=conv_read, "
            f"not --model={config.model}"
        )
    if config.model == "conv_encoder" and config.read_input == "error":
        raise DrawError(
            "--read_input does not apply to --model=conv_encoder, whose encoder always reads "
            "the error image and CNN features in place of x"
        )
    if config.model != "draw":
        conv_filters(config)


def flag_name(f: dataclasses.Field) -> str:
    return f.metadata["flag"] or f.name


def check_fields(options) -> None:
    """DrawError for the first field of the options dataclass whose value is not one of its
    choices or outside its range (absl checks only the choices and types on the command
    line; this checks every value, also those from config.json or Python)."""
    for f in dataclasses.fields(options):
        choices, valid = f.metadata["choices"], f.metadata["range"]
        value = getattr(options, f.name)
        if choices and value not in choices:
            raise DrawError(f"--{flag_name(f)}={value} is not one of {', '.join(choices)}")
        if valid and len(valid) == 2:
            check_int(flag_name(f), value, *valid)
        elif valid:
            check_float(flag_name(f), value, *valid)


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
    skip): an enum where the field has choices; a flag already defined is kept."""
    for f in dataclasses.fields(options_class):
        if f.metadata["shared"] or f.name in skip or flag_name(f) in flag_values:
            continue
        choices, help_text = f.metadata["choices"], f.metadata["help"]
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
