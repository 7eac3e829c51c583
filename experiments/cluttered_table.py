"""The DRAW paper's Table 1 with our figures beside it, and the learning curves of our runs.

    python -m experiments.cluttered_table --conv=RUN --glimpses4=RUN --glimpses8=RUN
        [--out=docs/cluttered]

Each RUN is a train.py run of the classifier evaluated by evaluate.py (its
evaluations/latest.json gives the test error, its standard error and the step; its
TensorBoard events give the wall time and the learning curve: the test error train.py
measures every --image_every iterations). Writes OUT/table_1.md (the table, as printed),
OUT/<row>.csv (step, test_error) and OUT/curves.png. A row without a run says so.
"""

from __future__ import annotations

import argparse
import csv
import json
import os

import tensorflow as tf

from draw.app import shipping
from draw.run_dir import RunDir
from experiments import cluttered_plot

# (row name, the paper's wording, its test error in %): the DRAW paper's Table 1.
PAPER = [
    ("conv", "convolutional, 2 layers", 14.35),
    ("ram4", "RAM, 4 glimpses, 12x12, 4 scales", 9.41),
    ("ram8", "RAM, 8 glimpses, 12x12, 4 scales", 8.11),
    ("glimpses4", "differentiable RAM, 4 glimpses, 12x12", 4.18),
    ("glimpses8", "differentiable RAM, 8 glimpses, 12x12", 3.36),
]
NOT_BUILT = {"ram4", "ram8"}  # RAM's hard glimpses trained with REINFORCE: not built here


def learning_curve(run: str) -> list[tuple[int, float]]:
    """(step, test error) of every test-error summary in RUN/test, in step order."""
    points = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(RunDir(run).events_dir("test"), "*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "error":
                    points[event.step] = float(tf.make_ndarray(value.tensor))
    return sorted(points.items())


def run_figures(run: str) -> dict:
    """The run's newest evaluation (classification figures, step) and its wall time."""
    with open(os.path.join(run, "evaluations", "latest.json")) as f:
        record = json.load(f)
    return {
        **record["classification"],
        "step": record["step"],
        "seconds": shipping.training_seconds(RunDir(run)),
    }


def table(runs: dict) -> str:
    lines = [
        "| model | paper | ours (test error +- standard error) | our budget |",
        "| --- | --- | --- | --- |",
    ]
    for key, wording, paper in PAPER:
        if key in NOT_BUILT:
            ours, budget = "not built (hard attention)", ""
        elif key not in runs:
            ours, budget = "not trained", ""
        else:
            f = runs[key]
            ours = f"{100 * f['test_error']:.2f}% +- {100 * f['test_error_se']:.2f}%"
            hours = "" if f["seconds"] is None else f", {f['seconds'] / 3600:.2f} h"
            budget = f"{f['step']:,} iterations of 100 images{hours}"
        lines.append(f"| {wording} | {paper:.2f}% | {ours} | {budget} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for key, wording, _ in PAPER:
        if key not in NOT_BUILT:
            p.add_argument(f"--{key}", default="", help=f"the run of: {wording}")
    p.add_argument("--out", default=os.path.join("docs", "cluttered"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    runs, curves = {}, []
    for key, _, _ in PAPER:
        run = getattr(args, key, "")
        if not run:
            continue
        runs[key] = run_figures(run)
        path = os.path.join(args.out, f"{key}.csv")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "test_error"])
            writer.writerows([step, f"{error:.5f}"] for step, error in learning_curve(run))
        curves.append(path)
    text = table(runs)
    with open(os.path.join(args.out, "table_1.md"), "w") as f:
        f.write(text + "\n")
    if curves:
        title = "test error on the 10,000 test images; 2-core x86-64 CPU, TensorFlow 2.21"
        cluttered_plot.plot(os.path.join(args.out, "curves.png"), curves, title, top=30)
    print(text)


if __name__ == "__main__":
    main()
