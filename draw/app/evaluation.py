"""evaluate.py's options, their validation, the memory pre-check, one run's record and
the comparison of runs; its measures' flags, help and order come from the measures'
registry (`draw.measures.MEASURES`).

evaluate.py is a thin shell around `evaluate_and_write` (one run) and `compare_runs` (a
table across runs); draw/app/results.py writes the files.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import textwrap

import numpy as np

from draw import distribute, figures
from draw.app.results import (
    check_comparable,
    check_finite,
    flat_row,
    results_folder,
    write_comparison,
    write_results,
)
from draw.config import DrawConfig, fields_with_role, preset_config
from draw.data import load_dataset
from draw.errors import DrawError
from draw.files import atomic_write
from draw.measures import MEASURES, Inputs
from draw.models import MODELS, task_of
from draw.options import COUNT_LIMIT, SEED_LIMIT, check_fields, option
from draw.registry import TASKS
from draw.run_dir import checkpoint_step, default_logdir, load_trained_model


def _switches():
    """The measures that have a flag, in the registry's order."""
    return [m for m in MEASURES.values() if m.flag]


def _measure_fields():
    """The options of the measures: each one's switch (None until __post_init__ for a
    default measure) and its settings."""
    for m in _switches():
        flag = None if m.flag == m.name else m.flag
        if m.default:
            yield m.name, "bool | None", option(None, m.help, flag=flag)
        else:
            yield m.name, "bool", option(False, m.help, flag=flag)
        for name, setting in m.settings.items():
            yield name, type(setting.default).__name__, setting


_RUN_FIELDS = [
    ("num_test_images", "int",
     option(0, "Use only the first N test images (0: all).", range=(0, COUNT_LIMIT))),
    ("eval_batch_size", "int",
     option(1000, "Images (or image-sample pairs for --iwae) per forward pass.",
            range=(1, 100_000))),
    ("compare", "list[str] | None",
     option(None, "Runs to evaluate and tabulate together: --compare RUN1 RUN2 ... or =R1,R2.")),
    ("ship", "str",
     option("", "After measuring the run, ship it as the trained model NAME of the package "
            "(draw/pretrained_models/NAME: weights, config.json and a card with the test-set "
            "bound; docs/pretrained.md).")),
    ("commit", "str",
     option("", "With --ship: the commit that trained the run. Default: this checkout's HEAD.")),
    ("seed", "int",
     option(0, "Seed of every sampled figure.", shared=True, range=(0, SEED_LIMIT - 1))),
    ("restore_from_previous", "bool",
     option(False, "The newest checkpoint that reads, if the newest does not.", shared=True)),
]  # fmt: skip


class _Checks:
    """The behaviour of Options: the default measure, and the validation."""

    def __post_init__(self):
        chosen = any(getattr(self, m.name) for m in _switches() if not m.default)
        for m in _switches():
            if m.default and getattr(self, m.name) is None:
                setattr(self, m.name, not chosen)

    def validate(self) -> None:
        """DrawError with one sentence for the first value that cannot work."""
        check_fields(self)
        if not any(getattr(self, m.name) for m in _switches()):
            names = [f"--{m.flag}" for m in _switches()]
            raise DrawError(f"nothing to measure: choose {', '.join(names[:-1])} or {names[-1]}")
        if self.compare is not None:
            if not self.compare:
                raise DrawError("--compare needs the runs to compare: --compare RUN1 RUN2 ...")
            if len(set(self.compare)) != len(self.compare):
                raise DrawError(f"--compare lists a run twice: {self.compare}")
        if self.ship:
            if self.compare is not None or not self.elbo or self.num_test_images:
                raise DrawError(
                    "--ship measures one run's bound on the whole test split: drop --compare "
                    "and --num_test_images, keep --elbo"
                )
        elif self.commit:
            raise DrawError("--commit names the commit of a run to --ship")


Options = dataclasses.make_dataclass(
    "Options", [*_measure_fields(), *_RUN_FIELDS], bases=(_Checks,)
)
Options.__module__ = __name__
Options.__doc__ = "evaluate.py's flags: what to measure (one per measure) and how."


def measures_help() -> str:
    """The measures, for evaluate.py's --help: by the models they apply to."""
    lines = []
    for task in TASKS:
        models = ", ".join(name for name, entry in MODELS.items() if entry.task is task)
        lines.append(f"{task.noun.capitalize()} (--model={models}) is measured by:")
        for m in MEASURES.values():
            if m.task == task:
                when = f"--{m.flag}" if m.flag else "always"
                line = f"{when}{' (the default)' if m.default else ''}: {m.title}"
                lines.append(
                    textwrap.fill(line, 90, initial_indent="  ", subsequent_indent="      ")
                )
    return "\n".join(lines)


def gather_compare_runs(argv: list[str]) -> list[str]:
    """Rewrites `--compare RUN1 RUN2 ...` (space-separated, as users type it) into
    `--compare=RUN1,RUN2,...` for absl; other arguments are left alone."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--compare":
            runs, i = [], i + 1
            while i < len(argv) and not argv[i].startswith("-"):
                runs.append(argv[i])
                i += 1
            out.append("--compare=" + ",".join(runs))
        else:
            out.append(argv[i])
            i += 1
    return out


def config_summary(config: DrawConfig) -> str:
    """The preset's name and the model fields that differ from it, e.g. `jang T=5
    noread_attn`."""
    preset = preset_config(config.preset)
    parts = [config.preset]
    for name in fields_with_role("model"):
        value = getattr(config, name)
        if name in ("preset", "dataset") or value == getattr(preset, name):
            continue
        if isinstance(value, bool):
            parts.append(name if value else "no" + name)
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def chosen_measures(config, options) -> list:
    """The measures options choose for config's model, in the registry's order; DrawError
    for a chosen one of another task (a default measure of another task is left out)."""
    task = task_of(config)
    for m in _switches():
        if m.task != task and not m.default and getattr(options, m.name):
            theirs = [n for n in MEASURES.values() if n.task == task]
            how = "" if any(n.flag for n in theirs) else " (evaluate.py without a measure flag)"
            raise DrawError(
                f"--{m.flag} measures {m.task.noun}; --model={config.model} is measured by "
                + ", ".join(n.title for n in theirs)
                + how
            )
    return [m for m in MEASURES.values()
            if m.task == task and (not m.flag or getattr(options, m.name))]  # fmt: skip


def _settings(measure, options) -> dict:
    return {name: getattr(options, name) for name in measure.settings}


def check_memory(inputs: Inputs, measures: list, options) -> None:
    """DrawError if what a chosen measure needs at once (a forward pass of
    --eval_batch_size images, --nn-nll's arrays, ...) clearly cannot fit."""
    checked = []
    for m in measures:
        for size, request in m.memory(inputs, _settings(m, options)) if m.memory else ():
            if request not in checked:
                checked.append(request)
                distribute.check_fits(size, request)


def evaluate_run(explicit: dict, logdir: str, options, checkpoint="", log=print, per_sample=None):
    """Measures one run; returns its record (JSON-ready, without per-image arrays).

    explicit: DrawConfig fields given on the command line (checked against the run).
    per_sample: a dict that receives, under a measure's name, the figures with its
    per-sample arrays of each measure that draws them (`Measure.figure`).
    """
    options.validate()
    config, model, path = load_trained_model(
        explicit, logdir, checkpoint, options.restore_from_previous
    )
    data = load_dataset(config)
    model_shape = (model.B, model.A, model.C)
    if data.image_shape != model_shape:
        raise DrawError(
            f"the run in {logdir} models images {model_shape}, but {config.dataset} "
            f"({data.source}) gives {data.image_shape}"
        )
    record = {
        "run": os.path.abspath(logdir),
        "checkpoint": path,
        "step": checkpoint_step(path),
        "dataset": config.dataset,
        "summary": config_summary(config),
        "config": dataclasses.asdict(config),
        "seed": options.seed,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    measures = chosen_measures(config, options)
    inputs = Inputs(
        model, config, data, options.seed, options.eval_batch_size, options.num_test_images, log
    )
    check_memory(inputs, measures, options)
    step = "" if record["step"] is None else f"step {record['step']}, "
    log(f"evaluating {path} ({step}{record['summary']})")
    for m in measures:
        result = m.run(inputs, _settings(m, options))
        if per_sample is not None and m.figure:
            per_sample[m.name] = result
        record[m.name] = {k: v for k, v in result.items() if not isinstance(v, np.ndarray)}
    check_finite(record)
    return record


def evaluate_and_write(
    explicit: dict, logdir: str, options, checkpoint="", log=print, output_dir=""
):
    """evaluate_run, then its JSON and CSV (and the measures' figures) into
    OUTPUT/evaluations/ (OUTPUT: output_dir, default the run); returns (record, paths)."""
    logdir = logdir or default_logdir(explicit)
    per_sample = {}
    record = evaluate_run(explicit, logdir, options, checkpoint, log, per_sample)
    paths = write_results(results_folder(output_dir or logdir), record, [flat_row(record)])
    run = os.path.basename(os.path.normpath(record["run"]))
    step = "" if record["step"] is None else f" at step {record['step']}"
    for name, result in per_sample.items():
        figure = MEASURES[name].figure(result, f"{run}{step}")
        paths[name] = paths["json"][: -len(".json")] + f".{name}.png"
        atomic_write(paths[name], figures.save_png(figure))
    return record, paths


def compare_runs(explicit: dict, logdirs: list[str], options, log=print):
    """Evaluates each run (writing its own result files) and writes one table of all of
    them into <common parent>/comparisons/; returns (records, paths of the table)."""
    options.validate()
    check_comparable(logdirs)
    records = [evaluate_and_write(explicit, d, options, log=log)[0] for d in logdirs]
    return records, write_comparison(logdirs, records, options.seed)
