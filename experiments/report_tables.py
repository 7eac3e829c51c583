"""The rows of the report's tables 6.1 and 6.2, the tables that put ours beside them, and
the figures they take from evaluate.py's result files.

Each row is a set of train.py flags; the report's numbers are its nearest-neighbour NLL
of 1000 generated images (mean, standard deviation, maximum), copied from the report.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass

from draw.app.results import RESULTS_FOLDER
from draw.measures.bound import ELBO_KEYS


@dataclass(frozen=True)
class Row:
    key: str  # the run directory's name
    name: str  # as the report names the row
    flags: tuple[str, ...]  # train.py flags beyond the jang preset
    report: tuple[int, int, int] | None  # report's NN-NLL mean, std, max


DRAW_ATTENTION = Row("draw_attention", "DRAW (Attention)", (), (643, 264, 1370))
MODEL_I = ("--model=conv_read", "--noread_attn")

TABLE_6_1 = (
    DRAW_ATTENTION,
    Row("draw_no_attention", "DRAW (No-Attention)", ("--noread_attn", "--nowrite_attn"),
        (644, 268, 1337)),
    Row("draw_T1", "DRAW (T=1)", ("--T=1",), (653, 290, 1724)),
    Row("draw_T2", "DRAW (T=2)", ("--T=2",), (698, 276, 1402)),
    Row("draw_T5", "DRAW (T=5)", ("--T=5",), (796, 302, 1853)),
    Row("draw_noprivy", "DRAW (no-privy)", ("--noprivy",), (809, 298, 2546)),
    Row("draw_error_only", "DRAW (only error image)", ("--read_input=error",), (648, 302, 1853)),
)  # fmt: skip

# The report's table 6.2 was trained for 50,000 iterations, so its DRAW row differs from
# table 6.1's; at one budget both are the same run. It gives one Model I row without
# saying which of the two read modes it is, so both modes stand beside that row.
TABLE_6_2 = (
    Row("draw_attention", "DRAW", (), (820, 327, 1989)),
    Row("model1_concat", "Model I - Each Step Convolution (concat)",
        MODEL_I + ("--conv_read_mode=concat",), (656, 267, 1429)),
    Row("model1_replace", "Model I - Each Step Convolution (replace)",
        MODEL_I + ("--conv_read_mode=replace",), (656, 267, 1429)),
    Row("model2_supervised", "Model II - Supervised Encoder", ("--model=supervised",),
        (791, 295, 1823)),
    Row("model3_conv_encoder", "Model III - Convolutional Encoder", ("--model=conv_encoder",),
        (625, 255, 1637)),
)  # fmt: skip

TABLES = {"6.1": TABLE_6_1, "6.2": TABLE_6_2}


def all_rows() -> list[Row]:
    """Every distinct row (run) of both tables, in table order."""
    rows = {}
    for table in TABLES.values():
        for row in table:
            rows.setdefault(row.key, row)
    return list(rows.values())


COLUMNS = (
    "table",
    "row",
    "report_nn_nll_mean",
    "report_nn_nll_std",
    "report_nn_nll_max",
    "nn_nll_mean",
    "nn_nll_std",
    "nn_nll_max",
    "elbo",
    "L_x",
    "L_z",
    "L_c",
    "accuracy",
    "iterations",
    "status",
    "run",
)


def table_records(table: str, results: dict) -> list[dict]:
    """One record per row of `table` with our figures from results[row.key] (a dict with
    the measured keys of COLUMNS, "status" and "run"; a missing row is "not run")."""
    records = []
    for row in TABLES[table]:
        ours = results.get(row.key, {"status": "not run"})
        mean, std, high = row.report if row.report else (None, None, None)
        record = {
            "table": table,
            "row": row.name,
            "report_nn_nll_mean": mean,
            "report_nn_nll_std": std,
            "report_nn_nll_max": high,
        }
        record.update({c: ours.get(c) for c in COLUMNS if c not in record})
        records.append(record)
    return records


def to_csv(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if record[k] is None else record[k] for k in COLUMNS})
    return out.getvalue()


def _number(value, digits=0):
    return "" if value is None else f"{value:.{digits}f}"


def to_markdown(table: str, records: list[dict]) -> str:
    """The table with the report's NN-NLL and ours side by side, then our ELBO."""
    extra = any(r.get("L_c") is not None for r in records)
    head = (
        "| row | report NN-NLL mean | std | max | ours NN-NLL mean | std | max "
        "| ours ELBO (nats) | iterations | status |"
    )
    if extra:
        head += " L_c | accuracy |"
    lines = [f"Table {table}", "", head, "|" + " --- |" * (head.count(" | ") + 1)]
    for r in records:
        cells = [
            r["row"],
            _number(r["report_nn_nll_mean"]),
            _number(r["report_nn_nll_std"]),
            _number(r["report_nn_nll_max"]),
            _number(r["nn_nll_mean"], 1),
            _number(r["nn_nll_std"], 1),
            _number(r["nn_nll_max"], 1),
            _number(r["elbo"], 2),
            "" if r["iterations"] is None else str(r["iterations"]),
            r["status"] or "",
        ]
        if extra:
            cells += [_number(r["L_c"], 3), _number(r["accuracy"], 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def ordering(records: list[dict], key: str) -> list[str]:
    """Row names sorted by records[key] (ascending: best first), rows without it left out."""
    known = [r for r in records if r.get(key) is not None]
    return [r["row"] for r in sorted(known, key=lambda r: r[key])]


def figures_of(record: dict) -> dict:
    """The tables' columns from one evaluate.py record (RUN/evaluations/*.json)."""
    figures = {"iterations": record.get("step")}
    elbo = record.get("elbo")
    if elbo:
        figures.update(elbo=elbo["L_x"] + elbo["L_z"], L_x=elbo["L_x"], L_z=elbo["L_z"])
        figures.update({k: v for k, v in elbo.items() if k not in ELBO_KEYS})  # a variant's
    nn = record.get("nn_nll")
    if nn:
        figures.update(nn_nll_mean=nn["mean"], nn_nll_std=nn["std"], nn_nll_max=nn["max"])
    return figures


def read_latest(run_path: str) -> dict | None:
    """The figures of the run's latest evaluation (RUN/evaluations/latest.json) with both
    the ELBO and the NN-NLL, or None when there is none."""
    path = os.path.join(run_path, RESULTS_FOLDER, "latest.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        figures = figures_of(record)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return figures if "elbo" in figures and "nn_nll_mean" in figures else None
