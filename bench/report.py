"""Printing and storing benchmark rows; running one case in a fresh process."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

from draw.errors import DrawError
from draw.files import atomic_write

COLUMNS = [
    ("name", "benchmark", "{}"),
    ("preset", "preset", "{}"),
    ("threads", "op threads", "{}"),
    ("ms", "ms", "{:.1f}"),
    ("seconds", "s", "{:.2f}"),
    ("images_per_s", "images/s", "{:,.0f}"),
    ("gflop", "GFLOP", "{:.2f}"),
    ("gflops", "GFLOP/s", "{:.1f}"),
    ("matmul_gflops", "matmul GFLOP/s", "{:.0f}"),
    ("matmul_fraction", "of matmul", "{:.0%}"),
    ("speedup", "vs plain", "{:.2f}x"),
    ("peak_rss_mb", "peak MB", "{:,.0f}"),
    ("note", "note", "{}"),
]


def table(rows) -> str:
    """The rows as an aligned text table (a blank cell where a row has no value)."""
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        cells.append([fmt.format(row[key]) if key in row else "" for key, _, fmt in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(path, rows, **extra) -> None:
    import tensorflow as tf

    document = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "tensorflow": tf.__version__,
        },
        **extra,
        "rows": rows,
    }
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    atomic_write(path, json.dumps(document, indent=2) + "\n")


def run_isolated(name, quick) -> list:
    """Runs case `name` with `python -m bench.run --case_output=...` in a new process; its
    rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rows.json")
        command = [sys.executable, "-m", "bench.run", f"--cases={name}", f"--case_output={path}"]
        result = subprocess.run(command + (["--quick"] if quick else []), text=True)
        if result.returncode != 0 or not os.path.exists(path):
            raise DrawError(f"benchmark case {name} failed (exit status {result.returncode})")
        with open(path) as f:
            return json.load(f)["rows"]
