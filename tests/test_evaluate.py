"""The evaluation measures against independent NumPy/SciPy computations on a tiny model:
the ELBO, the IWAE estimate and its terms, the nearest-neighbour search and NLL, the
result files."""

import json
import os
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp
from scipy.stats import norm

from draw import sampling
from draw.app.evaluation import config_summary
from draw.app.results import check_comparable, write_results
from draw.config import DrawConfig
from draw.configure import make_config
from draw.errors import DrawError
from draw.measures.bound import seeded_elbo
from draw.measures.iwae import (
    gaussian_log_density,
    importance_sampled_nll,
    iwae_nll,
    log_importance_weights,
)
from draw.measures.nearest_neighbour import (
    generate_logits,
    nearest_neighbour_nll,
    nearest_neighbours,
)
from tests import numpy_draw
from tests.helpers import bar_images, perturbed_model, tiny_config, trainable_weights

SHAPE = (12, 12, 1)


@pytest.fixture(scope="module")
def model():
    """A tiny DRAW whose weights are perturbed so that every term matters."""
    return perturbed_model(tiny_config(T=3), SHAPE)


@pytest.fixture(scope="module")
def images():
    return (bar_images(40, seed=2)[0] / 255.0).astype(np.float32)


def _numpy_forward(model, x, noise):
    weights = trainable_weights(model)
    canvas, mu, log_sigma = numpy_draw.draw_forward(weights, model.config, x, noise)
    z = mu + np.exp(log_sigma) * noise
    return canvas, mu, log_sigma, z


def test_gaussian_log_density_matches_scipy():
    rng = np.random.default_rng(1)
    z, mu, log_sigma = rng.normal(size=(3, 5, 7))
    np.testing.assert_allclose(
        gaussian_log_density(z, mu, log_sigma).numpy(),
        norm.logpdf(z, loc=mu, scale=np.exp(log_sigma)),
        rtol=1e-10,
    )
    np.testing.assert_allclose(gaussian_log_density(z).numpy(), norm.logpdf(z), rtol=1e-10)


def test_log_weight_terms_match_numpy_and_scipy(model, images):
    x = images[:6]
    noise = np.random.default_rng(3).normal(size=(3, 6, model.config.z_size)).astype(np.float32)
    terms = {k: v.numpy() for k, v in log_importance_weights(model, x, noise).items()}
    canvas, mu, log_sigma, z = _numpy_forward(model, x, noise)
    log_px_z = -numpy_draw.bernoulli_nll(x, canvas[-1])
    log_pz = norm.logpdf(z).sum(axis=(0, 2))
    log_qz = norm.logpdf(z, loc=mu, scale=np.exp(log_sigma)).sum(axis=(0, 2))
    np.testing.assert_allclose(terms["log_px_z"], log_px_z, rtol=1e-4)
    np.testing.assert_allclose(terms["log_pz"], log_pz, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(terms["log_qz"], log_qz, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(terms["log_w"], log_px_z + log_pz - log_qz, rtol=1e-4, atol=1e-3)


def test_elbo_equals_L_x_plus_L_z_by_hand(model, images):
    seed, batch, images = 5, 8, images[:20]
    result = seeded_elbo(model, images, batch, seed)
    generator = keras.random.SeedGenerator(seed)  # the model's stream, restarted at seed
    L_x, L_z = [], []
    for start in range(0, len(images), batch):
        x = images[start : start + batch]
        noise = keras.random.normal((3, len(x), model.config.z_size), seed=generator).numpy()
        canvas, mu, log_sigma, _ = _numpy_forward(model, x, noise)
        L_x.append(numpy_draw.bernoulli_nll(x, canvas[-1]))
        L_z.append(numpy_draw.gaussian_kl(mu, log_sigma))
    L_x, L_z = np.concatenate(L_x).mean(), np.concatenate(L_z).mean()
    assert result["num_images"] == len(images)
    np.testing.assert_allclose(result["L_x"], L_x, rtol=1e-4)
    np.testing.assert_allclose(result["L_z"], L_z, rtol=1e-4)
    np.testing.assert_allclose(result["loss"], L_x + L_z, rtol=1e-4)


def test_iwae_with_one_sample_is_the_single_sample_elbo_of_the_same_noise(model, images):
    seed, n = 7, len(images)
    result = importance_sampled_nll(model, images, 1, seed, batch_size=n, log=None)
    # One forward pass (number 0): its noise is stateless_normal(seed=(seed, 0)).
    noise = tf.random.stateless_normal([3, n, model.config.z_size], seed=[seed, 0]).numpy()
    canvas, mu, log_sigma, z = _numpy_forward(model, images, noise)
    single_sample_elbo = (
        numpy_draw.bernoulli_nll(images, canvas[-1])
        + norm.logpdf(z, mu, np.exp(log_sigma)).sum(axis=(0, 2))
        - norm.logpdf(z).sum(axis=(0, 2))
    )
    np.testing.assert_allclose(result["per_image"], single_sample_elbo, rtol=1e-4, atol=1e-3)


def test_iwae_with_one_sample_has_the_elbo_as_expectation(model, images):
    x = np.repeat(images[:4], 500, axis=0)  # 500 samples of each of 4 images
    noise = tf.random.stateless_normal([3, len(x), model.config.z_size], seed=[11, 0])
    outputs = model(x, noise=noise)
    elbo = model.compute_losses(x, outputs)["loss"].numpy()
    minus_log_w = -log_importance_weights(model, x, noise)["log_w"].numpy()
    difference = minus_log_w - elbo  # (log q - log p) - KL: zero in expectation
    assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(len(x))


def test_iwae_is_never_above_the_average_bound_of_its_own_samples():
    log_w = np.random.default_rng(4).normal(scale=5.0, size=(50, 20))
    assert np.all(iwae_nll(log_w) <= (-log_w).mean(axis=1) + 1e-12)
    np.testing.assert_allclose(iwae_nll(log_w), -(logsumexp(log_w, axis=1) - np.log(20)))


def test_iwae_with_many_samples_is_below_the_elbo_on_average(model, images):
    elbo = seeded_elbo(model, images, 40, seed=1)["loss"]
    iwae = importance_sampled_nll(model, images, 50, seed=1, batch_size=500, log=None)
    assert iwae["nll"] < elbo, (iwae["nll"], elbo)
    assert iwae["num_samples"] == 50 and iwae["num_images"] == len(images)


def test_iwae_in_chunks_combines_every_sample_of_an_image(model, images):
    """K=7 in forward passes of at most 3 samples: chunks of 3, 3, 1 per image."""
    seed, K, x = 2, 7, images[:2]
    result = importance_sampled_nll(model, x, K, seed, batch_size=3, log=None)
    expected, pass_index = [], 0
    for image in x:
        log_w = []
        for k in (3, 3, 1):
            noise = tf.random.stateless_normal([3, k, model.config.z_size], seed=[seed, pass_index])
            batch = np.repeat(image[np.newaxis], k, axis=0)
            log_w.append(log_importance_weights(model, batch, noise)["log_w"].numpy())
            pass_index += 1
        expected.append(iwae_nll(np.concatenate(log_w)[np.newaxis])[0])
    np.testing.assert_allclose(result["per_image"], expected, rtol=1e-5)


def test_nearest_neighbours_match_brute_force_numpy():
    rng = np.random.default_rng(5)
    queries, references = rng.uniform(size=(37, 50)), rng.uniform(size=(1000, 50))
    index, sq_distance = nearest_neighbours(queries, references, batch_size=8)
    all_distances = ((queries[:, None, :] - references[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(index, all_distances.argmin(axis=1))
    np.testing.assert_allclose(sq_distance, all_distances.min(axis=1), rtol=1e-4)


def test_nn_nll_is_the_numpy_bernoulli_nll_of_the_nearest_training_image(model):
    train = (bar_images(300, seed=6)[0] > 0).astype(np.float32)
    result = nearest_neighbour_nll(model, train, num_samples=30, seed=3, batch_size=15)
    logits = generate_logits(model, 30, seed=3, batch_size=15).astype(np.float64)
    p = numpy_draw.sigmoid(logits).reshape(30, -1)
    flat = train.reshape(len(train), -1)
    neighbour = ((p[:, None, :] - flat[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    nll = numpy_draw.bernoulli_nll(train[neighbour], logits)
    np.testing.assert_array_equal(result["neighbour"], neighbour)
    np.testing.assert_allclose(result["per_sample"], nll, rtol=1e-4)
    np.testing.assert_allclose(
        [result["mean"], result["std"], result["max"]], [nll.mean(), nll.std(), nll.max()], 1e-4
    )
    np.testing.assert_allclose(
        result["distance"], np.linalg.norm(p - flat[neighbour], axis=1), rtol=1e-3
    )


def test_generated_samples_follow_the_seed_and_are_generate_pys(model):
    a = generate_logits(model, 6, seed=1, batch_size=4)
    np.testing.assert_array_equal(a, generate_logits(model, 6, seed=1, batch_size=4))
    assert not np.allclose(a, generate_logits(model, 6, seed=2, batch_size=4))
    # The samples `generate.py --stochastic --seed=1` decodes.
    z = sampling.prior_latents(
        sampling.make_generator(1, zlib.crc32(b"stochastic")), 3, 6, model.config.z_size
    )
    images = sampling.Sampler(model).decode(z)["canvas"][-1]
    np.testing.assert_allclose(numpy_draw.sigmoid(a.astype(np.float64)), images, atol=1e-5)


def test_result_files_are_numbered_and_earlier_ones_kept(tmp_path):
    folder = str(tmp_path / "evaluations")
    first = write_results(folder, {"elbo": 1.0}, [{"run": "a", "elbo": 1.0}])
    with open(first["json"]) as f:
        first_text = f.read()
    (tmp_path / "evaluations" / "0007-old.json").write_text("{}")  # a higher number exists
    second = write_results(folder, {"elbo": 2.0}, [{"run": "a", "elbo": 2.0}])
    assert os.path.basename(first["json"]).startswith("0001-")
    assert os.path.basename(second["json"]).startswith("0008-")
    with open(first["json"]) as f:
        assert f.read() == first_text
    with open(os.path.join(folder, "latest.json")) as f:
        assert json.load(f) == {"elbo": 2.0}
    with open(os.path.join(folder, "latest.csv")) as f:
        assert f.read() == "run,elbo\na,2.0\n"
    assert sorted(n for n in os.listdir(folder) if n.startswith(".")) == []


def test_config_summary_names_what_differs_from_the_preset():
    assert config_summary(make_config("jang")) == "jang"
    summary = config_summary(make_config("jang", T=5, read_attn=False, seed=3))
    assert summary == "jang T=5 noread_attn seed=3"
    assert config_summary(make_config("paper_mnist")) == "paper_mnist"


def test_compare_refuses_runs_of_different_datasets(monkeypatch):
    stored = {
        "a": (DrawConfig(dataset="mnist"), (28, 28, 1)),
        "b": (DrawConfig(dataset="svhn"), (32, 32, 1)),
    }

    class FakeRun:
        def __init__(self, path):
            self.path = path

        def read(self):
            return stored[self.path]

    monkeypatch.setattr("draw.app.results.RunDir", FakeRun)
    monkeypatch.setattr("draw.app.results.checkpoint_to_load", lambda run: "ckpt-1")
    check_comparable(["a", "a"])
    with pytest.raises(DrawError, match="one dataset"):
        check_comparable(["a", "b"])
