"""The reproduction of the report's tables: its rows, its tables, its command line."""

import csv
import io
import os
import subprocess
import sys

import pytest
from absl import flags

from draw.app.flags import define_flags, explicit_config_values
from draw.configure import make_config
from draw.run_dir import RunDir
from experiments import report_tables
from experiments.report_tables import figures_of
from tests.helpers import REPO, assert_one_line_error


def _config_of(row):
    values = flags.FlagValues()
    define_flags(values)
    values(["train.py", *row.flags])
    return make_config("jang", **explicit_config_values(values))


def test_every_row_is_a_valid_configuration_differing_where_the_report_says():
    configs = {row.key: _config_of(row) for row in report_tables.all_rows()}
    assert len(configs) == 11  # 7 rows of table 6.1, Models I (two modes), II, III
    base = make_config("jang")
    assert configs["draw_attention"] == base
    assert configs["draw_no_attention"] == base.replace(read_attn=False, write_attn=False)
    assert [configs[f"draw_T{t}"].T for t in (1, 2, 5)] == [1, 2, 5]
    assert configs["draw_noprivy"] == base.replace(privy=False)
    assert configs["draw_error_only"] == base.replace(read_input="error")
    assert configs["model1_replace"].conv_read_mode == "replace"
    assert configs["model1_concat"] == base.replace(
        model="conv_read", read_attn=False, conv_read_mode="concat"
    )
    assert configs["model2_supervised"] == base.replace(model="supervised")
    assert configs["model3_conv_encoder"] == base.replace(model="conv_encoder")


def test_tables_carry_the_reports_numbers_and_mark_rows_not_run():
    results = {
        "draw_attention": {"nn_nll_mean": 600.5, "nn_nll_std": 200.0, "nn_nll_max": 1200.0,
                           "elbo": 150.25, "iterations": 600, "status": "ok", "run": "r"},
        "draw_T1": {"status": "training failed: boom", "run": "t"},
    }  # fmt: skip
    records = report_tables.table_records("6.1", results)
    by_row = {r["row"]: r for r in records}
    assert by_row["DRAW (Attention)"]["report_nn_nll_mean"] == 643
    assert by_row["DRAW (Attention)"]["nn_nll_mean"] == 600.5
    assert by_row["DRAW (T=1)"]["status"] == "training failed: boom"
    assert by_row["DRAW (T=1)"]["nn_nll_mean"] is None
    assert by_row["DRAW (T=5)"]["status"] == "not run"
    assert by_row["DRAW (T=5)"]["report_nn_nll_max"] == 1853
    rows = list(csv.DictReader(io.StringIO(report_tables.to_csv(records))))
    assert [r["row"] for r in rows] == [r.name for r in report_tables.TABLE_6_1]
    assert rows[4]["nn_nll_mean"] == "" and rows[4]["status"] == "not run"
    markdown = report_tables.to_markdown("6.1", records)
    lines = markdown.splitlines()
    assert lines[2].count("|") == lines[3].count("|") == lines[4].count("|")
    assert "| DRAW (T=5) | 796 | 302 | 1853 |  |  |  |  |  | not run |" in markdown
    assert report_tables.ordering(records, "nn_nll_mean") == ["DRAW (Attention)"]


def test_latest_step_reads_the_managers_file(tmp_path):
    assert RunDir(str(tmp_path)).latest_step() == 0
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-600"\nall_model_checkpoint_paths: "ckpt-450"\n'
    )
    assert RunDir(str(tmp_path)).latest_step() == 600


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--budget_iters=0"], "--budget_iters must be positive"),
        (["--T=3"], "--T cannot be given"),
        (["--train_iters=5"], "use --budget_iters"),
        (["--rows=draw_T7"], "draw_T7"),
    ],
)
def test_bad_reproduction_flags_are_one_line_errors(tmp_path, args, fragment):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.reproduce", f"--out={tmp_path}/out", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert_one_line_error(result, fragment)
    assert not os.path.exists(tmp_path / "out" / "tables.md")


def test_figures_of_an_evaluation_record():
    record = {
        "step": 600,
        "elbo": {"loss": 170.5, "L_x": 160.0, "L_z": 10.0, "L_c": 0.5, "accuracy": 0.9},
        "nn_nll": {"mean": 90.0, "std": 30.0, "max": 250.0, "num_samples": 1000},
    }
    figures = figures_of(record)
    assert figures == {
        "iterations": 600, "elbo": 170.0, "L_x": 160.0, "L_z": 10.0, "L_c": 0.5,
        "accuracy": 0.9, "nn_nll_mean": 90.0, "nn_nll_std": 30.0, "nn_nll_max": 250.0,
    }  # fmt: skip
