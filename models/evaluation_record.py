"""Reads the figures the reproduction tables need from evaluate.py's result files."""

from __future__ import annotations

import json
import os


def read_latest(run_path: str) -> dict | None:
    """The run's latest evaluation (RUN/evaluations/latest.json) as the tables' columns,
    or None when there is none."""
    path = os.path.join(run_path, "evaluations", "latest.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    return record
