"""Reproduces the report's tables 6.1 and 6.2: python -m experiments.reproduce --budget_iters=N

Trains every row of both tables (experiments/report_tables.py) on MNIST for the same number of
iterations with train.py, evaluates each with `evaluate.py --elbo --nn-nll`, and writes
the tables (Markdown and CSV) with the report's numbers beside ours into --out:

    OUT/<row>/            each row's run directory (train.py's; resumable)
    OUT/logs/<row>.*.log  train.py's and evaluate.py's output
    OUT/tables.md, OUT/table_6_1.csv, OUT/table_6_2.csv   (the CSVs' run: OUT/<row>)

Run it again with the same --out and it skips what is done: a row whose run has reached
the budget is not trained again, and its evaluation is reused when it measured that
checkpoint. A row that fails or was not run is marked so in the tables, never filled in.
Training flags (e.g. --data_dir, --batch_size, --jit_compile) are passed to every row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from absl import flags

from draw.app import startup
from draw.config import fields_with_role
from draw.errors import DrawError

FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Shared flags that may be passed on to every row besides the training settings: the seed
# and the LSTM initialisation (the same for every row, as the report's table needs).
PASSED_ON = ("seed", "lstm_init")


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _run_logged(args: list[str], log_path: str) -> tuple[int, str]:
    """Runs a script of the repository, its output into log_path; (exit status, the last
    line of its stderr)."""
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(args)}\n")
        log.flush()
        result = subprocess.run(
            [sys.executable, *args], cwd=REPO, stdout=log, stderr=subprocess.PIPE, text=True
        )
        log.write(result.stderr)
    lines = result.stderr.strip().splitlines()
    return result.returncode, lines[-1] if lines else ""


def train_row(row, run_path, budget, passed_on, logs) -> str:
    """Trains the row to the budget unless its run is there; returns "" or an error."""
    from draw.run_dir import RunDir  # imports TensorFlow: after startup.start()

    if RunDir(run_path).latest_step() >= budget:
        return ""
    _log(f"training {row.key} ({' '.join(row.flags) or 'the jang preset'}) to {budget}")
    args = [
        os.path.join(REPO, "train.py"),
        f"--logdir={run_path}",
        f"--train_iters={budget}",
        f"--checkpoint_every={max(budget // 4, 1)}",
        *passed_on,
        *row.flags,
    ]
    status, error = _run_logged(args, os.path.join(logs, f"{row.key}.train.log"))
    return "" if status == 0 else f"training failed: {error}"


def evaluate_row(row, run_path, budget, logs) -> tuple[dict, str]:
    """(measured figures, error) of the row's run, reusing an evaluation of its checkpoint."""
    from experiments import report_tables  # imports TensorFlow: after startup.start()

    figures = report_tables.read_latest(run_path)
    if figures is None or figures.get("iterations") != budget:
        _log(f"evaluating {row.key} (ELBO, NN-NLL of {FLAGS.num_samples} samples)")
        args = [
            os.path.join(REPO, "evaluate.py"),
            f"--logdir={run_path}",
            "--elbo",
            "--nn-nll",
            f"--num_samples={FLAGS.num_samples}",
        ]
        status, error = _run_logged(args, os.path.join(logs, f"{row.key}.eval.log"))
        if status != 0:
            return {}, f"evaluation failed: {error}"
        figures = report_tables.read_latest(run_path)
    if figures is None:
        return {}, f"evaluate.py wrote no readable result in {run_path}"
    return figures, ""


def main(argv):
    # Imported here, after startup.start() (they import TensorFlow).
    from draw.app.flags import explicit_config_values
    from draw.files import atomic_write
    from experiments import report_tables

    if FLAGS.budget_iters <= 0:
        raise DrawError(f"--budget_iters must be positive, got {FLAGS.budget_iters}")
    if FLAGS.num_samples <= 0:
        raise DrawError(f"--num_samples must be positive, got {FLAGS.num_samples}")
    explicit = explicit_config_values(FLAGS)
    allowed = (set(fields_with_role("train")) | set(PASSED_ON)) - {"train_iters"}
    for name in explicit:
        if name not in allowed:
            hint = "use --budget_iters" if name == "train_iters" else "each row fixes it"
            raise DrawError(f"--{name} cannot be given to the reproduction ({hint})")
    if FLAGS.logdir or FLAGS.checkpoint:
        raise DrawError("the reproduction keeps its runs in --out; drop --logdir/--checkpoint")
    passed_on = [f"--{name}={value}" for name, value in sorted(explicit.items())]
    rows = report_tables.all_rows()
    if FLAGS.rows:
        unknown = sorted(set(FLAGS.rows) - {r.key for r in rows})
        if unknown:
            keys = ", ".join(r.key for r in rows)
            raise DrawError(f"--rows: unknown rows {unknown}; the rows are {keys}")
        by_key = {r.key: r for r in rows}
        rows = [by_key[key] for key in dict.fromkeys(FLAGS.rows)]  # in the order given
    budget = FLAGS.budget_iters
    logs = os.path.join(FLAGS.out, "logs")
    os.makedirs(logs, exist_ok=True)

    errors = {}
    for row in rows:
        error = train_row(row, os.path.join(FLAGS.out, row.key), budget, passed_on, logs)
        if error:
            errors[row.key] = error
            _log(f"{row.key}: {error}")
    results = {}
    for row in rows:
        run_path = os.path.join(FLAGS.out, row.key)
        if row.key in errors or FLAGS.train_only:
            status = errors.get(row.key, "trained, not evaluated")
            results[row.key] = {"status": status, "run": row.key}
            continue
        figures, error = evaluate_row(row, run_path, budget, logs)
        if error:
            _log(f"{row.key}: {error}")
        results[row.key] = {**figures, "status": error or "ok", "run": row.key}

    markdown = [
        f"Budget: {budget} training iterations per row (batch {explicit.get('batch_size', 100)})"
        f"; NN-NLL over {FLAGS.num_samples} generated images.",
        "",
    ]
    for table in report_tables.TABLES:
        records = report_tables.table_records(table, results)
        name = "table_" + table.replace(".", "_")
        atomic_write(os.path.join(FLAGS.out, name + ".csv"), report_tables.to_csv(records))
        markdown.append(report_tables.to_markdown(table, records))
        for label, key in (("report", "report_nn_nll_mean"), ("ours", "nn_nll_mean")):
            order = report_tables.ordering(records, key)
            markdown.append(f"- order by NN-NLL mean, {label}: {' < '.join(order) or 'none'}")
        markdown.append("")
    atomic_write(os.path.join(FLAGS.out, "tables.md"), "\n".join(markdown))
    print("\n".join(markdown))
    _log(f"wrote {FLAGS.out}/tables.md, table_6_1.csv, table_6_2.csv")


def define_reproduce_flags() -> None:
    """The driver's own flags (defined only when it runs, so importing the module for its
    functions defines no flag that could clash with a script's)."""
    flags.DEFINE_integer("budget_iters", 1000, "Training iterations of every row.")
    flags.DEFINE_string("out", os.path.join("runs", "reproduce"), "Folder of the runs and tables.")
    flags.DEFINE_list(
        "rows", [], "Only these rows, in this order (run names, see experiments/report_tables.py)."
    )
    flags.DEFINE_boolean("train_only", False, "Train the rows, do not evaluate them.")
    flags.DEFINE_integer("num_samples", 1000, "Generated images per row for the NN-NLL.")


if __name__ == "__main__":
    define_reproduce_flags()
    startup.start()
    from draw.app import cli

    cli.run(main)
