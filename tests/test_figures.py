"""The matplotlib figures (draw.figures), read back from the figure objects."""

import io

import numpy as np
from PIL import Image

from draw import figures
from draw.measures import chart_labels


def test_nn_nll_histogram_counts_every_sample_and_marks_the_mean():
    scores = np.random.default_rng(0).gamma(5.0, 20.0, size=300)
    figure = figures.nn_nll_histogram(scores, "run (step 10)")
    (axes,) = figure.axes
    heights = [patch.get_height() for patch in axes.patches]
    assert len(heights) == figures.BINS and sum(heights) == 300
    counts, _ = np.histogram(scores, bins=figures.BINS)
    np.testing.assert_array_equal(heights, counts)
    (mean_line,) = axes.lines
    assert mean_line.get_xdata()[0] == scores.mean()
    assert axes.get_xlabel() == "NN-NLL of a generated image (nats)"
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    assert legend == ["300 samples", f"mean {scores.mean():.2f} nats"]
    png = io.BytesIO()
    figures.save_png(figure)(png)
    assert Image.open(io.BytesIO(png.getvalue())).size == (600, 400)


def test_comparison_chart_has_a_bar_per_run_and_measure():
    rows = [
        {"run": "/x/runs/attn", "summary": "jang", "elbo": 90.5, "nn_nll_mean": 70.0},
        {"run": "/x/runs/noattn", "summary": "jang noread_attn", "elbo": 101.25},
    ]
    figure = figures.comparison_chart(rows, chart_labels())
    (axes,) = figure.axes
    widths = [patch.get_width() for patch in axes.patches]
    assert widths[:2] == [90.5, 101.25]  # the bounds, then the NN-NLL means
    assert widths[2] == 70.0 and np.isnan(widths[3])
    ticks = [label.get_text() for label in axes.get_yticklabels()]
    assert ticks == ["attn\njang", "noattn\njang noread_attn"]
    (legend,) = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == [chart_labels()["elbo"], chart_labels()["nn_nll_mean"]]
