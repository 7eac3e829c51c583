"""evaluate.py's result files: a record's row (its columns come from the measures'
registry), tables, CSV, the numbered result files, and the comparison of runs.

Each evaluation writes FOLDER/NNNN-YYYYmmddTHHMMSS.json and .csv (NNNN one more than the
highest number in FOLDER; the name is claimed with a hard link, which fails instead of
replacing an existing file, so two evaluations running at once cannot overwrite each
other) and then replaces FOLDER/latest.json and latest.csv atomically with copies.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import time

from draw import figures
from draw.errors import DrawError
from draw.files import atomic_write, fill, remove_leftovers, temporary_file
from draw.measures import MEASURES, chart_labels
from draw.run_dir import RunDir, checkpoint_to_load

RESULTS_FOLDER = "evaluations"


def flat_row(record: dict) -> dict:
    """One CSV/table row of a record: run, step, summary and every figure."""
    row = {"run": record["run"], "step": record["step"], "summary": record["summary"]}
    for name, measure in MEASURES.items():
        if name in record:
            figures = record[name]
            row.update({column: figures[key] for column, key in measure.columns})
            if measure.more_columns:
                row.update(measure.more_columns(figures))
    return row


def _columns(rows: list[dict]) -> list[str]:
    """The union of the rows' columns, in the order they first appear."""
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    return columns


def format_table(rows: list[dict]) -> str:
    """rows as an aligned text table (floats with two decimals)."""
    columns = _columns(rows)

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


_NUMBERED = re.compile(r"^(\d+)-.*\.json$")


def to_csv(rows: list[dict]) -> str:
    """rows of flat {column: value} as CSV text; the columns are the union, in order."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _claim(folder: str, suffix_texts: dict[str, str], stamp: str) -> str:
    """Writes each text to a new file FOLDER/NNNN-stamp<suffix>; returns the stem's path."""
    taken = [int(m.group(1)) for name in os.listdir(folder) if (m := _NUMBERED.match(name))]
    number = max(taken, default=0) + 1
    with contextlib.ExitStack() as stack:
        temps = {}
        for suffix, text in suffix_texts.items():
            temps[suffix] = stack.enter_context(temporary_file(folder, "result" + suffix))
            fill(temps[suffix], text)  # synced to disk before it is linked into place
        while True:
            stem = os.path.join(folder, f"{number:04d}-{stamp}")
            first, *rest = suffix_texts
            try:
                os.link(temps[first], stem + first)
            except FileExistsError:
                number += 1
                continue
            for suffix in rest:
                os.link(temps[suffix], stem + suffix)
            return stem


def check_finite(record, where: str = "") -> None:
    """DrawError naming the first figure of record (nested dicts and lists) that is NaN or
    infinite: a model that gives one is refused, never reported as a result."""
    items = record.items() if isinstance(record, dict) else enumerate(record)
    for key, value in items:
        name = f"{where}.{key}" if where else str(key)
        if isinstance(value, (dict, list)):
            check_finite(value, name)
        elif isinstance(value, float) and not math.isfinite(value):
            raise DrawError(
                f"{name} is {value}: the model gives non-finite figures (its weights are "
                "unusable); nothing was written"
            )


def write_results(folder: str, record: dict, rows: list[dict]) -> dict:
    """Writes record as JSON and rows as CSV into folder; returns {kind: path}.

    Earlier result files are never touched, except latest.json / latest.csv, which are
    replaced atomically.
    """
    check_finite(record)
    text = json.dumps(record, indent=2, sort_keys=False, allow_nan=False)  # strict JSON
    texts = {".json": text + "\n", ".csv": to_csv(rows)}
    try:
        os.makedirs(folder, exist_ok=True)
        remove_leftovers(folder)
        stem = _claim(folder, texts, time.strftime("%Y%m%dT%H%M%S"))
        for suffix, text in texts.items():
            atomic_write(os.path.join(folder, "latest" + suffix), text)
    except OSError as e:
        raise DrawError(f"cannot write the results into {folder}: {e}") from None
    return {"json": stem + ".json", "csv": stem + ".csv"}


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


def write_comparison(logdirs: list[str], records: list[dict], seed: int) -> dict:
    """One table of the runs' records, as JSON, CSV and a bar chart, into <the runs' common
    parent>/comparisons/ (a single run: its parent's); returns {kind: path}."""
    folder = os.path.join(os.path.commonpath([os.path.abspath(d) for d in logdirs]), "comparisons")
    if len(logdirs) == 1:
        folder = os.path.join(os.path.dirname(os.path.abspath(logdirs[0])), "comparisons")
    record = {"runs": records, "created": records[-1]["created"], "seed": seed}
    rows = [flat_row(r) for r in records]
    paths = write_results(folder, record, rows)
    paths["chart"] = paths["json"][: -len(".json")] + ".png"
    chart = figures.comparison_chart(rows, chart_labels())
    atomic_write(paths["chart"], figures.save_png(chart))
    return paths
