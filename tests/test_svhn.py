"""SVHN: the loader on .mat files written here in the original layout, a tfds-prepared
copy of the same files, grayscale, the SVHN options of the configuration, a few training
steps in both colour modes, and bad input.

The suite needs no download: every file here is written by the test in exactly the
layout of train_32x32.mat (MATLAB 5, X uint8 [32, 32, 3, N], y uint8 [N, 1] with 10 for
digit 0).
"""

import json
import os
import re
from unittest import mock

import numpy as np
import pytest
import scipy.io
import tensorflow as tf

from draw.app.runs import resolve_config
from draw.configure import make_config
from draw.data import load_dataset, pipeline, svhn
from draw.errors import DrawError
from draw.run_dir import RunDir, default_logdir, load_trained_model
from draw.training import Trainer
from tests.helpers import (
    assert_one_line_error,
    checksums,
    run_script,
    svhn_arrays,
    tiny_config,
    write_mat,
    write_svhn_folder,
)


def test_loader_reads_the_original_layout(tmp_path):
    X, y = svhn_arrays(25)
    y[:3, 0] = [10, 1, 9]
    # Marked pixels: image n gets (r, c) = (n, 31 - n) set to colour (n, 100 + n, 200).
    for n in range(25):
        X[n, 31 - n, :, n] = (n, 100 + n, 200)
    write_mat(tmp_path / "train_32x32.mat", X, y)
    write_mat(tmp_path / "test_32x32.mat", *svhn_arrays(7, seed=1))
    data = svhn.load("files", str(tmp_path), color="rgb")
    assert data.name == "svhn" and data.source == "files"
    assert data.train_images.shape == (25, 32, 32, 3) and data.test_images.shape == (7, 32, 32, 3)
    assert data.image_shape == (32, 32, 3)
    assert data.train_images.dtype == np.uint8 and data.train_labels.dtype == np.int32
    assert data.train_labels[:3].tolist() == [0, 1, 9]  # label 10 is digit 0
    np.testing.assert_array_equal(data.train_labels, y[:, 0] % 10)
    assert data.train_labels.min() == 0 and data.train_labels.max() == 9
    for n in range(25):
        assert data.train_images[n, n, 31 - n].tolist() == [n, 100 + n, 200]
    np.testing.assert_array_equal(data.train_images, X.transpose(3, 0, 1, 2))


def test_gray_is_the_luma_of_the_same_pixels(tmp_path):
    X, y = svhn_arrays(40)
    X[0, 0, :, 0] = (255, 0, 0)
    X[0, 1, :, 0] = (255, 255, 255)
    write_mat(tmp_path / "train_32x32.mat", X, y)
    write_mat(tmp_path / "test_32x32.mat", X[..., :5], y[:5])
    rgb = svhn.load("files", str(tmp_path), color="rgb").train_images
    gray = svhn.load("files", str(tmp_path), color="gray")
    assert gray.image_shape == (32, 32, 1) and gray.train_images.dtype == np.uint8
    luma = rgb.astype(np.float64) @ np.array([0.2989, 0.5870, 0.1140])
    assert np.abs(gray.train_images[..., 0] - luma).max() <= 0.5 + 1e-9
    assert gray.train_images[0, 0, 0, 0] == 76 and gray.train_images[0, 0, 1, 0] == 255
    # The weights are tf.image.rgb_to_grayscale's, pixel for pixel up to the 8-bit rounding.
    tf_gray = tf.image.rgb_to_grayscale(tf.constant(rgb, tf.float32) / 255.0).numpy()
    assert np.abs(gray.train_images / 255.0 - tf_gray).max() <= 0.5 / 255 + 1e-6
    basis = tf.image.rgb_to_grayscale(tf.eye(3)[:, tf.newaxis, :]).numpy().ravel()
    np.testing.assert_allclose(basis, svhn.LUMA, rtol=1e-6)


def test_compressed_gzipped_and_extra_files_give_the_same_arrays(tmp_path):
    arrays = write_svhn_folder(tmp_path / "plain", n_extra=9)
    (tmp_path / "zlib").mkdir()
    (tmp_path / "gz").mkdir()
    for split, (X, y) in arrays.items():
        name = svhn.FILES[split]
        write_mat(tmp_path / "zlib" / name, X, y, compress=True)  # as the real files are
        write_mat(tmp_path / "gz" / (name + ".gz"), X, y)
    plain = svhn.load("files", str(tmp_path / "plain"), "rgb", extra=True)
    assert len(plain.train_images) == 30 + 9 and len(plain.test_images) == 12
    train_then_extra = np.concatenate([arrays["train"][0], arrays["extra"][0]], axis=3)
    np.testing.assert_array_equal(plain.train_images, train_then_extra.transpose(3, 0, 1, 2))
    for other in ("zlib", "gz"):
        copy = svhn.load("files", str(tmp_path / other), "rgb", extra=True)
        for name in ("train_images", "train_labels", "test_images", "test_labels"):
            np.testing.assert_array_equal(getattr(copy, name), getattr(plain, name))
    without_extra = svhn.load("files", str(tmp_path / "plain"), "gray")
    assert len(without_extra.train_images) == 30


def test_tfds_prepared_copy_gives_the_same_images_in_the_same_order(tmp_path):
    """tfds' own svhn_cropped builder prepares the dataset from our .mat files (its download
    replaced by the local paths, as tfds' DatasetBuilderTestCase does); the tfds source
    must then give exactly what the files source gives."""
    import tensorflow_datasets as tfds

    folder = tmp_path / "mat"
    write_svhn_folder(folder, n_train=40, n_test=12, n_extra=5)
    paths = {split: str(folder / name) for split, name in svhn.FILES.items()}
    tfds_dir = str(tmp_path / "tfds")
    with mock.patch(
        "tensorflow_datasets.core.download.DownloadManager.download",
        lambda self, urls: {key: paths[key] for key in urls},
    ):
        builder = tfds.builder(svhn.TFDS_NAME, data_dir=tfds_dir)
        skip_stats = tfds.download.ComputeStatsMode.SKIP
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(compute_stats=skip_stats)
        )
    stored = tfds.as_numpy(builder.as_dataset(split="train", batch_size=-1))
    assert stored["id"].tolist() != sorted(stored["id"].tolist())  # tfds shuffled them
    for color in ("rgb", "gray"):
        files = svhn.load("files", str(folder), color, extra=True)
        from_tfds = svhn.load("tfds", tfds_dir, color, extra=True)
        assert from_tfds.source == "tfds"
        for name in ("train_images", "train_labels", "test_images", "test_labels"):
            np.testing.assert_array_equal(getattr(from_tfds, name), getattr(files, name))


def test_tfds_is_the_default_source_without_data_dir(monkeypatch):
    calls = []
    fake = (np.zeros((4, 32, 32, 3), np.uint8), np.arange(4))

    def fake_load(name, data_dir, splits, order_key):
        calls.append((name, splits, order_key))
        return {splits[0]: fake}

    monkeypatch.setattr(svhn, "load_tfds_arrays", fake_load)
    data = load_dataset(make_config("jang", dataset="svhn"))
    assert data.source == "tfds" and data.image_shape == (32, 32, 1)
    assert calls == [("svhn_cropped", ("train",), "id"), ("svhn_cropped", ("test",), "id")]


def test_svhn_options_of_the_configuration():
    config = make_config("jang", dataset="svhn")
    assert config.binarize == "none" and config.color == "gray"
    paper = make_config("paper_svhn")
    assert (paper.dataset, paper.color, paper.binarize) == ("svhn", "rgb", "none")
    assert (paper.enc_size, paper.dec_size, paper.z_size, paper.T) == (800, 800, 100, 32)
    assert (paper.read_n, paper.write_n, paper.read_attn, paper.write_attn) == (12, 12, 1, 1)
    assert make_config("paper_svhn", color="gray").color == "gray"
    assert default_logdir({"preset": "paper_svhn"}) == os.path.join("runs", "svhn_paper_svhn")
    assert make_config("jang").binarize == "dynamic"  # MNIST's default is unchanged
    for overrides, message in [
        ({"dataset": "svhn", "binarize": "dynamic"}, "--binarize=dynamic is for MNIST"),
        ({"dataset": "svhn", "binarize": "static"}, "--binarize=static is for MNIST"),
        ({"color": "rgb"}, "--color=rgb is for SVHN"),
        ({"dataset": "svhn", "color": "blue"}, "--color=blue is not one of gray, rgb"),
        ({"svhn_extra": True}, "--svhn_extra is for --dataset=svhn"),
    ]:
        with pytest.raises(DrawError, match=message):
            make_config("jang", **overrides)
    with pytest.raises(DrawError, match="--color=rgb is for SVHN"):
        make_config("paper_svhn", dataset="mnist")


@pytest.mark.parametrize(
    "stored,given",
    [({"dataset": "mnist"}, "svhn"), ({"dataset": "svhn", "color": "gray"}, "mnist")],
)
def test_a_run_of_one_dataset_refuses_the_other(tmp_path, stored, given):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang", **stored), (28, 28, 1))
    for new_run in (False, True):  # evaluate/generate, then train
        with pytest.raises(DrawError, match=f"--dataset={given} contradicts"):
            resolve_config({"dataset": given}, run.path, new_run=new_run)


def test_a_run_in_one_colour_refuses_the_other(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang", dataset="svhn", color="gray"), (32, 32, 1))
    with pytest.raises(DrawError, match="--color=rgb contradicts"):
        resolve_config({"color": "rgb"}, run.path)
    assert resolve_config({"dataset": "svhn"}, run.path)[0].color == "gray"


@pytest.mark.parametrize("color,channels", [("gray", 1), ("rgb", 3)])
def test_both_colour_modes_train_a_small_model(tmp_path, color, channels):
    write_svhn_folder(tmp_path / "mat", n_train=40, n_test=10)
    config = tiny_config(
        dataset="svhn",
        color=color,
        data_dir=str(tmp_path / "mat"),
        T=2,
        batch_size=10,
        train_iters=4,
        log_every=2,
        image_every=4,
        checkpoint_every=4,
    )
    data = load_dataset(config)
    assert data.image_shape == (32, 32, channels)
    ((x, _),) = pipeline.train_batches(data, 10, seed=1, binarize=config.binarize).take(1)
    assert x.shape == (10, 32, 32, channels) and 0 <= x.numpy().min() and x.numpy().max() <= 1
    assert len(np.unique(x.numpy())) > 2  # intensities, not binarized
    lines = []
    trainer = Trainer(config, RunDir(str(tmp_path / "run")), data, log=lines.append)
    initial = [w.numpy().copy() for w in trainer.model.trainable_variables]
    results = trainer.train()
    assert int(trainer.step) == 4 and all(np.isfinite(v) for v in results.values())
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(initial, trainer.model.weights))
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["image_shape"] == [32, 32, channels]
    loaded_config, model, _ = load_trained_model({}, str(tmp_path / "run"))
    assert loaded_config.color == color and loaded_config.binarize == "none"
    samples = model.generate(3)["canvas"]
    assert samples.shape == (2, 3, 32, 32, channels)


def _corrupt(kind, folder):
    """Writes a folder whose train_32x32.mat is bad in one way; returns the bad file's name."""
    write_svhn_folder(folder, n_train=20, n_test=5)
    train = os.path.join(folder, "train_32x32.mat")
    X, y = svhn_arrays(20)
    if kind == "missing":
        os.remove(train)
    elif kind.startswith("truncated_at_"):
        raw = open(train, "rb").read()
        fraction = float(kind[len("truncated_at_") :])
        open(train, "wb").write(raw[: int(len(raw) * fraction)])
    elif kind == "garbage":
        open(train, "wb").write(np.random.default_rng(0).bytes(5000))
    elif kind in ("truncated_gz", "not_gzip"):
        os.remove(train)
        train += ".gz"
        write_mat(train, X, y)
        raw = open(train, "rb").read()
        open(train, "wb").write(raw[: len(raw) // 2] if kind == "truncated_gz" else raw[20:])
    elif kind == "no_X":
        scipy.io.savemat(train, {"images": X, "y": y}, format="5")
    elif kind == "no_y":
        scipy.io.savemat(train, {"X": X}, format="5")
    elif kind == "mnist_shaped_X":
        scipy.io.savemat(train, {"X": np.zeros((28, 28, 1, 20), np.uint8), "y": y}, format="5")
    elif kind == "float_X":
        scipy.io.savemat(train, {"X": X.astype(np.float64), "y": y}, format="5")
    elif kind == "too_few_labels":
        scipy.io.savemat(train, {"X": X, "y": y[:19]}, format="5")
    elif kind == "label_11":
        y[3] = 11
        scipy.io.savemat(train, {"X": X, "y": y}, format="5")
    elif kind == "label_0":
        y[3] = 0
        scipy.io.savemat(train, {"X": X, "y": y}, format="5")
    return os.path.basename(train)


BAD_FILES = [
    ("missing", "is missing"),
    ("truncated_at_0.001", "truncated"),
    ("truncated_at_0.02", "truncated"),
    ("truncated_at_0.5", "truncated"),
    ("truncated_at_0.9999", "truncated"),
    ("garbage", "cannot read"),
    ("truncated_gz", "cannot decompress"),
    ("not_gzip", "cannot decompress"),
    ("no_X", "has no array X"),
    ("no_y", "has no array y"),
    ("mnist_shaped_X", "expected [32, 32, 3, N]"),
    ("float_X", "expected uint8"),
    ("too_few_labels", "has y of shape (19, 1)"),
    ("label_11", "label 11"),
    ("label_0", "label 0"),
]


@pytest.mark.parametrize("kind,message", BAD_FILES)
def test_bad_files_are_clear_errors_naming_the_file(tmp_path, kind, message):
    name = _corrupt(kind, str(tmp_path))
    with pytest.raises(DrawError, match=re.escape(message)) as error:
        svhn.load("files", str(tmp_path), "gray")
    assert name in str(error.value)


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(DrawError, match="not a directory"):
        svhn.load("files", str(tmp_path / "absent"))
    with pytest.raises(DrawError, match="SVHN has no embedded source"):
        svhn.load("embedded")


@pytest.fixture(scope="module")
def svhn_cli_run(tmp_path_factory):
    """A tiny RGB SVHN run trained by train.py itself on .mat files: (run dir, data dir)."""
    root = tmp_path_factory.mktemp("svhn_cli")
    write_svhn_folder(root / "mat", n_train=30, n_test=10)
    run = str(root / "run")
    result = run_script(
        "train.py",
        "--dataset=svhn",
        "--read_attn",
        "--color=rgb",
        f"--data_dir={root / 'mat'}",
        f"--logdir={run}",
        "--T=2",
        "--enc_size=16",
        "--dec_size=16",
        "--z_size=3",
        "--read_n=3",
        "--write_n=3",
        "--batch_size=10",
        "--train_iters=3",
        "--log_every=3",
    )
    assert result.returncode == 0, result.stderr
    return run, str(root / "mat")


def test_train_py_trains_on_svhn_files(svhn_cli_run):
    run, _ = svhn_cli_run
    config, image_shape = RunDir(run).read()
    assert (config.dataset, config.color, config.binarize) == ("svhn", "rgb", "none")
    assert image_shape == (32, 32, 3)
    assert tf.train.latest_checkpoint(os.path.join(run, "checkpoints")).endswith("ckpt-3")


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--dataset=svhn", "--color=blue"], ["--color=blue"]),
        (["--dataset=svhn", "--binarize=dynamic"], ["--binarize=dynamic is for MNIST"]),
        (["--dataset=svhn", "--data_dir={bad}"], ["train_32x32.mat", "truncated"]),
    ],
)
def test_bad_svhn_flags_are_one_line_errors(tmp_path, args, fragments):
    _corrupt("truncated_at_0.5", str(tmp_path / "bad"))
    args = [a.replace("{bad}", str(tmp_path / "bad")) for a in args]
    result = run_script("train.py", f"--logdir={tmp_path}/run", *args)
    assert_one_line_error(result, *fragments)
    assert not os.path.exists(tmp_path / "run")


def test_runs_refuse_the_other_dataset_on_the_command_line(tmp_path, svhn_cli_run):
    svhn_run, _ = svhn_cli_run
    mnist_run = RunDir(str(tmp_path / "mnist_run"))
    mnist_run.write(make_config("jang"), (28, 28, 1))
    for run, given, stored in ((mnist_run.path, "svhn", "mnist"), (svhn_run, "mnist", "svhn")):
        before = checksums(run)
        result = run_script("train.py", f"--logdir={run}", f"--dataset={given}")
        assert_one_line_error(result, f"--dataset={given} contradicts", f"dataset={stored}")
        assert checksums(run) == before


def test_generate_py_on_an_svhn_run_writes_colour_pictures(tmp_path, svhn_cli_run):
    run, _ = svhn_cli_run
    result = run_script(
        "generate.py",
        f"--logdir={run}",
        f"--out_dir={tmp_path}",
        "--stochastic",
        "--reconstruct",
        "--num_samples=4",
    )
    assert result.returncode == 0, result.stderr
    from PIL import Image

    grid = Image.open(tmp_path / "stochastic.png")
    assert grid.mode == "RGB"
    pixels = np.asarray(grid).reshape(-1, 3).astype(int)
    # A grey picture has equal channels in every pixel; three trained channels do not
    # (after 3 iterations they are close, so the test asks only that they differ).
    assert (pixels.max(axis=1) - pixels.min(axis=1)).max() > 0
    canvases = np.load(tmp_path / "stochastic_canvases.npy")
    assert canvases.shape == (2, 4, 32, 32, 3)
    assert np.abs(canvases[..., 0] - canvases[..., 1]).max() > 1e-3
    # Reconstructions read the test split from the run's own --data_dir: the first test
    # image appears, in colour, at the top left.
    data = load_dataset(RunDir(run).read()[0])
    pairs = np.asarray(Image.open(tmp_path / "reconstruct.png"))
    np.testing.assert_array_equal(pairs[:32, :32], data.test_images[0])
    mismatch = run_script("generate.py", f"--logdir={run}", "--stochastic", "--dataset=mnist")
    assert_one_line_error(mismatch, "--dataset=mnist contradicts")


def test_evaluate_py_on_an_svhn_run(svhn_cli_run):
    run, _ = svhn_cli_run
    result = run_script(
        "evaluate.py",
        f"--logdir={run}",
        "--elbo",
        "--iwae",
        "--num_importance_samples=3",
        "--nn-nll",
        "--num_samples=4",
        "--eval_batch_size=10",
    )
    assert result.returncode == 0, result.stderr
    with open(os.path.join(run, "evaluations", "latest.json")) as f:
        record = json.load(f)
    assert record["dataset"] == "svhn"
    assert record["nn_nll"]["reference"].startswith("training images, grey levels")
    figures = [record["elbo"]["loss"], record["iwae"]["nll"], record["nn_nll"]["mean"]]
    assert all(np.isfinite(figures)) and record["elbo"]["loss"] > 0, record
    mismatch = run_script("evaluate.py", f"--logdir={run}", "--dataset=mnist")
    assert_one_line_error(mismatch, "--dataset=mnist contradicts")
