"""What the tests share: tiny configurations, tiny data written in the real file formats,
running the scripts, and comparing files. Fixtures live in conftest.py; a test module
imports plain helpers from here and never from another test module."""

import hashlib
import os
import re
import selectors
import subprocess
import sys
import time

import numpy as np

from draw.configure import make_config
from draw.data import ImageData

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The logical CPU devices conftest.py splits the CPU into (for the tf.distribute tests).
LOGICAL_CPUS = 2


# The docs' code blocks (tests/test_docs.py runs the Python ones, tests/test_extending.py
# follows docs/extending.md's recipes).

# A fenced block: its fence may be indented (in a list item); its code is indented as much.
CODE_BLOCK = re.compile(r"^([ \t]*)```(\w*)[ \t]*\n(.*?)^\1```", re.S | re.M)
# The first line of a block that is a file of a recipe of docs/extending.md (a new file, or
# lines added at the end of one), not code to run.
RECIPE_EDIT = re.compile(r"\A#\s*(new file|add to):\s*(\S+)\s*\n")


def code_blocks(text):
    """(language, code) of every fenced block of Markdown text, in order; the fence's
    indentation is removed from the code."""
    return [
        (language, "".join(line.removeprefix(indent) for line in code.splitlines(True)))
        for indent, language, code in CODE_BLOCK.findall(text)
    ]


# Tiny models and data.


def tiny_config(**overrides):
    """A model small enough to train in seconds on 12x12 images."""
    values = dict(
        T=3,
        enc_size=32,
        dec_size=32,
        z_size=4,
        read_n=3,
        write_n=3,
        batch_size=20,
        train_iters=30,
        log_every=10,
        image_every=10,
        checkpoint_every=10,
        seed=1,
    )
    values.update(overrides)
    return make_config("jang", **values)


# train.py flags of a model that trains in a fraction of a second per step on 28x28 images.
TINY_TRAIN_FLAGS = [
    "--T=2",
    "--enc_size=16",
    "--dec_size=16",
    "--z_size=2",
    "--read_n=2",
    "--write_n=2",
    "--batch_size=10",
    "--log_every=5",
    "--image_every=10",
    "--checkpoint_every=5",
    "--keep_checkpoints=10",
    "--seed=3",
]


def bar_images(n, height=12, width=12, channels=1, seed=0):
    """uint8 `[n, H, W, C]` images of one bright horizontal or vertical bar each."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, height, width, channels), dtype=np.uint8)
    labels = rng.integers(0, 2, size=n).astype(np.int32)
    for i in range(n):
        if labels[i]:
            images[i, rng.integers(height), :, :] = 255
        else:
            images[i, :, rng.integers(width), :] = 255
    return images, labels


def tiny_image_data():
    """200 training and 50 test bar images, 12x12x1, two classes."""
    train_images, train_labels = bar_images(200, seed=0)
    test_images, test_labels = bar_images(50, seed=1)
    return ImageData("bars", train_images, train_labels, test_images, test_labels, "test")


def tiny_trainer(path, data, **overrides):
    """A silent Trainer of tiny_config(**overrides) on data, its run directory at path."""
    from draw.run_dir import RunDir
    from draw.training import Trainer

    return Trainer(tiny_config(**overrides), RunDir(str(path)), data, log=lambda *_: None)


def perturbed_model(config, shape, seed=0):
    """The model of config for images of shape, every trainable variable moved by
    N(0, 0.1) noise so that every bias and window parameter matters. seed: a seed or a
    NumPy Generator (which the noise is then drawn from)."""
    from draw.models import build_model

    model = build_model(config, shape)
    rng = np.random.default_rng(seed)
    for v in model.trainable_variables:
        v.assign(v.numpy() + rng.normal(scale=0.1, size=v.shape).astype(np.float32))
    return model


def trainable_weights(model):
    """{variable path: value} of the model's trainable variables (what numpy_draw reads)."""
    return {v.path: v.numpy() for v in model.trainable_variables}


# Data files in the real formats.


def write_idx(path, array):
    """Writes a uint8 array as a gzipped IDX file (magic 0x08 0x<ndim>, big-endian dims)."""
    import gzip

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_tiny_mnist(folder, n_train=100, n_test=20):
    """A --data_dir of the four MNIST IDX files holding the first real test images
    (n_train of them as the training split, the next n_test as the test split)."""
    from draw.data import mnist

    images = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-images-idx3-ubyte.gz"), "images")
    labels = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-labels-idx1-ubyte.gz"), "labels")
    os.makedirs(folder, exist_ok=True)
    splits = {"train": slice(0, n_train), "t10k": slice(n_train, n_train + n_test)}
    for prefix, part in splits.items():
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images[part])
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels[part])
    return str(folder)


def svhn_arrays(n, seed=0):
    """Random X uint8 [32, 32, 3, n] and y uint8 [n, 1] in 1..10, every label present."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).astype(np.uint8)[rng.permutation(n)].reshape(n, 1)
    return X, y


def write_mat(path, X, y, compress=False):
    """A MATLAB 5 .mat file as SVHN ships it; gzipped when path ends in .gz."""
    import gzip

    import scipy.io

    plain = str(path)[: -len(".gz")] if str(path).endswith(".gz") else str(path)
    scipy.io.savemat(plain, {"X": X, "y": y}, format="5", do_compression=compress)
    if plain != str(path):
        with open(plain, "rb") as f, gzip.open(path, "wb") as g:
            g.write(f.read())
        os.remove(plain)


def write_svhn_folder(folder, n_train=30, n_test=12, n_extra=0, seed=0):
    """train/test (and extra) .mat files in folder; returns {split: (X, y)}."""
    from draw.data import svhn

    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for i, (split, n) in enumerate((("train", n_train), ("test", n_test), ("extra", n_extra))):
        if n:
            arrays[split] = svhn_arrays(n, seed + i)
            write_mat(os.path.join(folder, svhn.FILES[split]), *arrays[split])
    return arrays


def truncate(path, keep=0.5):
    """Cuts the file at path to the first fraction keep of its bytes."""
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])


def checksums(folder, prefix=""):
    """{path: SHA-256} of every file under folder whose name starts with prefix."""
    sums = {}
    for root, _, files in os.walk(folder):
        for name in files:
            if not name.startswith(prefix):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                sums[path] = hashlib.sha256(f.read()).hexdigest()
    return sums


# Running the scripts.


def run_script(script, *args, timeout=300, env=None):
    """Runs script with args; env: variables added to this process's environment.
    script: a path in the repository, or "-m package.module"."""
    target = script.split() if script.startswith("-m ") else [os.path.join(REPO, script)]
    return subprocess.run(
        [sys.executable, *target, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(result, *fragments):
    """result (of run_script) failed with one line on stderr holding every fragment."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def generate_main(*args):
    """Runs generate.py's main in this process (no TensorFlow start-up per case); a
    DrawError propagates (draw.app.cli, which turns it into one line, is not in the way)."""
    import generate
    from draw.app import generation
    from draw.app.flags import FLAGS, define_flags, define_option_flags

    define_flags()
    define_option_flags(generation.Options)
    FLAGS.unparse_flags()
    FLAGS(["generate.py", *args])
    try:
        generate.main([])
    finally:
        FLAGS.unparse_flags()


# train.py under tests/fault_driver.py, paused at one point of its work.

FAULT_DRIVER = ["-m", "tests.fault_driver"]
LAUNCH_TRAIN_ITERS = 20  # the --train_iters of launch_training


def launch_training(run_dir, data_dir, pause=None, resume_file=""):
    """Starts train.py of the tiny flags for LAUNCH_TRAIN_ITERS steps (under the fault
    driver, paused at pause = [POINT, N], when given); stdout and stderr are pipes."""
    command = [os.path.join(REPO, "train.py")]
    if pause:
        command = [*FAULT_DRIVER, *pause]
    flags = [f"--logdir={run_dir}", f"--data_dir={data_dir}", f"--train_iters={LAUNCH_TRAIN_ITERS}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DRAW_RESUME_FILE": resume_file}
    return subprocess.Popen(
        [sys.executable, *command, *flags, *TINY_TRAIN_FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def launched_trainer(run_dir, data_dir):
    """A silent Trainer on run_dir of the configuration train.py builds from the flags of
    launch_training (what that process trains, here in the test process)."""
    from draw.data import load_dataset
    from draw.run_dir import RunDir
    from draw.training import Trainer
    from tests.script_runner import config_from_flags

    config = config_from_flags(
        f"--data_dir={data_dir}", f"--train_iters={LAUNCH_TRAIN_ITERS}", *TINY_TRAIN_FLAGS
    )
    return Trainer(config, RunDir(str(run_dir)), load_dataset(config), log=lambda *_: None)


def wait_for_pause(process, timeout=600):
    """Reads the process's stdout until it prints PAUSED; returns what it printed."""
    printed = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=1.0):
                line = process.stdout.readline()
                if not line:
                    break
                printed.append(line)
                if line.strip() == "PAUSED":
                    return "".join(printed)
    process.kill()
    raise AssertionError(f"no pause: {''.join(printed)} {process.stderr.read()}")


def nan_at(monkeypatch, bad_step):
    """Makes the batch of training step bad_step (1-based) all NaN."""
    import tensorflow as tf

    from draw.data import pipeline

    original = pipeline.train_batches

    def batches(data, batch_size, seed, binarize, start_step=0):
        def poison(index, batch):
            x, labels = batch
            bad = index + start_step + 1 == bad_step
            return tf.where(bad, tf.fill(tf.shape(x), np.nan), x), labels

        return original(data, batch_size, seed, binarize, start_step).enumerate().map(poison)

    monkeypatch.setattr(pipeline, "train_batches", batches)
