"""Every bad input to an entry point: exit status non-zero, one line on stderr naming the
problem, no traceback, no file changed.

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
from tests.test_cli import checksums


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
    (None, ["--learning_rate=0"], ["--learning_rate must be positive"]),
    (None, ["--learning_rate=nan"], ["--learning_rate must be positive"]),
    (None, ["--clipnorm=0"], ["--clipnorm must be positive"]),
    (None, ["--beta_1=1"], ["--beta_1 must be in [0, 1)"]),
    (None, ["--train_iters=0"], ["--train_iters must be positive"]),
    (None, ["--checkpoint_every=0"], ["--checkpoint_every must be positive"]),
    (None, ["--keep_checkpoints=0"], ["--keep_checkpoints must be positive"]),
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


@pytest.mark.parametrize(
    "setup,args,fragments",
    TRAIN_ROWS,
    ids=[" ".join([row[0] or "fresh", *row[1]]) for row in TRAIN_ROWS],
)
def test_bad_train_input(capfd, tmp_path, tiny_mnist_dir, trained_run, setup, args, fragments):
    run = str(tmp_path / "run")
    (tmp_path / "file").write_text("a file, not a folder\n")
    model_flags = TINY_TRAIN_FLAGS  # a new run's; an existing run has its own
    if setup:
        shutil.copytree(trained_run, run)
        SETUPS[setup](run)
        model_flags = []
    before = checksums(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    status, out, err = run_in_process(
        capfd,
        "train.py",
        f"--logdir={run}",
        f"--data_dir={tiny_mnist_dir}",
        "--train_iters=10",
        *model_flags,
        *args,
    )
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("train.py: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert checksums(tmp_path) == before
    assert os.listdir(tmp_path) == ["file"] or setup
