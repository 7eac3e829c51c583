"""Plots learning curves written by experiments.cluttered_curve: test error against iterations.

    python -m experiments.cluttered_plot OUT.png FOLDER/curve.csv ... [--title=TEXT]

Each curve is labelled by its CSV's folder name (or the file's name without .csv when it
is not called curve.csv).
"""

from __future__ import annotations

import argparse
import csv
import os

from matplotlib.figure import Figure


def label_of(path: str) -> str:
    name = os.path.basename(path)
    if name == "curve.csv":
        return os.path.basename(os.path.dirname(os.path.abspath(path)))
    return name[: -len(".csv")] if name.endswith(".csv") else name


def read_curve(path: str):
    """(steps, test errors in %) of one curve."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["step"]) for r in rows], [100 * float(r["test_error"]) for r in rows]


def plot(out: str, paths, title: str = "", top: float = 100) -> None:
    """The curves of the CSV files paths in one figure (test error from 0 to top %)."""
    fig = Figure(figsize=(7, 4.5))  # matplotlib's object API: files only, no display
    ax = fig.subplots()
    for path in paths:
        steps, errors = read_curve(path)
        ax.plot(steps, errors, marker=".", label=label_of(path))
    if top >= 90:
        ax.axhline(90, color="grey", linestyle=":", linewidth=1, label="chance (90%)")
    ax.set_xlabel("training iterations (batches of 100)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, top)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("curves", nargs="+")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    plot(args.out, args.curves, args.title)


if __name__ == "__main__":
    main()
