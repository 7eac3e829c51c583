"""Figures with axes, labels and a legend (matplotlib): the NN-NLL histogram of
evaluate.py --nn-nll and the chart of evaluate.py --compare.

Pictures made of images (grids, animations, glimpse boxes) are Pillow's (draw.figures).
The object API (a Figure on the Agg canvas) is used rather than pyplot: no global state,
no display needed. `save_png(figure)` is a saver (file object -> None) for
draw.outputs.atomic_write, as in draw.figures.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BINS = 40


def nn_nll_histogram(scores, label: str) -> Figure:
    """The histogram of per-sample NN-NLL scores `[n]` (nats), their mean marked.

    label: what was scored, e.g. the run and the reference images (the title)."""
    scores = np.asarray(scores, np.float64)
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    axes.hist(scores, bins=BINS, color="tab:blue", alpha=0.8, label=f"{len(scores)} samples")
    axes.axvline(scores.mean(), color="tab:red", label=f"mean {scores.mean():.2f} nats")
    axes.set_xlabel("NN-NLL of a generated image (nats)")
    axes.set_ylabel("samples")
    axes.set_title(label, fontsize="small")
    axes.legend()
    return figure


# The measures a comparison chart shows, with their legend labels.
COMPARED = {
    "elbo": "test-set bound L_x + L_z",
    "iwae_nll": "IWAE -log p(x)",
    "nn_nll_mean": "NN-NLL of samples (mean)",
}


def comparison_chart(rows: list[dict]) -> Figure:
    """One group of horizontal bars per run (the rows of evaluate.py --compare), one bar
    per measure the rows hold (COMPARED), in nats."""
    measures = [m for m in COMPARED if any(row.get(m) is not None for row in rows)]
    labels = [f"{os.path.basename(str(row['run']))}\n{row['summary']}" for row in rows]
    height = 0.8 / max(len(measures), 1)
    figure = Figure(
        figsize=(7, 1.2 + 0.5 * len(rows) * max(len(measures), 1)), layout="constrained"
    )
    axes = figure.add_subplot()
    positions = np.arange(len(rows))
    for i, measure in enumerate(measures):
        values = [row.get(measure) for row in rows]
        offsets = positions + (i - (len(measures) - 1) / 2) * height
        bars = axes.barh(
            offsets, [np.nan if v is None else v for v in values], height, label=COMPARED[measure]
        )
        axes.bar_label(bars, fmt="%.2f", padding=2, fontsize="small")
    axes.set_yticks(positions, labels, fontsize="small")
    axes.invert_yaxis()  # the first run on top, as in the table
    axes.set_xlabel("nats per image (lower is better)")
    axes.margins(x=0.12)  # room for the bars' labels
    figure.legend(loc="outside lower center", ncols=len(measures), fontsize="small")
    return figure


def save_png(figure: Figure):
    """A saver writing figure as PNG (100 dpi)."""
    return lambda f: FigureCanvasAgg(figure).print_png(f)
