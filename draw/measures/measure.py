"""What a measure is: `Measure`, the declaration evaluate.py derives everything from, and
`Inputs`, what a measure is given (the model, its data, how to run).

A measure's `run(inputs, settings)` returns its figures as a dict: floats, ints, strings
and lists go into evaluate.py's record under the measure's name; NumPy arrays are per-image
or per-sample values, given to the measure's `figure` and left out of the record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from draw.data import pipeline
from draw.distribute import FLOAT, activations_per_image, parameter_count
from draw.errors import DrawError
from draw.registry import Task

PROGRESS_SECONDS = 30.0  # at most this long between progress lines of long work


@dataclass(frozen=True)
class Measure:
    """A measure of a trained model, declared once (`draw.measures.register`).

    name: the key of its figures in evaluate.py's record (e.g. "iwae"), and its option.
    title: what it is, in a few words (evaluate.py's --help, its messages).
    help: its flag's help.
    task: the models it measures, a `draw.registry.Task` (GENERATION, CLASSIFICATION).
    run: `run(inputs, settings) -> dict`, its figures (see the module docstring).
    flag: its switch on evaluate.py's command line (e.g. "nn-nll"); None: it has none and
      is taken for every model of its task.
    default: taken when no measure's flag is given.
    settings: {name: `draw.options.option(...)`}, its own flags (default, help, range);
      `run` gets their values as `settings`.
    columns: ((column, key of its figures), ...) in the CSV and the printed tables.
    more_columns: `more_columns(figures) -> {column: value}`, columns that depend on the
      figures (e.g. a variant's own metrics).
    chart: {column: legend label} of the columns evaluate.py --compare draws, in nats.
    memory: `memory(inputs, settings) -> [(bytes, request), ...]`, what it needs at once,
      checked before anything runs (request names the flags, e.g. "--eval_batch_size=1000").
    figure: `figure(figures, label) -> matplotlib Figure` of its per-sample arrays, written
      beside the result files as NNNN-...<name>.png.
    """

    name: str
    title: str
    help: str
    task: Task
    run: Callable
    flag: str | None = None
    default: bool = False
    settings: dict = field(default_factory=dict)
    columns: tuple = ()
    more_columns: Callable | None = None
    chart: dict = field(default_factory=dict)
    memory: Callable | None = None
    figure: Callable | None = None


@dataclass
class Inputs:
    """What every measure of one evaluation is given.

    model: the trained model; config: its DrawConfig; data: its dataset (`ImageData`);
    seed: seeds every sampled figure; batch_size: at most this many images (or
    image-sample pairs) per forward pass; num_test_images: the first N test images (0:
    all); log: progress lines go here.
    """

    model: object
    config: object
    data: object
    seed: int = 0
    batch_size: int = 1000
    num_test_images: int = 0
    log: Callable = print

    @functools.cached_property
    def test_split(self):
        """The first num_test_images test images `[n, B, A, C]` float32 in [0, 1] as the
        model sees them, and their labels `[n]`."""
        images = pipeline.test_images(self.data, self.config.binarize)
        count = self.num_test_images
        if count > len(images):
            raise DrawError(f"--num_test_images={count} exceeds the {len(images)} test images")
        count = count or len(images)
        return images[:count], self.data.test_labels[:count]


def forward_pass(inputs: Inputs, settings: dict) -> list:
    """The memory of a forward pass of a DRAW model over --eval_batch_size images (its
    weights and activations), as a `Measure.memory`."""
    config, shape = inputs.config, inputs.data.image_shape
    forward = activations_per_image(config, shape) * inputs.batch_size
    request = f"--eval_batch_size={inputs.batch_size}"
    return [(FLOAT * (parameter_count(config, shape) + forward), request)]
