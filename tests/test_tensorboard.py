"""What train.py writes for TensorBoard, read back from the event files: the configuration
through the HParams plugin and as text, the final test-set figures, and the drawing (each
test image beside its canvas at every step) as an image."""

import dataclasses
import glob
import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorboard.plugins.hparams import metadata

from draw import figures
from draw.data import load_dataset, pipeline
from draw.run_dir import RunDir
from draw.training import NUM_DRAWING_IMAGES, Trainer
from tests.helpers import TINY_TRAIN_FLAGS
from tests.script_runner import config_from_flags


def _events(folder):
    """[(step, summary value)] of every event file directly in folder."""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            found += [(event.step, value) for value in event.summary.value]
    return found


@pytest.fixture(scope="module")
def run(trained_run):
    config, _ = RunDir(trained_run).read()
    return trained_run, config


def _session_start(path):
    """The HParams plugin's session start info written in the run directory path."""
    values = {v.tag: v for _, v in _events(path)}
    return values, metadata.parse_session_start_info_plugin_data(
        values[metadata.SESSION_START_INFO_TAG].metadata.plugin_data.content
    )


def test_configuration_through_the_hparams_plugin(run):
    path, config = run
    values, start = _session_start(path)
    logged = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        logged[name] = getattr(value, kind)
    # The run's name (its absolute path: it is outside the current folder), and the
    # values that define the model and its training only: no path, logging or device.
    assert start.group_name == os.path.abspath(path)
    expected = dataclasses.asdict(config)
    for setting in ("data_source", "data_dir", "log_every", "image_every", "checkpoint_every",
                    "keep_checkpoints", "jit_compile", "strategy", "tpu"):  # fmt: skip
        del expected[setting]
    assert set(logged) == set(expected)
    assert {"T", "read_attn", "z_size", "learning_rate", "batch_size", "seed"} <= set(logged)
    for name, value in expected.items():
        assert logged[name] == (float(value) if type(value) in (int, float) else value), name
    experiment = metadata.parse_experiment_plugin_data(
        values[metadata.EXPERIMENT_TAG].metadata.plugin_data.content
    )
    metrics = {(m.name.group, m.name.tag) for m in experiment.metric_infos}
    assert {("test", "loss"), ("test", "L_x"), ("test", "L_z")} <= metrics
    domains = {h.name: list(h.domain_discrete.values) for h in experiment.hparam_infos}
    assert sorted(v.string_value for v in domains["dataset"]) == [
        "cluttered_mnist",
        "mnist",
        "svhn",
    ]
    # And as text: a table with every field.
    text = tf.make_ndarray(values["config"].tensor).item().decode()
    assert f"| T | {config.T!r} |" in text and f"| preset | {config.preset!r} |" in text


def test_runs_of_one_basename_are_separate_hparams_sessions(tiny_mnist_dir, tmp_path, monkeypatch):
    """TensorBoard merges the sessions of one name: runs/a/seed0 and runs/b/seed0 differ."""
    monkeypatch.chdir(tmp_path)
    config = config_from_flags(f"--data_dir={tiny_mnist_dir}", "--train_iters=1",
                               "--log_every=1", *TINY_TRAIN_FLAGS)  # fmt: skip
    names = []
    for parent in ("a", "b"):
        path = os.path.join("runs", parent, "seed0")
        Trainer(config, RunDir(path), load_dataset(config), log=lambda *_: None).train()
        names.append(_session_start(path)[1].group_name)
    assert names == [os.path.join("runs", "a", "seed0"), os.path.join("runs", "b", "seed0")]


def test_final_test_figures_are_the_metrics(run):
    path, config = run
    scalars = {
        v.tag: (step, float(tf.make_ndarray(v.tensor))) for step, v in _events(f"{path}/test")
    }
    for tag in ("loss", "L_x", "L_z"):
        assert scalars[tag][0] == config.train_iters, tag
    assert scalars["loss"][1] == pytest.approx(scalars["L_x"][1] + scalars["L_z"][1], rel=1e-5)


def test_drawing_image_shows_each_step(run):
    path, config = run
    drawings = [(s, v) for s, v in _events(f"{path}/train") if v.tag == "drawing"]
    assert [s for s, _ in drawings] == list(
        range(config.image_every, config.train_iters + 1, config.image_every)
    )
    width, height, png = tf.make_ndarray(drawings[-1][1].tensor)
    picture = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    scale, side = figures.ATTENTION_SCALE, 28
    frame_height = (side + figures.PAD + figures.BAR) * scale
    cells = NUM_DRAWING_IMAGES * (2 * side + figures.PAD) - figures.PAD
    assert picture.shape == (config.T * frame_height, cells * scale, 3)
    assert (int(width), int(height)) == (picture.shape[1], picture.shape[0])
    # At every step, the left half of the first cell is the first test image.
    data = load_dataset(config)
    first = pipeline.test_images(data, config.binarize, count=1)[0, :, :, 0]
    for t in range(config.T):
        top = t * frame_height
        shown = picture[top : top + side * scale : scale, : side * scale : scale]
        grey = shown.mean(axis=-1) / 255.0
        matches = np.isclose(grey, first, atol=0.01) | (shown.std(axis=-1) > 0)  # or a box
        assert matches.mean() > 0.95, t
