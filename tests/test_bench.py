"""The benchmark suite runs end to end (tiny sizes; its figures are not checked), and its
plain-port yardstick computes the model's own losses."""

import json
import subprocess
import sys

import numpy as np
import tensorflow as tf

from bench.plain import plain_losses
from draw.models import build_model
from tests.helpers import REPO, run_script, tiny_config

ROWS = [
    "train (jit_compile=False)",
    "first step (jit_compile=False)",
    "train, plain tf.function port",
    "train (jit_compile=True)",
    "first step (jit_compile=True)",
    "generate 50 images",
    "data pipeline (tf.data)",
    "NN search, 1000 samples x 2,000",
    "IWAE estimate, K=100",
]

MIRRORED_ROWS = [  # train_mirrored: its rows depend on the logical CPUs TensorFlow started with
    "train, no strategy",
    "train, MirroredStrategy over 1 logical CPU",
]

TRICK_ROWS = [  # bench/tricks.py: a row per variant of each trick
    "trick: filterbank gradient hand-written, train",
    "trick: filterbank gradient autodiff, train",
    "trick: T loop unrolled, T=2",
    "trick: T loop while_loop, T=2",
    "trick: pipeline rows by numpy_function, mnist",
    "trick: pipeline rows by eager tf.constant, svhn_shape",
]


def test_quick_benchmark_prints_every_row_and_writes_valid_json(tmp_path):
    output = tmp_path / "results.json"
    result = run_script("-m bench.run", "--quick", f"--output={output}")
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    names = [(row["name"], row["preset"]) for row in document["rows"]]
    for preset in ("jang", "paper_mnist"):
        for name in ROWS[:2] + ROWS[5:6] + ROWS[3:5] * (preset == "jang"):
            assert (name, preset) in names
            assert any(
                line.startswith(name) and preset in line for line in result.stdout.splitlines()
            )
    for name in ROWS[2:3] + ROWS[6:]:  # one row each
        assert name in result.stdout and any(n == name for n, _ in names)
    assert document["quick"] is True and "date" in document
    train = next(row for row in document["rows"] if row["name"] == ROWS[0])
    assert train["ms"] > 0 and 0 < train["matmul_fraction"] and train["gflop"] > 0
    assert all("seconds" in row for row in document["rows"] if row["name"] in ROWS[7:])
    for name in MIRRORED_ROWS:
        row = next(row for row in document["rows"] if row["name"] == name)
        assert row["ms"] > 0 and name in result.stdout
    tricks = {row["name"]: row for row in document["rows"] if row["name"].startswith("trick")}
    for name in TRICK_ROWS:
        assert name in tricks and tricks[name]["ms"] > 0 and name in result.stdout
    assert "autodiff's ms / this" in tricks[TRICK_ROWS[0]]["note"]
    assert (ROWS[0], "cluttered_mnist") in names  # the classifier's training step
    for label in ("NumPy, one thread", "tf.data, as train.py"):
        row = next(r for r in document["rows"] if r["name"] == f"cluttered generator ({label})")
        assert row["images_per_s"] > 0 and "x the training step's" in row["note"]
    assert tricks[TRICK_ROWS[2]]["seconds"] > 0


def test_the_svhn_files_case_trains_train_py_in_its_own_process(tmp_path):
    output = tmp_path / "results.json"
    command = ["--quick", "--isolate", "--cases=train_svhn_files", f"--output={output}"]
    result = run_script("-m bench.run", *command)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(output.read_text())["rows"]
    assert row["name"] == "train.py on SVHN files, 4 iterations" and row["preset"] == "paper_svhn"
    assert 0 < row["ms"] < row["seconds"] * 1e3 and row["peak_rss_mb"] > 0


def test_bench_rejects_an_unknown_case():
    result = run_script("-m bench.run", "--cases=nonsense")
    assert result.returncode == 2 and "nonsense" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_plain_port_computes_the_models_losses():
    for read_attn, write_attn in ((True, True), (False, False)):
        config = tiny_config(read_attn=read_attn, write_attn=write_attn, T=4)
        model = build_model(config, (12, 12, 1))
        rng = np.random.default_rng(5)
        x = tf.constant((rng.uniform(size=(6, 12, 12, 1)) < 0.4).astype(np.float32))
        noise = tf.constant(rng.normal(size=(4, 6, config.z_size)).astype(np.float32))
        want = model.compute_losses(x, model(x, noise=noise))["loss"]
        np.testing.assert_allclose(plain_losses(model, x, noise).numpy(), want.numpy(), rtol=1e-5)


def test_a_pipeline_trick_runs_in_its_own_process():
    # What trick_pipeline_memory runs in a fresh process for each variant (tiny array).
    command = [sys.executable, "-m", "bench.tricks", "tf.constant in the graph", "svhn_shape"]
    result = subprocess.run(command + ["2", "300"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["peak_mb"] >= figures["before_mb"] > 0 and figures["batches_per_s"] > 0
