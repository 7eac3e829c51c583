"""The models: the DRAW core, the report's variants and the classifiers of the DRAW paper's
Table 1, each declared once in MODELS (a draw.registry.ModelEntry), with everything the
rest of the code derives from it (the --model choices and help, the task, the settings it
takes, its checks). A module of this package that declares a dict MODELS adds its models.

--model=draw is the DRAW core (draw.model.DRAW) with its ablation switches (--T,
--read_attn, --write_attn, --noprivy, --read_input); the report's Models I-III (section
4.2) are small subclasses of it that change only the core's hooks.
"""

from __future__ import annotations

from collections.abc import Callable

from draw.errors import DrawError
from draw.model import DRAW
from draw.models.classifier import ConvClassifier, GlimpseClassifier
from draw.models.conv_encoder import ConvEncoderDRAW
from draw.models.conv_read import ConvReadDRAW
from draw.models.supervised import NUM_CLASSES, SupervisedDRAW
from draw.registry import CLASSIFICATION, ModelEntry, Task, declared

MODELS = {
    "draw": ModelEntry(DRAW, "the DRAW core"),
    "conv_read": ModelEntry(
        ConvReadDRAW,
        "report's Model I, each-step convolution after read",
        own=("conv_read_mode",),
        defaults={"conv_read_mode": "concat"},
        check=ConvReadDRAW.check_config,
        kernels=True,
    ),
    "supervised": ModelEntry(
        SupervisedDRAW,
        "Model II, supervised conv encoder with a digit classifier",
        check=SupervisedDRAW.check_config,
        labels=True,
        kernels=True,
    ),
    "conv_encoder": ModelEntry(
        ConvEncoderDRAW,
        "Model III, CNN features of x replace x",
        check=ConvEncoderDRAW.check_config,
        kernels=True,
    ),
    "glimpse_classifier": ModelEntry(
        GlimpseClassifier.from_draw_config,
        "the DRAW paper's Table 1 classifier: T read glimpses driving one LSTM, "
        "'differentiable RAM'",
        task=CLASSIFICATION,
        uses=("T", "dec_size", "read_n", "read_attn", "log_sigma2_bias"),
        own=("log_sigma2_bias",),
        check=GlimpseClassifier.check_config,
        glimpses=True,
        describe=GlimpseClassifier.describe,
    ),
    "conv_classifier": ModelEntry(
        ConvClassifier.from_draw_config,
        "its 2-layer convolutional baseline",
        task=CLASSIFICATION,
        uses=("class_hidden",),
        describe=ConvClassifier.describe,
    ),
}
# A model of a module of its own declares its entry there (docs/extending.md).
MODELS.update(declared(__name__, __path__, "MODELS", MODELS))

# The models of each task (a model's task decides which measures, modes and metrics apply).
CLASSIFIERS = tuple(name for name, entry in MODELS.items() if entry.task is CLASSIFICATION)


def task_of(config) -> Task:
    """The task of config's model."""
    return MODELS[config.model].task


def names_of(capable: Callable[[ModelEntry], bool]) -> str:
    """The --model names whose entry is `capable`, as a sentence lists them: "a, b or c"."""
    names = [name for name, entry in MODELS.items() if capable(entry)]
    return " or ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))


def check_kernels(config) -> None:
    """DrawError for a model without convolution kernels to show (generate.py --kernels:
    its entry's `kernels`)."""
    if not MODELS[config.model].kernels:
        raise DrawError(
            f"--kernels needs a model with convolution layers (--model="
            f"{names_of(lambda entry: entry.kernels)}); this run is --model={config.model}"
        )


def check_glimpses(config) -> None:
    """DrawError for a model without glimpses to show (generate.py --glimpses: its entry's
    `glimpses`)."""
    if not MODELS[config.model].glimpses:
        raise DrawError(
            f"--glimpses needs --model={names_of(lambda entry: entry.glimpses)}, not {config.model}"
        )


def build_model(config, image_shape):
    """The model of config for images of `image_shape` (H, W, C), with its weights created."""
    model = MODELS[config.model].build(config, image_shape, name="draw")
    model.build_variables()
    return model


def check_data(config, data) -> None:
    """DrawError when the data cannot serve config's model (one trained on labels needs
    digit labels)."""
    entry = MODELS[config.model]
    if not (entry.labels or entry.task is CLASSIFICATION):
        return
    for split, labels in (("train", data.train_labels), ("test", data.test_labels)):
        if labels is None or len(labels) == 0 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DrawError(
                f"--model={config.model} needs class labels 0..{NUM_CLASSES - 1}; the {split} "
                f"split of {config.dataset} has none"
            )
