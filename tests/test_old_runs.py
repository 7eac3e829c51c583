"""A run written by an earlier version of the code (tests/data/run_98ebda6: the tiny
configuration of its config.json trained 5 steps at commit 98ebda6) still restores: the
model's layer names and weight order, the optimizer's slots, the step, and the samples
that version's generate.py drew from it."""

import os
import shutil

import numpy as np

from draw import sampling
from draw.data import ImageData
from draw.run_dir import RunDir, load_trained_model
from draw.training import Trainer
from tests.helpers import REPO

OLD_RUN = os.path.join(REPO, "tests", "data", "run_98ebda6")


def test_an_old_run_restores_and_draws_the_samples_it_drew(tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(OLD_RUN, run)
    config, model, path = load_trained_model({}, run)
    assert path.endswith("ckpt-5")
    # The canvases `generate.py --stochastic --num_samples=4` (seed 0) wrote at 98ebda6.
    expected = np.load(os.path.join(run, "stochastic_seed0_canvases.npy"))
    z = sampling.prior_latents(
        sampling.named_stream(0, "stochastic"), config.T, expected.shape[1], config.z_size
    )
    canvases = sampling.Sampler(model).decode(z)["canvas"]
    np.testing.assert_allclose(canvases, expected, atol=1e-6)


def test_an_old_run_resumes_with_its_optimizer_and_step(tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(OLD_RUN, run)
    config, _ = RunDir(run).read()
    images = np.zeros((config.batch_size, 28, 28, 1), np.uint8)
    labels = np.zeros(config.batch_size, np.int32)
    data = ImageData("zeros", images, labels, images, labels, "test")
    trainer = Trainer(config, RunDir(run), data, (28, 28, 1), log=lambda *_: None)
    assert trainer.restore_latest() == 5  # every model and optimizer variable matched
    assert int(trainer.optimizer.iterations) == 5
