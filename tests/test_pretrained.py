"""Shipped models (draw.pretrained, draw.app.shipping): packaging a run, selecting one in
every script, the fallback of generate.py on a fresh copy, and the Python API (api.load /
sample)."""

import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from draw import api, pretrained
from draw.app import shipping
from draw.app.evaluation import Options, evaluate_and_write
from draw.data import load_dataset
from draw.errors import DrawError
from draw.models import CLASSIFIERS
from draw.run_dir import RunDir, load_trained_model
from draw.training import Trainer
from tests.helpers import REPO
from tests.script_runner import config_from_flags


@pytest.fixture(scope="module")
def shipped(trained_run, tmp_path_factory):
    """The tiny trained run packaged as `tiny` into a folder of shipped models."""
    run = str(tmp_path_factory.mktemp("packaged") / "run")
    shutil.copytree(trained_run, run)  # packaging records its evaluation in the run
    folder = str(tmp_path_factory.mktemp("shipped"))
    record, _ = evaluate_and_write({}, run, Options(), log=lambda *_: None)
    shipping.package(record, "tiny", folder, commit="abc123")
    return folder, run


@pytest.fixture
def in_package(shipped, monkeypatch):
    """The shipped models of the fixture stand in for the package's."""
    monkeypatch.setattr(pretrained, "FOLDER", shipped[0])
    return shipped[0]


def _assert_same_weights(one, other):
    """The two models hold equal values in every variable, in the same order."""
    for a, b in zip(one.weights, other.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_package_writes_weights_config_and_card(shipped):
    shipped, trained_run = shipped
    folder = os.path.join(shipped, "tiny")
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "model.weights.h5"]
    assert [n for n in os.listdir(shipped) if n.startswith(".")] == []  # no staging left
    # The weights are the checkpoint's, with no optimizer state.
    _, from_run, checkpoint = load_trained_model({}, trained_run)
    _, from_folder, weights = load_trained_model({}, folder)
    assert weights == os.path.join(folder, "model.weights.h5")
    _assert_same_weights(from_run, from_folder)
    with h5py.File(weights) as f:
        assert "optimizer" not in f
    # The configuration is the run's, without the machine's data folder.
    run_config, _ = RunDir(trained_run).read()
    stored = json.load(open(os.path.join(folder, "config.json")))["config"]
    assert stored["data_dir"] == "" and run_config.data_dir
    assert {k: v for k, v in stored.items() if k not in ("data_dir", "data_source")} == {
        k: v for k, v in vars(run_config).items() if k not in ("data_dir", "data_source")
    }
    # The card's bound is evaluate.py's, as recorded in the run.
    card = open(os.path.join(folder, "README.md")).read()
    latest = json.load(open(os.path.join(trained_run, "evaluations", "latest.json")))
    assert f"**{latest['elbo']['loss']:.2f} nats**" in card
    assert "`abc123`" in card and "| Seed | 3 |" in card and "10 iterations" in card
    assert "python train.py --logdir=" in card and "--T=2" in card and "--seed=3" in card
    assert "--data_dir" not in card
    assert "initialisation" not in card  # the default one: no note


def test_shipped_cards_tell_the_initialisation_once():
    folder = os.path.join(REPO, "draw", "pretrained_models")
    for name in sorted(os.listdir(folder)):
        config = json.load(open(os.path.join(folder, name, "config.json")))["config"]
        card = open(os.path.join(folder, name, "README.md")).read()
        if config["model"] in CLASSIFIERS:  # no LSTM initialisation story to tell
            assert "Eric Jang's setup" not in card, name
            continue
        assert config["lstm_init"] == "jang" and "--lstm_init=jang" in card, name
        assert card.count("It reproduces Eric Jang's setup, his LSTM initialisation") == 1, name
        assert "`python train.py` is the recommended start" in card, name
        assert "118.26" in card and "93.79" in card, name


def test_package_does_not_replace_a_model_without_overwrite(shipped):
    shipped, trained_run = shipped
    card = os.path.join(shipped, "tiny", "README.md")
    before = open(card).read()
    record = json.load(open(os.path.join(trained_run, "evaluations", "latest.json")))
    with pytest.raises(DrawError, match="exists; pass --overwrite"):
        shipping.package(record, "tiny", shipped)
    with pytest.raises(DrawError, match="lower-case"):
        shipping.package(record, "Bad Name", shipped)
    assert open(card).read() == before


def test_train_command_repeats_the_run(trained_run):
    config, _ = RunDir(trained_run).read()
    command = shipping.train_command(config, "RUN").split()
    assert command[:3] == ["python", "train.py", "--logdir=RUN"]
    assert config_from_flags(f"--data_dir={config.data_dir}", *command[3:]) == config


def test_choose_a_source(in_package, tmp_path):
    missing = str(tmp_path / "runs" / "mnist_jang")
    source = shipping.choose("tiny", "", missing, {})
    assert source.model_dir == os.path.join(in_package, "tiny")
    assert source.output_dir == os.path.join("runs", "pretrained", "tiny")
    assert "shipped model tiny" in source.note
    # No run yet: generate.py falls back to the shipped model, and says so.
    source = shipping.choose("", "", missing, {}, fallback=True)
    assert source.model_dir == os.path.join(in_package, "tiny")
    assert source.note.startswith(f"no run in {missing}: using the shipped model tiny")
    # Unless model flags ask for another model, or the run exists, or a run is named.
    assert shipping.choose("", "", missing, {"T": 7}, fallback=True).model_dir == missing
    assert shipping.choose("", "", missing, {}).model_dir == missing
    with pytest.raises(DrawError, match="give one of them"):
        shipping.choose("tiny", "runs/x", missing, {})
    with pytest.raises(DrawError, match=r"--pretrained=big is not a shipped model \(tiny\)"):
        shipping.choose("big", "", missing, {})


def test_train_starts_from_the_shipped_weights(in_package, tiny_mnist_dir, tmp_path):
    explicit, weights = shipping.starting_point("tiny", {"train_iters": 3})
    assert explicit["T"] == 2 and explicit["train_iters"] == 3
    config = config_from_flags(f"--data_dir={tiny_mnist_dir}", "--T=2", "--enc_size=16",
                               "--dec_size=16", "--z_size=2", "--read_n=2", "--write_n=2",
                               "--seed=3", "--train_iters=3")  # fmt: skip
    lines = []
    trainer = Trainer(config, RunDir(str(tmp_path / "run")), load_dataset(config),
                      log=lines.append, initial_weights=weights)  # fmt: skip
    trainer.restore_latest()
    assert lines == [f"starting from the weights {weights}"]
    _, shipped_model, _ = load_trained_model({}, os.path.join(in_package, "tiny"))
    _assert_same_weights(trainer.model, shipped_model)
    with pytest.raises(DrawError, match="contradicts the shipped model tiny"):
        shipping.starting_point("tiny", {"T": 5})


def test_python_api(in_package, trained_run):
    model = api.load("tiny")
    from_run = api.load(trained_run)
    _assert_same_weights(model, from_run)
    images = api.sample(model, 5, seed=1)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(api.sample(model, 5, seed=1), images)
    assert not np.array_equal(api.sample(model, 5, seed=2), images)
    assert api.reconstruct(model, images).shape == (5, 28, 28, 1)
    assert model.generate(3)["canvas"].shape == (2, 3, 28, 28, 1)
    with pytest.raises(DrawError, match="neither a run directory nor a shipped model"):
        api.load("no_such_model")


def _fresh_copy(folder):
    """The repository's files (tracked, or new and not ignored; as they are now) copied to
    folder: a clean clone with no run."""
    git = ["git", "-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    listed = subprocess.run(git, capture_output=True,
                            check=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = os.path.join(REPO, name)
        if os.path.isfile(source):
            os.makedirs(os.path.join(folder, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(source, os.path.join(folder, name))
    assert not os.path.exists(os.path.join(folder, "runs"))
    return str(folder)


def _run(folder, *args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=600, cwd=folder)  # fmt: skip


def test_packaged_run_is_used_by_generate_on_a_fresh_copy(trained_run, tmp_path):
    copy = _fresh_copy(tmp_path / "clone")
    shutil.rmtree(os.path.join(copy, "draw", "pretrained_models"), ignore_errors=True)
    run = shutil.copytree(trained_run, tmp_path / "run")
    result = _run(copy, "evaluate.py", f"--logdir={run}", "--ship=mnist_attention")
    assert result.returncode == 0, result.stderr
    shipped = os.path.join(copy, "draw", "pretrained_models", "mnist_attention")
    assert f"shipped {shipped}/model.weights.h5" in result.stdout
    result = _run(copy, "generate.py", "--stochastic", "--num_samples=4")
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("no run in runs/mnist_jang: using the shipped model mnist_attention")
    samples = os.path.join(copy, "runs", "pretrained", "mnist_attention", "samples")
    assert {"stochastic.png", "stochastic.gif"} <= set(os.listdir(samples))


def test_fresh_clone_generates_with_the_shipped_model(tmp_path):
    """The repository's own shipped models: a fresh clone makes samples at once."""
    shipped = pretrained.names()
    assert shipped, "no model is shipped in draw/pretrained_models (docs/pretrained.md)"
    copy = _fresh_copy(tmp_path / "clone")
    result = _run(copy, "generate.py", "--stochastic", "--num_samples=4")
    assert result.returncode == 0, result.stderr
    name = pretrained.default_name()
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"no run in runs/mnist_jang: using the shipped model {name}")
    samples = os.path.join(copy, "runs", "pretrained", name, "samples")
    images = np.load(os.path.join(samples, "stochastic_canvases.npy"))
    assert images.shape[1:] == (4, 28, 28, 1)
