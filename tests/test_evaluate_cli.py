"""evaluate.py end to end on a tiny untrained MNIST-shaped run: result files, --compare,
and bad input answered with one line, a non-zero exit and no changed file."""

import csv
import dataclasses
import json
import os
import re
import shutil

import pytest
import tensorflow as tf
from PIL import Image

from draw.app.evaluation import Options, compare_runs, evaluate_and_write, gather_compare_runs
from draw.errors import DrawError
from draw.measures import MEASURES, register
from draw.models import build_model
from draw.options import flag_name
from draw.run_dir import RunDir
from tests.helpers import assert_one_line_error, checksums, run_script, tiny_config


def _make_run(path, image_shape=(28, 28, 1), checkpoint=True):
    """A run directory with a tiny model's config.json and (optionally) a checkpoint."""
    config = tiny_config(T=2, enc_size=16, dec_size=16)
    run = RunDir(str(path))
    run.write(config, image_shape)
    if checkpoint:
        model = build_model(config, image_shape)
        step = tf.Variable(5, dtype=tf.int64)
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(model=model, step=step), run.checkpoint_dir, max_to_keep=1
        )
        manager.save(checkpoint_number=5)
    return run


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory):
    """The run of an untrained tiny model for 28x28 images, with its ckpt-5."""
    return _make_run(tmp_path_factory.mktemp("evaluate") / "run")


def _evaluate(*args):
    result = run_script("evaluate.py", *args)
    assert result.returncode == 0, result.stderr
    return result


def test_results_are_written_reproducible_and_earlier_ones_kept(untrained_run, tmp_path):
    run_path = str(tmp_path / "run")
    shutil.copytree(untrained_run.path, run_path)
    args = [f"--logdir={run_path}", "--elbo", "--nn-nll", "--num_samples=20"]
    args += ["--num_test_images=50", "--eval_batch_size=25"]
    first = _evaluate(*args)
    assert "nn_nll_mean" in first.stdout and "elbo" in first.stdout
    folder = os.path.join(run_path, "evaluations")
    (first_json,) = [n for n in os.listdir(folder) if n.startswith("0001-") and "json" in n]
    histogram = first_json[: -len(".json")] + ".nn_nll.png"  # matplotlib, beside the JSON
    assert histogram in first.stdout and Image.open(os.path.join(folder, histogram)).size[0] > 0
    before = checksums(folder)
    _evaluate(*args)
    names = sorted(os.listdir(folder))
    assert len([n for n in names if n.endswith(".json") and n != "latest.json"]) == 2
    for path, digest in before.items():  # earlier files unchanged, only latest.* replaced
        if "latest" not in path:
            assert checksums(folder)[path] == digest
    with open(os.path.join(folder, first_json)) as f:
        one = json.load(f)
    with open(os.path.join(folder, "latest.json")) as f:
        two = json.load(f)
    assert one["step"] == 5 and one["elbo"]["num_images"] == 50
    assert one["nn_nll"]["num_samples"] == 20
    for key in ("mean", "std", "max"):
        assert one["nn_nll"][key] == two["nn_nll"][key]  # the same --seed, the same figures
    assert one["elbo"]["loss"] == two["elbo"]["loss"]
    with open(os.path.join(folder, "latest.csv")) as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["nn_nll_mean"]) == pytest.approx(two["nn_nll"]["mean"])


def test_compare_writes_one_table_of_all_runs(untrained_run, tmp_path):
    for name in ("a", "b"):
        shutil.copytree(untrained_run.path, str(tmp_path / name))
    runs = [str(tmp_path / "a"), str(tmp_path / "b")]
    options = Options(num_test_images=20)
    records, paths = compare_runs({}, runs, options, log=lambda *_: None)
    assert paths["csv"].startswith(str(tmp_path / "comparisons"))
    with open(tmp_path / "comparisons" / "latest.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == runs
    assert all(r["summary"] and float(r["elbo"]) > 0 for r in rows)
    assert [r["elbo"]["loss"] for r in records] == [float(r["elbo"]) for r in rows]
    assert os.path.isfile(tmp_path / "a" / "evaluations" / "latest.json")
    assert paths["chart"] == paths["json"][: -len(".json")] + ".png"
    assert Image.open(paths["chart"]).format == "PNG"


def test_compare_takes_space_separated_runs():
    argv = ["evaluate.py", "--compare", "runs/a", "runs/b", "--nn-nll", "--seed=2"]
    assert gather_compare_runs(argv) == [
        "evaluate.py",
        "--compare=runs/a,runs/b",
        "--nn-nll",
        "--seed=2",
    ]
    assert gather_compare_runs(["e", "--compare=a,b"]) == ["e", "--compare=a,b"]
    assert gather_compare_runs(["e", "--compare"]) == ["e", "--compare="]


def test_bad_count_is_one_line_and_changes_nothing(untrained_run):
    before = checksums(untrained_run.path)
    result = run_script(
        "evaluate.py", f"--logdir={untrained_run.path}", "--iwae", "--num_importance_samples=0"
    )
    assert_one_line_error(result, "--num_importance_samples must be positive")
    assert checksums(untrained_run.path) == before


@pytest.mark.parametrize(
    "explicit,options,fragment",
    [
        ({}, dict(num_samples=-3, nn_nll=True), "--num_samples must be positive"),
        ({}, dict(eval_batch_size=0), "--eval_batch_size must be positive"),
        ({"data_source": "files", "data_dir": "/nonexistent/mnist"}, {}, "/nonexistent/mnist"),
        ({}, dict(num_test_images=20000), "exceeds the 10000 test images"),
        ({"T": 7}, {}, "--T=7"),
        ({}, dict(elbo=False), "nothing to measure"),
        ({}, dict(seed=-1), "--seed must be non-negative"),
    ],
)
def test_bad_input_is_a_draw_error_and_changes_nothing(untrained_run, explicit, options, fragment):
    before = checksums(untrained_run.path)
    with pytest.raises(DrawError, match=re.escape(fragment)):
        evaluate_and_write(explicit, untrained_run.path, Options(**options), log=lambda *_: None)
    assert checksums(untrained_run.path) == before


def test_run_without_checkpoint_is_an_error(tmp_path):
    run = _make_run(tmp_path / "run", checkpoint=False)
    result = run_script("evaluate.py", f"--logdir={run.path}")
    assert_one_line_error(result, "no checkpoint")
    assert not os.path.exists(os.path.join(run.path, "evaluations"))


def test_compare_of_different_datasets_is_an_error(untrained_run, tmp_path):
    other = _make_run(tmp_path / "other", image_shape=(12, 12, 1))
    before = checksums(untrained_run.path)
    result = run_script("evaluate.py", "--compare", untrained_run.path, other.path)
    assert_one_line_error(result, "one dataset")
    assert checksums(untrained_run.path) == before
    assert not os.path.exists(tmp_path / "comparisons")


def test_each_measure_is_a_flag_with_its_settings_and_is_registered_once():
    fields = {f.name: f for f in dataclasses.fields(Options)}
    for measure in MEASURES.values():
        if measure.flag:
            assert flag_name(fields[measure.name]) == measure.flag
            assert set(measure.settings) <= set(fields)
    assert flag_name(fields["nn_nll"]) == "nn-nll"  # the flag users type
    with pytest.raises(ValueError, match="taken"):  # a new name, but --iwae's flag
        register(dataclasses.replace(MEASURES["iwae"], name="iwae_again"))
    assert "iwae_again" not in MEASURES
