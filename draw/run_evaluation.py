"""Measuring a trained run: the test-set ELBO, the IWAE estimate, the report's NN-NLL.

evaluate.py is a thin shell around `evaluate_run` (one run) and `compare_runs` (a table
across runs); both return records that `write_results` stores as JSON and CSV.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from data import load_dataset, pipeline
from draw.config import PRESETS, DrawConfig, fields_with_role
from draw.errors import DrawError
from draw.evaluation import evaluate_bound
from draw.likelihood import importance_sampled_nll
from draw.nn_nll import nearest_neighbour_nll
from draw.results import write_results
from draw.run_dir import RunDir, checkpoint_to_load, default_logdir, load_trained_model

RESULTS_FOLDER = "evaluations"


@dataclass
class Options:
    """What to measure and how (evaluate.py's flags)."""

    elbo: bool = True
    iwae: bool = False
    nn_nll: bool = False
    num_importance_samples: int = 5000
    num_samples: int = 1000
    num_test_images: int = 0  # 0: the whole test split
    eval_batch_size: int = 1000
    nn_reference: str = "auto"
    seed: int = 0
    restore_from_previous: bool = False  # the newest checkpoint that reads, if the newest does not

    def validate(self) -> None:
        for name in ("num_importance_samples", "num_samples", "eval_batch_size"):
            if getattr(self, name) <= 0:
                raise DrawError(f"--{name} must be positive, got {getattr(self, name)}")
        if self.num_test_images < 0:
            raise DrawError(
                f"--num_test_images must be positive (or 0 for all), got {self.num_test_images}"
            )
        if self.seed < 0:
            raise DrawError(f"--seed must not be negative, got {self.seed}")
        if self.nn_reference not in ("auto", "binarized", "grey"):
            raise DrawError(f"--nn_reference={self.nn_reference} is not auto, binarized or grey")
        if not (self.elbo or self.iwae or self.nn_nll):
            raise DrawError("nothing to measure: choose --elbo, --iwae or --nn-nll")


def config_summary(config: DrawConfig) -> str:
    """The preset's name and the model fields that differ from it, e.g. `jang T=5
    noread_attn`."""
    preset = DrawConfig(preset=config.preset, **PRESETS[config.preset])
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


def seeded_elbo(model, images, batch_size: int, seed: int, labels=None) -> dict:
    """The bound L_x + L_z (and its terms), mean nats per image over images `[n, B, A, C]`,
    with the model's noise stream restarted at seed (one posterior sample per image).

    labels `[n]`: the images' classes, for Model II's L_c and accuracy (reported only when
    given; "loss" is always the bound L_x + L_z, without L_c).
    """
    started = time.perf_counter()
    model.noise_seed.state.assign(tf.constant([seed, 0], model.noise_seed.state.dtype))
    given = labels is not None
    labels = np.asarray(labels, np.int32) if given else np.zeros(len(images), np.int32)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    results = evaluate_bound(model, batches)
    results["loss"] = results["L_x"] + results["L_z"]
    if not given:
        for name in ("L_c", "accuracy"):
            results.pop(name, None)
    results.update(num_images=len(images), seconds=time.perf_counter() - started)
    return results


def nn_reference_images(data, binarize: str, reference: str = "auto"):
    """The training images the NN-NLL searches, float32 `[m, B, A, C]`, and their name.

    auto: as the run trained (binarized once with the static seed, grey for
    --binarize=none); binarized; grey (grey level / 255).
    """
    if reference == "auto":
        reference = "grey" if binarize == "none" else "binarized"
    images = data.train_images
    if reference == "binarized":
        images = pipeline.binarize_once(images, pipeline.STATIC_SEED)
        name = f"training images binarized once (seed {pipeline.STATIC_SEED})"
    else:
        name = "training images, grey levels / 255"
    return images.astype(np.float32) / 255.0, name


def _checkpoint_step(path: str):
    try:
        return int(tf.train.load_checkpoint(path).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    except (tf.errors.OpError, ValueError, KeyError):
        return None


def _test_subset(data, config, count: int):
    """The first count (0: all) test images and their labels."""
    images = pipeline.test_images(data, config.binarize)
    if count > len(images):
        raise DrawError(f"--num_test_images={count} exceeds the {len(images)} test images")
    count = count or len(images)
    return images[:count], data.test_labels[:count]


def evaluate_run(explicit: dict, logdir: str, options: Options, checkpoint="", log=print):
    """Measures one run; returns its record (JSON-ready, without per-image arrays).

    explicit: DrawConfig fields given on the command line (checked against the run).
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
        "step": _checkpoint_step(path),
        "dataset": config.dataset,
        "summary": config_summary(config),
        "config": dataclasses.asdict(config),
        "seed": options.seed,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    log(f"evaluating {path} (step {record['step']}, {record['summary']})")
    if options.elbo or options.iwae:
        images, labels = _test_subset(data, config, options.num_test_images)
    if options.elbo:
        log(f"elbo: {len(images)} test images ...")
        record["elbo"] = seeded_elbo(model, images, options.eval_batch_size, options.seed, labels)
    if options.iwae:
        result = importance_sampled_nll(
            model,
            images,
            options.num_importance_samples,
            options.seed,
            options.eval_batch_size,
            log,
        )
        result.pop("per_image")
        record["iwae"] = result
    if options.nn_nll:
        train_images, reference = nn_reference_images(data, config.binarize, options.nn_reference)
        log(f"nn-nll: {options.num_samples} samples against {len(train_images)} {reference}")
        result = nearest_neighbour_nll(
            model, train_images, options.num_samples, options.seed, options.eval_batch_size, log
        )
        for key in ("per_sample", "neighbour", "distance"):
            result.pop(key)
        record["nn_nll"] = {**result, "reference": reference}
    return record


def flat_row(record: dict) -> dict:
    """One CSV/table row of a record: run, step, summary and every figure."""
    row = {"run": record["run"], "step": record["step"], "summary": record["summary"]}
    if "elbo" in record:
        e = record["elbo"]
        row.update(
            elbo=e["loss"], L_x=e["L_x"], L_z=e["L_z"], elbo_images=e["num_images"],
            elbo_seconds=e["seconds"],
        )  # fmt: skip
        row.update({k: e[k] for k in ("L_c", "accuracy") if k in e})  # Model II
    if "iwae" in record:
        i = record["iwae"]
        row.update(
            iwae_nll=i["nll"], iwae_stderr=i["nll_stderr"], iwae_K=i["num_samples"],
            iwae_images=i["num_images"], iwae_seconds=i["seconds"],
        )  # fmt: skip
    if "nn_nll" in record:
        n = record["nn_nll"]
        row.update(
            nn_nll_mean=n["mean"], nn_nll_std=n["std"], nn_nll_max=n["max"],
            nn_nll_samples=n["num_samples"], nn_nll_seconds=n["seconds"],
        )  # fmt: skip
    return row


def format_table(rows: list[dict]) -> str:
    """rows as an aligned text table (floats with two decimals)."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]

    def text(value):
        if value is None:
            return "-"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    cells = [[text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def results_folder(logdir: str) -> str:
    return os.path.join(logdir, RESULTS_FOLDER)


def evaluate_and_write(explicit: dict, logdir: str, options: Options, checkpoint="", log=print):
    """evaluate_run, then its JSON and CSV into RUN/evaluations/; returns (record, paths)."""
    logdir = logdir or default_logdir(explicit)
    record = evaluate_run(explicit, logdir, options, checkpoint, log)
    paths = write_results(results_folder(logdir), record, [flat_row(record)])
    return record, paths


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


def check_comparable(logdirs: list[str]) -> None:
    """DrawError unless every run exists, has a checkpoint, and all model the same dataset
    and image shape (checked before anything is evaluated)."""
    seen = {}
    for logdir in logdirs:
        run = RunDir(logdir)
        config, image_shape = run.read()
        checkpoint_to_load(run)
        seen[logdir] = (config.dataset, tuple(image_shape))
    if len(set(seen.values())) > 1:
        described = ", ".join(f"{k}: {d} {s}" for k, (d, s) in seen.items())
        raise DrawError(f"--compare needs runs of one dataset; got {described}")


def compare_runs(explicit: dict, logdirs: list[str], options: Options, log=print):
    """Evaluates each run (writing its own result files) and writes one table of all of
    them into <common parent>/comparisons/; returns (records, paths of the table)."""
    if len(set(logdirs)) != len(logdirs):
        raise DrawError(f"--compare lists a run twice: {logdirs}")
    options.validate()
    check_comparable(logdirs)
    records = [evaluate_and_write(explicit, d, options, log=log)[0] for d in logdirs]
    folder = os.path.join(os.path.commonpath([os.path.abspath(d) for d in logdirs]), "comparisons")
    if len(logdirs) == 1:
        folder = os.path.join(os.path.dirname(os.path.abspath(logdirs[0])), "comparisons")
    record = {"runs": records, "created": records[-1]["created"], "seed": options.seed}
    return records, write_results(folder, record, [flat_row(r) for r in records])
