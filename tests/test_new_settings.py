"""A setting only some models or datasets take, added to DrawConfig (docs/extending.md):
the shipped models and the runs stored before it existed still load, taking its default;
a stored configuration of a model or dataset that takes it, without it, is refused naming
it."""

import dataclasses
import json
import os
import shutil
import sys

import pytest

import draw.config
from draw import pretrained
from draw.config import LEGACY_VALUES
from draw.errors import DrawError
from draw.model import DRAW
from draw.models import MODELS
from draw.options import option
from draw.registry import ModelEntry
from draw.run_dir import RunDir, load_trained_model
from tests.helpers import REPO, tiny_config

OLD_RUN = os.path.join(REPO, "tests", "data", "run_98ebda6")  # stored before the classifiers


@pytest.fixture
def toy_config(monkeypatch):
    """DrawConfig with a new model setting `toy_width` (default 4) wherever the library
    names DrawConfig, and a new model `toy` in MODELS whose own setting it is."""
    original = draw.config.DrawConfig
    width = option(4, "toy: the width of its toy layer.", range=(1, 64), kind="model")
    extended = dataclasses.make_dataclass(
        "DrawConfig", [("toy_width", "int", width)], bases=(original,)
    )
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "draw" and getattr(module, "DrawConfig", None) is original:
            monkeypatch.setattr(module, "DrawConfig", extended)
    monkeypatch.setitem(MODELS, "toy", ModelEntry(DRAW, "a toy", own=("toy_width",)))
    return extended


def write_run(folder, config: dict, image_shape=(12, 12, 1)) -> RunDir:
    run = RunDir(str(folder))
    os.makedirs(run.path, exist_ok=True)
    with open(run.config_path, "w") as f:
        json.dump({"config": config, "image_shape": list(image_shape)}, f)
    return run


def stored_config(folder: str) -> dict:
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)["config"]


def test_shipped_models_and_an_old_run_load_with_a_new_setting(toy_config, tmp_path):
    folders = [pretrained.path(name) for name in pretrained.names()] + [OLD_RUN]
    assert len(folders) >= 3
    defaults = toy_config()
    for folder in folders:
        stored = stored_config(folder)
        config, _ = RunDir(folder).read()
        assert isinstance(config, toy_config) and config.toy_width == 4
        values = dataclasses.asdict(config)
        absent = set(values) - set(stored)
        assert {k: values[k] for k in stored} == stored  # read as stored
        # Absent: the new setting, the old run's settings of the classifiers and cluttered
        # MNIST (their defaults) and adam_epsilon and lstm_init (what it was trained with).
        expected = {k: LEGACY_VALUES.get(k, getattr(defaults, k)) for k in absent}
        assert {k: values[k] for k in absent} == expected
    assert set(dataclasses.asdict(defaults)) - set(stored_config(OLD_RUN)) == {
        "toy_width", "clutter_size", "num_distractors", "distractor_size", "log_sigma2_bias",
        "adam_epsilon", "lstm_init",
    }  # fmt: skip
    # The old run's model is rebuilt and restored.
    shutil.copytree(OLD_RUN, tmp_path / "run")
    config, model, path = load_trained_model({}, str(tmp_path / "run"))
    assert path.endswith("ckpt-5") and model.config.toy_width == 4


def test_the_models_own_setting_stays_required(toy_config, tmp_path):
    stored = {**dataclasses.asdict(tiny_config()), "toy_width": 7}  # made with the new field
    config, _ = write_run(tmp_path / "toy", {**stored, "model": "toy"}).read()
    assert (config.model, config.toy_width) == ("toy", 7)
    del stored["toy_width"]
    run = write_run(tmp_path / "lacking", {**stored, "model": "toy"})
    with pytest.raises(DrawError, match=r"missing configuration keys \['toy_width'\]"):
        run.read()
    config, _ = write_run(tmp_path / "draw", stored).read()  # --model=draw does not take it
    assert (config.model, config.toy_width) == ("draw", 4)


@pytest.mark.parametrize(
    "name, setting",
    [
        ("cluttered_mnist_8_glimpses", "clutter_size"),  # its dataset's own
        ("cluttered_mnist_8_glimpses", "distractor_size"),
        ("cluttered_mnist_8_glimpses", "log_sigma2_bias"),  # its model's own
        ("mnist_attention", "adam_epsilon"),  # every model's
    ],
)
def test_a_stored_config_lacking_a_setting_it_takes_is_refused(tmp_path, name, setting):
    stored = stored_config(pretrained.path(name))
    del stored[setting]
    with pytest.raises(DrawError, match=rf"missing configuration keys \['{setting}'\]"):
        write_run(tmp_path, stored).read()
