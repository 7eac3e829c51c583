"""Every bad input to an entry point (train.py, generate.py, evaluate.py): exit status 2,
one line on stderr naming the problem, no traceback, no file changed.

The scripts run in this process (tests.script_runner: the same absl parsing and error
handling as a real invocation, without a TensorFlow import per row); test_cli.py checks a
few rows end to end in a subprocess. Rows on "run" start from a copy of a trained run
(ckpt-5, ckpt-10) that the row's setup damages first.
"""

import json
import os
import shutil

import pytest

from tests.conftest import TINY_TRAIN_FLAGS
from tests.script_runner import run_in_process
from tests.test_cli import assert_one_line_error, checksums, run_script


def _truncate(path, keep=0.5):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])


def _edit_config(run, **changes):
    with open(os.path.join(run, "config.json")) as f:
        stored = json.load(f)
    stored["config"].update(changes)
    with open(os.path.join(run, "config.json"), "w") as f:
        json.dump(stored, f)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


SETUPS = {
    "truncated .data": lambda run: _truncate(f"{run}/checkpoints/ckpt-10.data-00000-of-00001"),
    "truncated .index": lambda run: _truncate(f"{run}/checkpoints/ckpt-10.index"),
    "empty .index": lambda run: _truncate(f"{run}/checkpoints/ckpt-10.index", 0),
    "missing .data": lambda run: os.remove(f"{run}/checkpoints/ckpt-10.data-00000-of-00001"),
    "garbage list": lambda run: _write(f"{run}/checkpoints/checkpoint", "\x00garbage {"),
    "other config": lambda run: _edit_config(run, enc_size=24),
    "truncated json": lambda run: _truncate(f"{run}/config.json"),
    "float T": lambda run: _edit_config(run, T=2.5),
    "string T": lambda run: _edit_config(run, T="two"),
    "unknown key": lambda run: _edit_config(run, colour=True),
    "NaN rate": lambda run: _edit_config(run, learning_rate=float("nan")),
    "no config.json": lambda run: os.remove(f"{run}/config.json"),
    "intact": lambda run: None,
}

# (setup or None for a fresh --logdir, flags, fragments of the one error line)
TRAIN_ROWS = [
    (None, ["--T=abc"], ["--T=abc"]),
    (None, ["--no_such_flag"], ["no_such_flag"]),
    (None, ["stray"], ["unexpected arguments"]),
    (None, ["--dataset=cifar"], ["--dataset=cifar"]),
    (None, ["--preset=huge"], ["--preset=huge"]),
    (None, ["--binarize=sometimes"], ["--binarize=sometimes"]),
    (None, ["--T=0"], ["--T must be positive"]),
    (None, ["--batch_size=-5"], ["--batch_size must be positive"]),
    (None, ["--z_size=0"], ["--z_size must be positive"]),
    (None, ["--read_n=1"], ["--read_n must be at least 2"]),
    (None, ["--learning_rate=0"], ["--learning_rate must be finite and positive"]),
    (None, ["--learning_rate=nan"], ["--learning_rate must be finite and positive"]),
    (None, ["--clipnorm=0"], ["--clipnorm must be finite and positive"]),
    (None, ["--learning_rate=inf"], ["--learning_rate must be finite and positive"]),
    (None, ["--adam_epsilon=0"], ["--adam_epsilon must be finite and positive"]),
    (None, ["--beta_1=1"], ["--beta_1 must be in [0, 1)"]),
    (None, ["--train_iters=0"], ["--train_iters must be positive"]),
    (None, ["--checkpoint_every=0"], ["--checkpoint_every must be positive"]),
    (None, ["--keep_checkpoints=0"], ["--keep_checkpoints must be positive"]),
    (None, ["--intra_op_threads=-2"], ["--intra_op_threads=-2"]),
    (None, ["--batch_size=101"], ["--batch_size=101", "100 training images"]),
    (None, ["--data_dir=/nonexistent/mnist"], ["/nonexistent/mnist"]),
    (None, ["--data_dir={tmp}"], ["no MNIST files in"]),
    (None, ["--data_source=files", "--data_dir="], ["--data_source=files needs --data_dir"]),
    (None, ["--data_source=tfds", "--data_dir={tmp}/tfds"], ["tensorflow-datasets"]),
    (None, ["--logdir={tmp}/file/run"], ["cannot create the run directory", "file/run"]),
    ("intact", ["--T=5"], ["--T=5", "T=2", "--overwrite"]),
    ("intact", ["--overwrite", "--data_dir=/nonexistent/mnist"], ["/nonexistent/mnist"]),
    ("intact", ["--checkpoint_every=-1"], ["--checkpoint_every must be positive"]),
    ("truncated .data", [], ["ckpt-10", "--restore_from_previous"]),
    ("truncated .index", [], ["ckpt-10", "--restore_from_previous"]),
    ("empty .index", [], ["ckpt-10", "--restore_from_previous"]),
    ("missing .data", [], ["ckpt-10", "--restore_from_previous"]),
    ("garbage list", [], ["checkpoints/checkpoint is unreadable", "--restore_from_previous"]),
    ("other config", [], ["cannot restore checkpoint", "ckpt-10"]),
    ("truncated json", [], ["config.json"]),
    ("float T", [], ["config.json", "T=2.5"]),
    ("string T", [], ["config.json", "T='two'"]),
    ("unknown key", [], ["config.json", "colour"]),
    ("NaN rate", [], ["config.json", "learning_rate"]),
    ("no config.json", [], ["holds checkpoints but", "config.json is missing", "--overwrite"]),
]


# generate.py on the same runs (its own flags are tested in test_generate.py).
GENERATE_ROWS = [
    (None, ["--stochastic"], ["no trained run", "config.json"]),
    ("intact", ["--stochastic", "--T=abc"], ["--T=abc"]),
    ("intact", ["--stochastic", "--no_such_flag"], ["no_such_flag"]),
    ("intact", [], ["choose what to generate"]),
    ("intact", ["--interpolate", "--interpolate_from=noise"], ["--interpolate_from=noise"]),
    ("intact", ["--stochastic", "--T=5"], ["--T=5", "T=2"]),
    ("intact", ["--stochastic", "--out_dir={tmp}/file/out"], ["cannot be written"]),
    ("intact", ["--stochastic", "--checkpoint={run}/checkpoints/ckpt-99"], ["ckpt-99"]),
    ("truncated .data", ["--stochastic"], ["ckpt-10", "--restore_from_previous"]),
    ("missing .data", ["--stochastic"], ["ckpt-10", "--restore_from_previous"]),
    ("garbage list", ["--stochastic"], ["is unreadable", "--restore_from_previous"]),
    ("other config", ["--stochastic"], ["cannot restore checkpoint", "ckpt-10"]),
    ("truncated json", ["--stochastic"], ["config.json"]),
    ("float T", ["--stochastic"], ["config.json", "T=2.5"]),
    ("no config.json", ["--stochastic"], ["no trained run", "config.json"]),
]

ROWS = [("train.py", *row) for row in TRAIN_ROWS] + [("generate.py", *row) for row in GENERATE_ROWS]


@pytest.mark.parametrize(
    "script,setup,args,fragments",
    ROWS,
    ids=[" ".join([row[0], row[1] or "fresh", *row[2]]) for row in ROWS],
)
def test_bad_input(capfd, tmp_path, tiny_mnist_dir, trained_run, script, setup, args, fragments):
    run = str(tmp_path / "run")
    (tmp_path / "file").write_text("a file, not a folder\n")
    common = ["--num_samples=4"]  # generate.py's: the run is its configuration
    if script == "train.py":  # a new run's configuration; an existing run has its own
        common = [f"--data_dir={tiny_mnist_dir}", "--train_iters=10"]
        common += [] if setup else TINY_TRAIN_FLAGS
    if setup:
        shutil.copytree(trained_run, run)
        SETUPS[setup](run)
    before = checksums(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)).replace("{run}", run) for a in args]
    status, out, err = run_in_process(capfd, script, f"--logdir={run}", *common, *args)
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{script}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert checksums(tmp_path) == before
    assert setup or os.listdir(tmp_path) == ["file"]


# evaluate.py defines flags that clash with generate.py's in one process (--num_samples),
# so its rows run as subprocesses: the faults of a run that evaluate.py adds nothing to
# (its own flags are tested in test_evaluate_cli.py).
EVALUATE_ROWS = [
    ("truncated .data", ["ckpt-10", "--restore_from_previous"]),
    ("garbage list", ["is unreadable", "--restore_from_previous"]),
    ("truncated json", ["config.json"]),
]


@pytest.mark.parametrize("setup,fragments", EVALUATE_ROWS, ids=[r[0] for r in EVALUATE_ROWS])
def test_bad_evaluate_input(tmp_path, trained_run, setup, fragments):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run, run)
    SETUPS[setup](run)
    before = checksums(tmp_path)
    result = run_script("evaluate.py", f"--logdir={run}")
    assert_one_line_error(result, "evaluate.py: error: ", *fragments)
    assert result.returncode == 2
    assert checksums(tmp_path) == before
