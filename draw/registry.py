"""What the registries hold: the tasks a model serves, a model's entry (draw.models.MODELS)
and a dataset's entry (draw.data.DATASETS), and how a registry finds the entries a module
of its package declares.

A model names its task, and the task decides what applies to it: how it is trained and
measured, and what generate.py shows of it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Task:
    """What a kind of model does: its name, the model in a few words ("a classifier") and
    what a user gets from it."""

    name: str
    noun: str
    summary: str


GENERATION = Task(
    "generation",
    "a generative model",
    "a DRAW generative model: trained and measured by the variational bound (also the IWAE "
    "estimate and the NN-NLL); generate.py samples, reconstructs and interpolates with it",
)
CLASSIFICATION = Task(
    "classification",
    "a classifier",
    "a classifier: trained by the cross-entropy of its labels and measured by its test "
    "error; generate.py shows its glimpses",
)

TASKS = (GENERATION, CLASSIFICATION)


@dataclass(frozen=True)
class ModelEntry:
    """A --model: how it is built, what it is, which settings it takes and their checks.

    build: (config, image_shape, name=...) -> the keras.Model (weights not yet created).
    help: what --help says of it. task: GENERATION or CLASSIFICATION.
    uses: the model settings it reads, when not every DRAW setting (a classifier's); any
      other model setting given away from the preset's value is an error.
    own: settings only it reads; given to another model, they are an error.
    defaults: values it implies unless the command line sets them.
    check: DrawError for settings it cannot take (after the generic checks).
    labels: it trains on the images' class labels.
    kernels: it has convolution layers whose first kernels generate.py --kernels shows
      (its model's `conv_blocks()`: {name: draw.models.blocks.ConvFeatures}).
    glimpses: a classifier whose outputs hold its read windows (`read_window`), which
      generate.py --glimpses and the training's pictures show.
    describe: config -> what the model is, with its sizes (a phrase of a shipped model's
      card); None: its help.
    """

    build: Callable
    help: str
    task: Task = GENERATION
    uses: tuple[str, ...] | None = None
    own: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)
    check: Callable | None = None
    labels: bool = False
    kernels: bool = False
    glimpses: bool = False
    describe: Callable | None = None

    def description(self, config) -> str:
        """What the model of config is, for a shipped model's card."""
        return self.help if self.describe is None else self.describe(config)


@dataclass(frozen=True)
class DatasetEntry:
    """A --dataset: its loader and what the configuration derives from it.

    load: config -> draw.data.ImageData (reading config.data_source, config.data_dir and
      the dataset's own settings).
    help: what --help says of it; title: its name in sentences ("MNIST").
    defaults: values it implies unless the preset or the command line sets them (a
      dataset of intensities in [0, 1], never binarized: {"binarize": "none"}, which then
      also refuses any other --binarize).
    colour: it has RGB images and takes --color (gray or rgb).
    own: the data settings only it takes; given with another dataset, they are an error.
    """

    load: Callable
    help: str
    title: str
    defaults: dict = field(default_factory=dict)
    colour: bool = False
    own: tuple[str, ...] = ()


def declared(package: str, path, registry: str, known: dict) -> dict:
    """The entries the modules of a package declare in a dict named `registry` (a model or
    dataset added in a module of its own, docs/extending.md), in the modules' alphabetical
    order; each module is imported. TypeError for a name already in `known`."""
    entries = {}
    for module in sorted(info.name for info in pkgutil.iter_modules(path)):
        declaring = importlib.import_module(f"{package}.{module}")
        for name, entry in getattr(declaring, registry, {}).items():
            if name in known or name in entries:
                raise TypeError(f"{package}.{module}: {registry} entry {name!r} is declared twice")
            entries[name] = entry
    return entries
