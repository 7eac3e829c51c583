"""Reads the figures the reproduction tables need from evaluate.py's result files."""

from __future__ import annotations

import json
import os


def figures_of(record: dict) -> dict:
    """The tables' columns from one evaluate.py record (RUN/evaluations/*.json)."""
    figures = {"iterations": record.get("step")}
    elbo = record.get("elbo")
    if elbo:
        figures.update(elbo=elbo["L_x"] + elbo["L_z"], L_x=elbo["L_x"], L_z=elbo["L_z"])
        figures.update({k: elbo[k] for k in ("L_c", "accuracy") if k in elbo})
    nn = record.get("nn_nll")
    if nn:
        figures.update(nn_nll_mean=nn["mean"], nn_nll_std=nn["std"], nn_nll_max=nn["max"])
    return figures


def read_latest(run_path: str) -> dict | None:
    """The figures of the run's latest evaluation (RUN/evaluations/latest.json) with both
    the ELBO and the NN-NLL, or None when there is none."""
    path = os.path.join(run_path, "evaluations", "latest.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        figures = figures_of(record)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return figures if "elbo" in figures and "nn_nll_mean" in figures else None
