"""The configuration: presets, validation, the shared flags, the stored run config."""

from dataclasses import dataclass

import pytest
from absl import flags

from draw.app.flags import define_flags, explicit_config_values
from draw.app.runs import resolve_config
from draw.config import (
    DrawConfig,
    fields_in_group,
    fields_with_role,
    hparam_fields,
)
from draw.configure import make_config
from draw.errors import DrawError
from draw.options import check_kinds, option
from draw.run_dir import RunDir


def test_presets():
    jang = make_config("jang")
    assert (jang.T, jang.z_size, jang.read_n, jang.write_n, jang.enc_size) == (10, 10, 5, 5, 256)
    assert (jang.batch_size, jang.learning_rate, jang.beta_1, jang.clipnorm) == (100, 1e-3, 0.5, 5)
    paper = make_config("paper_mnist")
    assert (paper.T, paper.z_size, paper.read_n, paper.write_n) == (64, 100, 2, 5)
    assert make_config("paper_mnist", T=8).T == 8  # explicit values beat the preset


@pytest.mark.parametrize(
    "overrides",
    [
        {"T": 0},
        {"enc_size": -1},
        {"read_n": 1},
        {"write_n": 0},
        {"binarize": "x"},
        {"batch_size": 0},
    ],
)
def test_invalid_values_are_errors(overrides):
    with pytest.raises(DrawError):
        make_config("jang", **overrides)


def test_glimpse_of_one_is_fine_without_attention():
    assert make_config("jang", read_attn=False, read_n=1).read_n == 1


def test_only_explicit_flags_are_collected():
    values = flags.FlagValues()
    define_flags(values)
    values(["prog", "--T=7", "--noread_attn", "--learning_rate=0.01", "--logdir=x"])
    assert explicit_config_values(values) == {"T": 7, "read_attn": False, "learning_rate": 0.01}


def test_every_config_field_is_a_shared_flag():
    values = flags.FlagValues()
    define_flags(values)
    for name in list(DrawConfig.__dataclass_fields__) + ["logdir", "checkpoint", "verbose"]:
        assert name in values


def test_the_kinds_decide_hparams_groups_and_roles():
    # Written out here, independently of draw.options.KINDS.
    data = ["dataset", "binarize", "color", "svhn_extra", "clutter_size", "num_distractors",
            "distractor_size"]  # fmt: skip
    source = ["data_source", "data_dir"]
    optimisation = ["batch_size", "learning_rate", "beta_1", "adam_epsilon", "clipnorm",
                    "train_iters", "skip_nonfinite"]  # fmt: skip
    logging_devices = ["log_every", "image_every", "checkpoint_every", "keep_checkpoints",
                       "jit_compile", "strategy", "tpu"]  # fmt: skip
    every = list(DrawConfig.__dataclass_fields__)
    assert hparam_fields() == [n for n in every if n not in source + logging_devices]
    assert fields_in_group("data") == data + source
    assert set(fields_in_group("training")) == set(optimisation + logging_devices)
    assert set(fields_with_role("train")) == set(source + optimisation + logging_devices)
    assert {"T", "lstm_init", "seed", "preset", "model"} <= set(fields_in_group("model"))


def test_a_config_field_without_a_kind_is_refused():
    @dataclass
    class Unsorted:
        a: int = option(1, "A model setting.", kind="model")
        verbosity: int = option(0, "A new logging setting, its kind forgotten.")

    with pytest.raises(TypeError, match="Unsorted.verbosity"):
        check_kinds(Unsorted)


def test_stored_config_rules(tmp_path):
    run = RunDir(str(tmp_path / "run"))
    run.write(make_config("jang", T=4), (28, 28, 1))
    config, _, shape = resolve_config({"train_iters": 50, "T": 4}, run.path)
    assert config.T == 4 and config.train_iters == 50 and shape == (28, 28, 1)
    with pytest.raises(DrawError, match="contradicts"):
        resolve_config({"z_size": 3}, run.path)
    with pytest.raises(DrawError, match="no trained run"):
        resolve_config({}, str(tmp_path / "elsewhere"))
    new, new_run, shape = resolve_config({"T": 2}, str(tmp_path / "new"), new_run=True)
    assert new.T == 2 and shape is None and not new_run.exists()
