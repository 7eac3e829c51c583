"""The classifiers through the scripts: train.py --preset=cluttered_mnist trains, resumes to
the same weights and reports the test error; evaluate.py writes it with the confusion
matrix; generate.py --glimpses and --export; api.classify; one-line errors for flags of
the other kind of model. A tiny configuration on tiny MNIST keeps each run to seconds."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from draw import api
from draw.app import evaluation
from draw.app.export import export
from draw.data import load_dataset
from draw.errors import DrawError
from draw.run_dir import RunDir, load_trained_model
from draw.training import Trainer
from tests.helpers import run_script
from tests.script_runner import config_from_flags, run_in_process

TINY_CLUTTER_FLAGS = [
    "--preset=cluttered_mnist",
    "--clutter_size=40",
    "--num_distractors=3",
    "--T=2",
    "--read_n=4",
    "--dec_size=16",
    "--batch_size=10",
    "--log_every=5",
    "--image_every=5",
    "--checkpoint_every=5",
    "--keep_checkpoints=10",
]


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory, tiny_mnist_dir):
    """A tiny glimpse classifier trained to step 10 by Trainer (as train.py runs it)."""
    path = str(tmp_path_factory.mktemp("classifier") / "run")
    config = config_from_flags(
        f"--data_dir={tiny_mnist_dir}", "--train_iters=10", *TINY_CLUTTER_FLAGS
    )
    Trainer(config, RunDir(path), load_dataset(config), log=lambda *_: None).train()
    return path


def _weights(path):
    return [w.numpy() for w in load_trained_model({}, path)[1].weights]


@pytest.mark.slow  # two trainings, or a fresh Python importing TensorFlow
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    tmp_path, tiny_mnist_dir, classifier_run
):
    path = str(tmp_path / "run")
    common = [f"--data_dir={tiny_mnist_dir}", *TINY_CLUTTER_FLAGS]
    for iters in (5, 10):  # stopped at 5, resumed to 10
        config = config_from_flags(f"--train_iters={iters}", *common)
        Trainer(config, RunDir(path), load_dataset(config), log=lambda *_: None).train()
    for resumed, whole in zip(_weights(path), _weights(classifier_run)):
        np.testing.assert_array_equal(resumed, whole)


def test_train_py_reports_the_test_error(tmp_path, capfd, tiny_mnist_dir):
    run = str(tmp_path / "run")
    args = [
        f"--logdir={run}",
        f"--data_dir={tiny_mnist_dir}",
        "--train_iters=5",
        *TINY_CLUTTER_FLAGS,
    ]
    status, out, err = run_in_process(capfd, "train.py", *args)
    assert status == 0, err
    assert "accuracy" in out and "test error at step 5 (20 images): " in out
    assert sorted(os.listdir(os.path.join(run, "test")))  # the test error's events


@pytest.mark.slow  # two trainings, or a fresh Python importing TensorFlow
def test_evaluate_py_writes_the_error_and_the_confusion_matrix(classifier_run):
    # A subprocess: evaluate.py's flags clash with generate.py's in one process.
    result = run_script("evaluate.py", f"--logdir={classifier_run}")
    assert result.returncode == 0, result.stderr
    assert "test error" in result.stdout and "binomial standard error" in result.stdout
    with open(os.path.join(classifier_run, "evaluations", "latest.json")) as f:
        figures = json.load(f)["classification"]
    confusion = np.array(figures["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == figures["images"] == 20
    assert figures["test_error"] == pytest.approx(1 - np.trace(confusion) / 20)
    assert figures["test_error_se"] == pytest.approx(
        np.sqrt(figures["test_error"] * (1 - figures["test_error"]) / 20)
    )
    per_class = confusion.sum(axis=1)
    for k, error in enumerate(figures["class_errors"]):
        assert (
            error is None
            if per_class[k] == 0
            else error == pytest.approx(1 - confusion[k, k] / per_class[k])
        )
    with open(os.path.join(classifier_run, "evaluations", "latest.csv")) as f:
        header = f.readline()
    assert "test_error_%" in header and "error_9_%" in header


def test_evaluate_refuses_generative_measures_for_a_classifier(classifier_run):
    with pytest.raises(DrawError, match="--iwae measures a generative model"):
        evaluation.evaluate_run(
            {}, classifier_run, evaluation.Options(iwae=True), log=lambda *_: None
        )


def test_generate_py_draws_the_glimpses(tmp_path, capfd, classifier_run):
    out_dir = str(tmp_path / "out")
    args = [f"--logdir={classifier_run}", "--glimpses", "--num_samples=4", f"--out_dir={out_dir}"]
    status, out, err = run_in_process(capfd, "generate.py", *args)
    assert status == 0, err
    assert sorted(os.listdir(out_dir)) == ["glimpses.gif", "glimpses.png"]


@pytest.mark.parametrize(
    "script, args, message",
    [
        ("train.py", ["--z_size=4"], "--z_size does not apply to --model=glimpse_classifier"),
        ("train.py", ["--model=conv_classifier", "--T=4"], "--T does not apply"),
        ("train.py", ["--binarize=dynamic"], "--binarize=dynamic is for MNIST"),
    ],
)
def test_flags_of_the_other_kind_of_model_are_one_line_errors(
    capfd, tmp_path, script, args, message
):
    status, out, err = run_in_process(
        capfd, script, f"--logdir={tmp_path / 'run'}", "--preset=cluttered_mnist", *args
    )
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "run")


def test_generation_modes_and_glimpses_are_refused_by_the_wrong_model(
    capfd, classifier_run, trained_run
):
    status, _, err = run_in_process(
        capfd, "generate.py", f"--logdir={classifier_run}", "--stochastic"
    )
    assert status == 2 and "--stochastic is for the DRAW models" in err
    status, _, err = run_in_process(capfd, "generate.py", f"--logdir={trained_run}", "--glimpses")
    assert status == 2 and "--glimpses is for --model=glimpse_classifier" in err


@pytest.mark.slow  # two trainings, or a fresh Python importing TensorFlow
def test_api_classify_and_the_exported_signature_agree(tmp_path, classifier_run):
    model = api.load(classifier_run)
    images = np.random.default_rng(0).random((5, 40, 40, 1)).astype(np.float32)
    probabilities = api.classify(model, images)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    with pytest.raises(DrawError, match="classify takes images"):
        api.classify(model, images[..., 0])
    with pytest.raises(DrawError, match="sample takes a DRAW model"):
        api.sample(model, 2)
    folder = export(model, str(tmp_path / "saved"))
    np.save(tmp_path / "images.npy", images)
    # Loaded in a fresh Python in an empty folder: TensorFlow alone, not this project.
    code = (
        "import numpy as np, tensorflow as tf\n"
        f"m = tf.saved_model.load({folder!r})\n"
        f"x = tf.constant(np.load({str(tmp_path / 'images.npy')!r}))\n"
        "p = m.signatures['classify'](images=x)['probabilities'].numpy()\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, p)\n"
        "import sys; assert 'draw' not in sys.modules\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-c", code], cwd=empty, env=env, check=True, capture_output=True
    )
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), probabilities, rtol=1e-5, atol=1e-6)
