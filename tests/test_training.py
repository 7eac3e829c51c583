"""Training lowers the loss; an interrupted and resumed run equals an uninterrupted one."""

import numpy as np
import tensorflow as tf

from draw.run_dir import load_trained_model
from tests.helpers import tiny_trainer


def test_short_training_lowers_the_loss(tmp_path, tiny_data):
    trainer = tiny_trainer(tmp_path / "run", tiny_data, train_iters=60)
    before = (
        trainer.model.compute_losses(
            tf.constant(tiny_data.test_images / 255.0, tf.float32),
            trainer.model(tf.constant(tiny_data.test_images / 255.0, tf.float32)),
        )["loss"]
        .numpy()
        .mean()
    )
    after = trainer.train()["loss"]
    assert after < before - 10, (before, after)


def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path, tiny_data):
    whole = tiny_trainer(tmp_path / "whole", tiny_data, train_iters=30)
    whole.train()
    first_half = tiny_trainer(tmp_path / "halves", tiny_data, train_iters=20)
    first_half.train()
    resumed = tiny_trainer(tmp_path / "halves", tiny_data, train_iters=30)
    assert resumed.restore_latest() == 20
    assert int(resumed.optimizer.iterations) == 20  # the optimizer state came back too
    resumed.train()
    assert int(resumed.step) == 30 and int(resumed.optimizer.iterations) == 30
    for a, b in zip(whole.model.weights, resumed.model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    for a, b in zip(whole.optimizer.variables, resumed.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_trained_run_reloads_from_its_directory(tmp_path, tiny_data):
    trainer = tiny_trainer(tmp_path / "run", tiny_data, train_iters=10)
    trainer.train()
    config, model, path = load_trained_model({}, str(tmp_path / "run"))
    assert config == trainer.config and path.endswith("ckpt-10")
    for a, b in zip(trainer.model.trainable_variables, model.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
