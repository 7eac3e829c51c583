"""Figures with axes, labels and a legend (matplotlib): the first-layer kernels of Models
I-III (generate.py --kernels), the NN-NLL histogram of evaluate.py --nn-nll and the chart
of evaluate.py --compare.

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


def kernel_figure(kernels: dict[str, np.ndarray]) -> Figure:
    """The first-layer kernels, one row per convolution stack (its name on the left).

    kernels: {stack name: `[filters, k, k, C]`}. One channel: the weights on one colour
    scale symmetric about 0 for the whole figure (red positive, blue negative), with its
    colour bar; three channels: each kernel min-max scaled to [0, 1] as an RGB image."""
    rows, columns = len(kernels), max(len(w) for w in kernels.values())
    figure = Figure(figsize=(0.8 * columns + 1.5, 0.9 * rows + 0.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    limit = max(float(np.abs(w).max()) for w in kernels.values()) or 1.0
    image = None
    for axes_row, (name, weights) in zip(grid, kernels.items()):
        axes_row[0].set_ylabel(name, rotation=0, ha="right", va="center")
        for i, axes in enumerate(axes_row):
            axes.set_xticks([])
            axes.set_yticks([])
            if i >= len(weights):
                axes.set_axis_off()
            elif weights.shape[-1] == 1:
                image = axes.imshow(weights[i, :, :, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
            else:
                low, high = weights[i].min(), weights[i].max()
                axes.imshow((weights[i] - low) / max(high - low, 1e-12))
    if image is not None:
        figure.colorbar(image, ax=grid, label="weight", shrink=0.9)
    size = "x".join(str(d) for d in next(iter(kernels.values())).shape[1:3])
    figure.suptitle(f"first-layer convolution kernels ({size})", fontsize="medium")
    return figure


def save_png(figure: Figure):
    """A saver writing figure as PNG (100 dpi)."""
    return lambda f: FigureCanvasAgg(figure).print_png(f)
