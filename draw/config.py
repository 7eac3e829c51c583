"""The configuration of a DRAW run: `DrawConfig`, its presets and the checks every
configuration passes.

Every setting is a field with a default, a help text, a kind and, where the value is one of
a list or within a range, its choices or range (draw.options: the kinds decide which
scripts take a setting, whether it is an HParam and how it behaves on an existing run).
The datasets and models are not known here: their registries (draw.data, draw.models)
declare them, and draw.configure makes and checks a configuration with them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from draw.errors import DrawError
from draw.options import (
    COUNT_LIMIT,
    KINDS,
    POSITIVE,
    SEED_LIMIT,
    Kind,
    check_fields,
    check_kinds,
    option,
)

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


@dataclass
class DrawConfig:
    # Data.
    # The dataset and the model are names of the registries (draw.data.DATASETS,
    # draw.models.MODELS), which give their choices and help (draw.configure).
    dataset: str = option("mnist", "Dataset to model.", kind="data")
    binarize: str = option(
        "dynamic",
        "MNIST binarization: dynamic (resampled each time an image is drawn), static "
        "(sampled once with a fixed seed) or none (grey levels, as in Eric Jang's code). "
        "The datasets of intensities in [0, 1] (SVHN, cluttered MNIST) are always none, "
        "their default.",
        choices=("dynamic", "static", "none"),
        kind="data",
    )
    color: str = option(
        "gray",
        "Colour of an RGB dataset (SVHN): gray (the standard luma, as "
        "tf.image.rgb_to_grayscale and the report) or rgb (3 channels sharing one attention "
        "window, as in the DRAW paper).",
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
    model: str = option("draw", "Model.", kind="model")
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
        choices=tuple(PRESETS),
        kind="model",
    )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict, absent: dict | None = None) -> DrawConfig:
        """The configuration stored as `values` (from JSON), read strictly: a missing key,
        an unknown key or a value of the wrong type is a DrawError naming the key.

        Two exceptions. A setting of `absent` that `values` lacks takes its value there
        (draw.configure.stored_defaults: a setting only other models and datasets take,
        which a run stored before it existed lacks, takes its default, the only value it
        has for the run's own model and dataset). A stored configuration without both
        `adam_epsilon` and `lstm_init` comes from a run made before these settings
        existed; it was trained with LEGACY_VALUES, which it keeps (lacking only one of
        them is an error).
        """
        if not isinstance(values, dict):
            raise DrawError(f"the configuration is a {type(values).__name__}, not an object")
        if not set(LEGACY_VALUES) & set(values):
            values = {**LEGACY_VALUES, **values}
        values = {**(absent or {}), **values}
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


check_kinds(DrawConfig)


def preset_config(name: str) -> DrawConfig:
    """The configuration of the preset `name` as it is (what a run's values differ from)."""
    return DrawConfig(preset=name, **PRESETS[name])


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


def check_values(config: DrawConfig) -> None:
    """DrawError with one clear sentence for the first invalid value of those every
    configuration checks, whatever its dataset and model (draw.configure.validate adds
    theirs): each value's type, choices and range, and the glimpses and files it needs."""
    check_fields(config)
    for name, attn in (("read_n", config.read_attn), ("write_n", config.write_attn)):
        if attn and getattr(config, name) < 2:
            raise DrawError(
                f"--{name} must be at least 2 with attention, got {getattr(config, name)}"
            )
    if config.data_source == "files" and not config.data_dir:
        raise DrawError("--data_source=files needs --data_dir")
