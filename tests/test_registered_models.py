"""A model added through the registry (draw.models.MODELS) gets the behaviour its entry
declares, as the built-in ones do: no code elsewhere names a model to decide what it can do."""

import keras
import pytest
import tensorflow as tf

from draw import api
from draw.app import shipping
from draw.configure import make_config
from draw.errors import DrawError
from draw.model import DRAW
from draw.models import MODELS, build_model
from draw.registry import CLASSIFICATION, ModelEntry
from draw.run_dir import RunDir
from tests.helpers import checksums, tiny_config
from tests.script_runner import run_in_process


class MeanContextDRAW(DRAW):
    """docs/extending.md's toy variant: the encoder also sees x's mean per channel."""

    def image_context(self, x):
        return tf.reduce_mean(x, axis=[2, 3]), {}


class Ridge(keras.Model):
    """A toy classifier: one Dense on the flattened image, without glimpses."""

    num_classes = 10

    def __init__(self, config, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.config = config
        self.B, self.A, self.C = image_shape
        self.logits_layer = keras.layers.Dense(10)

    def call(self, x):
        return {"logits": self.logits_layer(keras.ops.reshape(x, [keras.ops.shape(x)[0], -1]))}

    def build_variables(self):
        self(tf.zeros([1, self.B, self.A, self.C]))


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(MODELS, "toy", ModelEntry(MeanContextDRAW, "a toy variant"))
    monkeypatch.setitem(
        MODELS,
        "ridge",
        ModelEntry(Ridge, "a toy classifier", task=CLASSIFICATION, uses=("class_hidden",)),
    )


def test_kernels_of_a_registered_model_without_conv_layers_is_one_line(toy, tmp_path, capfd):
    run = RunDir(str(tmp_path / "run"))
    config = tiny_config(model="toy")
    run.write(config, (12, 12, 1))
    checkpoint = tf.train.Checkpoint(model=build_model(config, (12, 12, 1)))
    tf.train.CheckpointManager(checkpoint, run.checkpoint_dir, 1).save(3)
    before = checksums(tmp_path)
    status, out, err = run_in_process(capfd, "generate.py", f"--logdir={run.path}", "--kernels")
    assert status == 2 and out == "", err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert (
        "--kernels needs a model with convolution layers (--model=conv_read, supervised or "
        "conv_encoder); this run is --model=toy" in err
    )
    assert checksums(tmp_path) == before


def test_glimpses_of_a_registered_classifier_without_them_is_refused(toy, tmp_path, capfd):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("cluttered_mnist", model="ridge"), (100, 100, 1))
    status, _, err = run_in_process(capfd, "generate.py", f"--logdir={run.path}", "--glimpses")
    assert status == 2 and err.strip() == (
        "generate.py: error: --glimpses needs --model=glimpse_classifier, not ridge"
    ), err


def _facts(config):
    classification = {"test_error": 0.25, "test_error_se": 0.01, "images": 100}
    classification["class_errors"] = [0.5, None] + [0.0] * 8
    provenance = {"command": "train.py", "commit": "abc", "seconds": 60.0, "size": 1e6}
    provenance.update(parameters=1000, created="today", checkpoint="ckpt-7")
    return {"config": config, "classification": classification, "step": 7, **provenance}


def test_a_registered_classifier_gets_a_card_from_its_entry(toy):
    text = shipping.card("ridge-toy", _facts(make_config("cluttered_mnist", model="ridge")))
    assert "): a toy classifier;\ntrained for 7 iterations." in text
    assert "25.00%" in text and "--glimpses" not in text
    conv = shipping.card(
        "conv-toy", _facts(make_config("cluttered_mnist", model="conv_classifier"))
    )
    assert "two convolution layers and a hidden layer of 128 units" in conv


def test_classify_names_every_registered_classifier(toy):
    with pytest.raises(DrawError, match=r"--model=glimpse_classifier, conv_classifier or ridge"):
        api.classify(build_model(tiny_config(), (12, 12, 1)), tf.zeros([1, 12, 12, 1]))
    model = build_model(make_config("cluttered_mnist", model="ridge"), (12, 12, 1))
    assert api.classify(model, tf.zeros([3, 12, 12, 1])).shape == (3, 10)
