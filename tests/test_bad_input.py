"""Every bad input to an entry point (train.py, generate.py, evaluate.py): exit status 2,
one line on stderr naming the problem, no traceback, no file changed.

The scripts run in this process (tests.script_runner: the same absl parsing and error
handling as a real invocation, without a TensorFlow import per row); test_cli.py checks a
few rows end to end in a subprocess. Rows on "run" start from a copy of a trained run
(ckpt-5, ckpt-10) that the row's setup damages first.
"""

import fcntl
import json
import os
import shutil
import socket

import numpy as np
import pytest

from draw import distribute
from tests.conftest import TINY_TRAIN_FLAGS
from tests.script_runner import run_in_process
from tests.test_cli import checksums, run_script


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


def _edit_stored(run, edit):
    """Applies edit to the whole stored JSON of config.json (as a hand edit would)."""
    with open(os.path.join(run, "config.json")) as f:
        stored = json.load(f)
    edit(stored)
    with open(os.path.join(run, "config.json"), "w") as f:
        json.dump(stored, f)


HELD = []  # lock files held open by a "locked" setup until the test ends


def _hold_lock(run, pid=4242):
    """What a trainer running on run holds: RUN/train.lock, flocked, naming its PID."""
    fd = os.open(os.path.join(run, "train.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, f"{pid} {socket.gethostname()}\n".encode())
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    HELD.append(fd)


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
    "missing key": lambda run: _edit_stored(run, lambda s: s["config"].pop("T")),
    "bool T": lambda run: _edit_config(run, T=True),
    "null T": lambda run: _edit_config(run, T=None),
    "T too large": lambda run: _edit_config(run, T=5000),
    "inf rate": lambda run: _edit_config(run, learning_rate=float("inf")),
    "seed 2^32": lambda run: _edit_config(run, seed=2**32),
    "config a list": lambda run: _edit_stored(run, lambda s: s.update(config=[1, 2])),
    "2-d image_shape": lambda run: _edit_stored(run, lambda s: s.update(image_shape=[28, 28])),
    "extra top key": lambda run: _edit_stored(run, lambda s: s.update(note="hand edit")),
    "locked": _hold_lock,
    "one legacy key": lambda run: _edit_stored(run, lambda s: s["config"].pop("lstm_init")),
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
    (None, ["--beta_1=1"], ["--beta_1 must be in (0, 1)"]),
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
    # Every value in its stated range, NaN, inf and integers beyond int64 included.
    (None, ["--seed=4294967296"], ["--seed=4294967296", "limit of 4,294,967,295"]),
    (None, ["--seed=-1"], ["--seed must be non-negative"]),
    (None, ["--clipnorm=nan"], ["--clipnorm must be finite and positive, got nan"]),
    (None, ["--adam_epsilon=inf"], ["--adam_epsilon must be finite and positive, got inf"]),
    (None, ["--adam_epsilon=-1e-8"], ["--adam_epsilon must be finite and positive"]),
    (None, ["--clipnorm=inf"], ["--clipnorm must be finite"]),
    (None, ["--beta_1=0"], ["--beta_1 must be in (0, 1)"]),
    (None, ["--beta_1=nan"], ["--beta_1 must be in (0, 1), got nan"]),
    (None, ["--class_weight=inf"], ["--class_weight must be finite"]),
    (None, ["--T=99999999999999999999999"], ["--T=99999999999999999999999", "limit of 1,000"]),
    (None, ["--train_iters=9223372036854775808"], ["--train_iters=", "limit of 1,000,000,000"]),
    (None, ["--keep_checkpoints=1001"], ["--keep_checkpoints=1001", "limit of 1,000"]),
    (None, ["--batch_size=1e3"], ["--batch_size", "1e3"]),
    (None, ["--intra_op_threads=100000"], ["--intra_op_threads=100000", "logical CPUs"]),
    (None, ["--enc_size=8192", "--dec_size=8192", "--T=1000"], ["would need", "GB", "16.0 GB"]),
    # The data, checked at the door.
    (None, ["--data_dir={data}/float_npz"], ["mnist.npz", "float64", "uint8"]),
    (None, ["--data_dir={data}/float_labels"], ["mnist.npz", "labels float64"]),
    (None, ["--data_dir={data}/label_10"], ["mnist.npz", "label 10", "0..9"]),
    (None, ["--data_dir={data}/empty_test"], ["mnist.npz", "test split", "no images"]),
    (None, ["--data_dir={data}/count_mismatch"], ["mnist.npz", "100 images", "99 labels"]),
    (None, ["--data_dir={data}/idx_label_12"], ["t10k-labels-idx1-ubyte.gz", "label 12"]),
    (None, ["--data_dir={data}/idx_empty_test"], ["t10k-images-idx3-ubyte.gz", "no images"]),
    (None, ["--data_dir={data}/idx_mismatch"], ["train-labels-idx1-ubyte.gz", "99 labels"]),
    (None, ["--dataset=svhn", "--data_dir={data}/svhn_empty_test"], ["test_32x32.mat", "no im"]),
    (None, ["--dataset=svhn", "--data_dir={data}/svhn_label_11"], ["train_32x32.mat", "1..10"]),
    # Paths as users type them: ~ is expanded (here to a folder that does not exist).
    (None, ["--data_dir=~/no-such-mnist"], ["{home}/no-such-mnist"]),
    # --overwrite deletes nothing before every check passed.
    ("intact", ["--overwrite", "--seed=4294967296"], ["--seed=4294967296"]),
    ("intact", ["--overwrite", "--batch_size=101"], ["--batch_size=101", "100 training images"]),
    ("intact", ["--overwrite", "--learning_rate=inf"], ["--learning_rate must be finite"]),
    ("intact", ["--overwrite", "--data_dir={data}/label_10"], ["label 10"]),
    ("intact", ["--overwrite", "--enc_size=8192", "--dec_size=8192", "--T=1000"], ["would need"]),
    ("locked", ["--overwrite"], ["being trained by process 4242", "train.lock"]),
    # A value given for one invocation is checked before it is stored.
    ("intact", ["--learning_rate=inf"], ["--learning_rate must be finite"]),
    ("intact", ["--train_iters=0"], ["--train_iters must be positive"]),
    ("intact", ["--batch_size=101"], ["--batch_size=101"]),
    # One writer per run.
    ("locked", [], ["being trained by process 4242", "train.lock", "another --logdir"]),
    # config.json read strictly: never completed from defaults, never rewritten.
    ("missing key", [], ["config.json", "missing configuration keys ['T']"]),
    ("bool T", [], ["config.json", "T=True is not of type int"]),
    ("null T", [], ["config.json", "T=None"]),
    ("T too large", [], ["config.json", "--T=5000", "limit"]),
    ("inf rate", [], ["config.json", "--learning_rate must be finite"]),
    ("seed 2^32", [], ["config.json", "--seed=4294967296"]),
    ("config a list", [], ["config.json", "not an object"]),
    ("2-d image_shape", [], ["config.json", "image_shape=[28, 28]"]),
    ("extra top key", [], ["config.json", "'note'"]),
    ("one legacy key", [], ["config.json", "missing configuration keys ['lstm_init']"]),
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
    ("intact", ["--stochastic", "--num_samples=10000001"], ["limit of 10,000,000"]),
    ("intact", ["--stochastic", "--num_samples=99999999999999999999"], ["--num_samples="]),
    ("intact", ["--stochastic", "--seed=4294967296"], ["--seed=4294967296", "limit"]),
    ("intact", ["--stochastic", "--num_samples=1e3"], ["--num_samples", "1e3"]),
    ("intact", ["--fix_step=all", "--num_samples=2000000"], ["would need", "GB", "fix_step"]),
    ("intact", ["--reconstruct", "--num_samples=9000000"], ["would need", "reconstruct"]),
    ("intact", ["--stochastic", "--intra_op_threads=100000"], ["logical CPUs"]),
    ("intact", ["--stochastic", "--logdir=~/no-such-run"], ["{home}/no-such-run"]),
    ("intact", ["--stochastic", "--out_dir={run}/config.json"], ["cannot be written"]),
    ("missing key", ["--stochastic"], ["config.json", "missing configuration keys ['T']"]),
    ("inf rate", ["--stochastic"], ["config.json", "--learning_rate must be finite"]),
    ("2-d image_shape", ["--stochastic"], ["config.json", "image_shape"]),
]

ROWS = [("train.py", *row) for row in TRAIN_ROWS] + [("generate.py", *row) for row in GENERATE_ROWS]


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory):
    """Folders of MNIST and SVHN files, each wrong in one way (see the rows)."""
    from tests.conftest import write_idx, write_tiny_mnist
    from tests.test_svhn import svhn_arrays, write_mat

    root = tmp_path_factory.mktemp("bad_data")
    images = np.zeros((100, 28, 28), np.uint8)
    labels = np.arange(100, dtype=np.uint8) % 10

    def npz(name, **changes):
        arrays = dict(x_train=images, y_train=labels, x_test=images[:20], y_test=labels[:20])
        arrays.update(changes)
        (root / name).mkdir()
        np.savez(root / name / "mnist.npz", **arrays)

    npz("float_npz", x_train=images / 255.0)
    npz("float_labels", y_train=labels.astype(np.float64))
    npz("label_10", y_test=np.full(20, 10, np.uint8))
    npz("empty_test", x_test=images[:0], y_test=labels[:0])
    npz("count_mismatch", y_train=labels[:99])
    for name, file, array in (
        ("idx_label_12", "t10k-labels-idx1-ubyte.gz", np.full(20, 12, np.uint8)),
        ("idx_empty_test", "t10k-images-idx3-ubyte.gz", images[:0]),
        ("idx_mismatch", "train-labels-idx1-ubyte.gz", labels[:99]),
    ):
        folder = write_tiny_mnist(root / name)
        write_idx(os.path.join(folder, file), array)
        if name == "idx_empty_test":
            write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), labels[:0])
    (root / "svhn_empty_test").mkdir()
    write_mat(root / "svhn_empty_test" / "train_32x32.mat", *svhn_arrays(20))
    X, y = svhn_arrays(20)
    write_mat(root / "svhn_empty_test" / "test_32x32.mat", X[..., :0], y[:0])
    (root / "svhn_label_11").mkdir()
    write_mat(root / "svhn_label_11" / "test_32x32.mat", *svhn_arrays(20))
    y[3] = 11
    write_mat(root / "svhn_label_11" / "train_32x32.mat", X, y)
    return str(root)


MEMORY = 16 * 10**9  # the machine the memory rows are refused on (16.0 GB)


def _fill(args, tmp, run, data, home):
    names = {"{tmp}": tmp, "{run}": run, "{data}": data, "{home}": home}
    for name, value in names.items():
        args = [a.replace(name, str(value)) for a in args]
    return args


def assert_refused(status, err, script, fragments, before, after):
    """Exit status 2, one line naming the problem, no traceback, no file changed."""
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{script}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert after == before


@pytest.mark.parametrize(
    "script,setup,args,fragments",
    ROWS,
    ids=[" ".join([row[0], row[1] or "fresh", *row[2]]) for row in ROWS],
)
def test_bad_input(
    capfd, tmp_path, tiny_mnist_dir, trained_run, bad_data, monkeypatch, script, setup, args,
    fragments,
):  # fmt: skip
    run = str(tmp_path / "run")
    (tmp_path / "file").write_text("a file, not a folder\n")
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(distribute, "physical_memory", lambda: MEMORY)
    common = ["--num_samples=4"]  # generate.py's: the run is its configuration
    if script == "train.py":  # a new run's configuration; an existing run has its own
        common = [f"--data_dir={tiny_mnist_dir}", "--train_iters=10"]
        common += [] if setup else TINY_TRAIN_FLAGS
    if setup:
        shutil.copytree(trained_run, run)
        SETUPS[setup](run)
    before = checksums(tmp_path)
    args = _fill(args, tmp_path, run, bad_data, home)
    try:
        status, out, err = run_in_process(capfd, script, f"--logdir={run}", *common, *args)
    finally:
        while HELD:
            os.close(HELD.pop())
    fragments = _fill(fragments, tmp_path, run, bad_data, home)
    assert_refused(status, err, script, fragments, before, checksums(tmp_path))
    assert setup or sorted(os.listdir(tmp_path)) == ["file"]


# evaluate.py defines flags that clash with generate.py's in one process (--num_samples),
# so its rows run in one subprocess for all of them (python -m tests.row_runner).
EVALUATE_ROWS = [
    ("truncated .data", [], ["ckpt-10", "--restore_from_previous"]),
    ("garbage list", [], ["is unreadable", "--restore_from_previous"]),
    ("truncated json", [], ["config.json"]),
    ("intact", ["--iwae", "--num_importance_samples=0"], ["--num_importance_samples must be"]),
    ("intact", ["--iwae", "--num_importance_samples=1000001"], ["limit of 1,000,000"]),
    ("intact", ["--eval_batch_size=100001"], ["--eval_batch_size=100001", "limit"]),
    ("intact", ["--eval_batch_size=0"], ["--eval_batch_size must be positive"]),
    ("intact", ["--seed=4294967296"], ["--seed=4294967296", "limit"]),
    ("intact", ["--num_test_images=-1"], ["--num_test_images must be non-negative"]),
    ("intact", ["--num_test_images=100000000000000000000"], ["--num_test_images=", "limit"]),
    ("intact", ["--num_test_images=21"], ["--num_test_images=21", "20 test images"]),
    ("intact", ["--nn-nll", "--num_samples=0"], ["--num_samples must be positive"]),
    ("intact", ["--nn_reference=colour"], ["--nn_reference"]),
    ("intact", ["--T=5"], ["--T=5 contradicts"]),
    ("intact", ["--compare="], ["--compare needs the runs"]),
    ("intact", ["--intra_op_threads=100000"], ["logical CPUs"]),
    ("intact", ["--data_dir={data}/label_10"], ["mnist.npz", "label 10"]),
    ("intact", ["--data_dir={data}/empty_test"], ["mnist.npz", "no images"]),
    ("intact", ["--logdir=~/no-such-run"], ["{home}/no-such-run"]),
    ("missing key", [], ["config.json", "missing configuration keys ['T']"]),
    ("bool T", [], ["config.json", "T=True is not of type int"]),
    ("inf rate", [], ["config.json", "--learning_rate must be finite"]),
]


@pytest.fixture(scope="module")
def evaluate_results(tmp_path_factory, trained_run, bad_data):
    """(status, stdout, stderr, whether a file changed) of every row of EVALUATE_ROWS."""
    root = tmp_path_factory.mktemp("evaluate_rows")
    home = root / "home"
    rows = []
    for i, (setup, args, _) in enumerate(EVALUATE_ROWS):
        run = str(root / str(i) / "run")
        shutil.copytree(trained_run, run)
        SETUPS[setup](run)
        args = _fill([f"--logdir={run}", *args], root, run, bad_data, home)
        rows.append({"args": args, "folder": str(root / str(i))})
    request = root / "rows.json"
    request.write_text(json.dumps({"script": "evaluate.py", "rows": rows}))
    result = run_script("-m tests.row_runner", str(request), env={"HOME": str(home)}, timeout=900)
    assert result.returncode == 0, result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(results) == len(rows), result.stdout
    return results, home


@pytest.mark.parametrize(
    "index", range(len(EVALUATE_ROWS)), ids=[" ".join([r[0], *r[1]]) for r in EVALUATE_ROWS]
)
def test_bad_evaluate_input(evaluate_results, bad_data, index):
    results, home = evaluate_results
    status, _, err, changed = results[index]
    fragments = _fill(EVALUATE_ROWS[index][2], "", "", bad_data, home)
    assert_refused(status, err, "evaluate.py", fragments, False, changed)
