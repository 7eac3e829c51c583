"""The report's ablations (section 4.1.1) and Models I-III (section 4.2) against NumPy."""

import os

import numpy as np
import pytest
import tensorflow as tf

from draw.configure import make_config
from draw.data import ImageData
from draw.errors import DrawError
from draw.models import build_model, check_data
from draw.models.blocks import ConvFeatures
from draw.run_dir import RunDir, load_trained_model
from draw.training import Trainer, make_optimizer
from tests import numpy_draw
from tests.helpers import (
    assert_one_line_error,
    bar_images,
    perturbed_model,
    run_script,
    tiny_config,
    trainable_weights,
)

SHAPE = (12, 12, 1)
VARIANTS = {
    "privy": {},
    "noprivy": {"privy": False},
    "error_only": {"read_input": "error"},
    "noprivy_no_attention": {"privy": False, "read_attn": False, "write_attn": False},
    "error_only_no_attention": {"read_input": "error", "read_attn": False},
    "T1": {"T": 1},
    "model1_concat": {"model": "conv_read", "read_attn": False},
    "model1_replace": {"model": "conv_read", "read_attn": False, "conv_read_mode": "replace"},
    "model1_error_only": {"model": "conv_read", "read_attn": False, "read_input": "error"},
    "model2": {"model": "supervised"},
    "model3": {"model": "conv_encoder"},
    "model3_no_attention": {"model": "conv_encoder", "read_attn": False, "write_attn": False},
}


def _batch(n=4, seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n,) + shape) < 0.4).astype(np.float32)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_forward_pass_matches_numpy(name):
    config = tiny_config(**VARIANTS[name])
    model = perturbed_model(config, SHAPE)
    x = _batch()
    noise = np.random.default_rng(1).normal(size=(config.T, 4, config.z_size)).astype(np.float32)
    out = model(tf.constant(x), noise=tf.constant(noise))
    canvas, mu, log_sigma = numpy_draw.draw_forward(trainable_weights(model), config, x, noise)
    np.testing.assert_allclose(out["canvas"].numpy(), canvas, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(out["mu"].numpy(), mu, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(out["log_sigma"].numpy(), log_sigma, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", ["noprivy", "error_only", "model1_replace", "model2", "model3"])
def test_variant_trains_and_lowers_its_loss(name):
    config = tiny_config(**VARIANTS[name])
    model = build_model(config, SHAPE)
    model.compile(optimizer=make_optimizer(config.replace(learning_rate=3e-3)))
    images, labels = bar_images(40, seed=3)
    data = (tf.constant(images / 255.0, tf.float32), tf.constant(labels))
    step = tf.function(model.train_step)

    def loss():
        return float(tf.reduce_mean(model.compute_losses(data[0], model(data[0]), data[1])["loss"]))

    before = loss()
    for _ in range(25):
        step(data)
    assert loss() < before - 10, before


def _encoder_width(**overrides):
    return build_model(tiny_config(**overrides), SHAPE).encoder.kernel.shape[0]


def test_noprivy_drops_h_dec_from_the_encoder_input():
    config = tiny_config()
    assert _encoder_width(privy=False) == _encoder_width() - config.dec_size


@pytest.mark.parametrize("privy", [True, False])
def test_noprivy_gradient_wrt_previous_decoder_state_through_the_encoder_is_zero(privy):
    # Without read attention and with a write that adds nothing, the canvas stays 0, so
    # h_dec_{t-1} can reach mu_t and log_sigma_t only through the encoder's privy input:
    # their gradient w.r.t. the decoder's weights is zero exactly when that input is gone.
    config = tiny_config(privy=privy, read_attn=False, write_attn=False)
    model = perturbed_model(config, SHAPE)
    for v in model.writer.weights:
        v.assign(tf.zeros_like(v))
    x = tf.constant(_batch())
    noise = tf.random.normal([config.T, 4, config.z_size])
    with tf.GradientTape() as tape:
        out = model(x, noise=noise)
        loss = tf.reduce_sum(out["mu"] ** 2 + out["log_sigma"] ** 2)
    grads = tape.gradient(loss, model.decoder.trainable_weights)
    largest = max(0.0 if g is None else float(tf.reduce_max(tf.abs(g))) for g in grads)
    if privy:
        assert largest > 1e-4
    else:
        assert largest == 0.0


@pytest.mark.parametrize("read_attn", [True, False])
def test_error_only_read_halves_the_read_and_ignores_x(read_attn):
    both = perturbed_model(tiny_config(read_attn=read_attn), SHAPE)
    error = perturbed_model(tiny_config(read_attn=read_attn, read_input="error"), SHAPE)
    x1, x2 = (tf.transpose(tf.constant(_batch(seed=s)), [0, 3, 1, 2]) for s in (1, 2))
    x_hat = tf.random.normal(x1.shape)
    h_dec = tf.random.normal([4, 32])

    def read(model, x):
        return model.read(x, x_hat, h_dec)[0].numpy()

    np.testing.assert_array_equal(read(error, x1), read(error, x2))
    assert read(both, x1).shape[-1] == 2 * read(error, x1).shape[-1]
    assert not np.allclose(read(both, x1), read(both, x2))


def test_model1_read_widths_concat_and_replace():
    config = tiny_config()
    features = 3 * 3 * 16  # 12x12 through two stride-2 layers, 16 filters
    raw = 2 * 12 * 12
    concat = _encoder_width(model="conv_read", read_attn=False)
    replace = _encoder_width(model="conv_read", read_attn=False, conv_read_mode="replace")
    assert concat == raw + features + config.dec_size + features
    assert replace == features + config.dec_size + features


def test_model3_replaces_x_by_its_features():
    config = tiny_config(read_attn=False)
    features = 3 * 3 * 16
    assert _encoder_width(model="conv_encoder", read_attn=False) == (
        12 * 12 + config.dec_size + features
    )
    assert _encoder_width(model="supervised", read_attn=False) == (
        2 * 12 * 12 + config.dec_size + features
    )


def test_model2_classification_loss_and_accuracy_match_numpy():
    config = tiny_config(model="supervised", class_weight=0.7)
    model = perturbed_model(config, SHAPE)
    x = _batch(n=16, seed=5)
    logits = numpy_draw.class_logits(trainable_weights(model), config, x)
    labels = np.argmax(logits, axis=1)
    labels[::3] = (labels[::3] + 1) % 10  # every third one wrong
    out = model(tf.constant(x))
    np.testing.assert_allclose(out["class_logits"].numpy(), logits, rtol=1e-4, atol=1e-4)
    losses = model.compute_losses(tf.constant(x), out, tf.constant(labels))
    L_c = numpy_draw.softmax_cross_entropy(logits, labels)
    np.testing.assert_allclose(losses["L_c"].numpy(), L_c, rtol=1e-4)
    expected = losses["L_x"].numpy() + losses["L_z"].numpy() + 0.7 * L_c
    np.testing.assert_allclose(losses["loss"].numpy(), expected, rtol=1e-5)
    for metric in model.metrics:
        metric.reset_state()
    logs = model.test_step((tf.constant(x), tf.constant(labels)))
    assert float(logs["accuracy"]) == pytest.approx(np.mean(np.argmax(logits, 1) == labels))
    assert float(logs["accuracy"]) == pytest.approx(10 / 16)
    assert float(logs["L_c"]) == pytest.approx(L_c.mean(), rel=1e-4)


def test_model2_without_labels_adds_no_classification_loss():
    model = build_model(tiny_config(model="supervised"), SHAPE)
    x = tf.constant(_batch())
    losses = model.compute_losses(x, model(x))
    assert "L_c" not in losses
    np.testing.assert_allclose(losses["loss"], losses["L_x"] + losses["L_z"], rtol=1e-6)


def test_model2_needs_digit_labels():
    images, _ = bar_images(10)
    config = tiny_config(model="supervised")
    for labels in (np.zeros(0, np.int32), np.full(10, 12, np.int32)):
        data = ImageData("bars", images, labels, images, np.zeros(10, np.int32))
        with pytest.raises(DrawError, match="needs class labels"):
            check_data(config, data)
    check_data(tiny_config(), ImageData("bars", images, np.full(10, -1), images, np.full(10, -1)))


def test_conv_features_match_numpy_convolution():
    block = ConvFeatures((3, 5), kernel=5, stride=2)
    images = np.random.default_rng(0).normal(size=(2, 2, 11, 9)).astype(np.float32)  # C=2
    block(tf.constant(images))  # builds the weights
    for v in block.weights:  # non-zero biases
        v.assign(v + 0.05)
    W = {f"b/conv{i + 1}/{k}": getattr(c, k).numpy() for i, c in enumerate(block.convs)
         for k in ("kernel", "bias")}  # fmt: skip
    got = block(tf.constant(images)).numpy()
    expected = numpy_draw.conv_features(W, "b", images, tiny_config(conv_stride=2))
    assert got.shape == (2, 3 * 3 * 5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["noprivy", "model1_concat", "model2", "model3"])
def test_every_variant_restores_from_its_run_directory(tmp_path, name):
    config = tiny_config(**VARIANTS[name])
    model = perturbed_model(config, SHAPE)
    run = RunDir(str(tmp_path / name))
    run.write(config, SHAPE)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model), run.checkpoint_dir, 1)
    manager.save(checkpoint_number=7)
    stored, restored, path = load_trained_model({}, run.path)
    assert stored == config and path.endswith("ckpt-7")
    assert type(restored) is type(model)
    for a, b in zip(model.trainable_variables, restored.trainable_variables):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x, noise = tf.constant(_batch()), tf.random.normal([config.T, 4, config.z_size])
    np.testing.assert_allclose(
        model(x, noise=noise)["canvas"].numpy(), restored(x, noise=noise)["canvas"].numpy()
    )


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        ({"model": "gan"}, "--model=gan"),
        ({"model": "conv_read"}, "--noread_attn"),
        ({"conv_read_mode": "replace"}, "applies only to --model=conv_read"),
        ({"model": "supervised", "conv_read_mode": "concat"}, "applies only to"),
        ({"model": "conv_read", "read_attn": False, "conv_read_mode": "sum"}, "sum"),
        ({"model": "conv_encoder", "read_input": "error"}, "--read_input does not apply"),
        ({"read_input": "x"}, "--read_input=x"),
        ({"model": "supervised", "conv_filters": "8"}, "--conv_filters=8"),
        ({"model": "supervised", "conv_filters": "8,a"}, "--conv_filters=8,a"),
        ({"model": "conv_encoder", "conv_kernel": 0}, "--conv_kernel must be positive"),
        ({"model": "supervised", "class_weight": -1.0}, "--class_weight"),
    ],
)
def test_variant_flags_that_do_not_fit_are_errors(overrides, fragment):
    with pytest.raises(DrawError) as error:
        make_config("jang", **overrides)
    assert fragment in str(error.value)


def test_model1_read_mode_defaults_to_concat():
    assert make_config("jang", model="conv_read", read_attn=False).conv_read_mode == "concat"
    assert make_config("jang").conv_read_mode == ""


def _scalar_tags(folder):
    tags = set()
    for name in os.listdir(folder):
        for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags.update(v.tag for v in event.summary.value)
    return tags


def test_model2_reports_L_c_and_accuracy_in_progress_lines_and_tensorboard(tmp_path, tiny_data):
    lines = []
    config = tiny_config(model="supervised", train_iters=10, log_every=5)
    run = RunDir(str(tmp_path / "run"))
    results = Trainer(config, run, tiny_data, log=lines.append).train()
    assert 0 <= results["accuracy"] <= 1 and results["L_c"] > 0
    progress = [line for line in lines if line.startswith("step")]
    assert progress and all("L_c" in line and "accuracy" in line for line in progress)
    assert "accuracy" in lines[-1]
    bound = results["L_x"] + results["L_z"]
    assert f"L_x + L_z = {bound:.2f}" in lines[-1]
    assert {"L_c", "accuracy"} <= _scalar_tags(run.events_dir("train"))
    assert {"L_c", "accuracy"} <= _scalar_tags(run.events_dir("test"))


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--conv_read_mode=replace"], "applies only to --model=conv_read"),
        (["--model=conv_read"], "--noread_attn"),
    ],
)
def test_train_py_answers_variant_flags_that_do_not_fit_in_one_line(tmp_path, args, fragment):
    result = run_script("train.py", f"--logdir={tmp_path}/run", *args)
    assert_one_line_error(result, fragment)
    assert not os.path.exists(tmp_path / "run")


def test_evaluation_of_model2_reports_L_c_and_accuracy_and_a_bound_without_L_c():
    from draw.measures.bound import seeded_elbo

    config = tiny_config(model="supervised")
    model = perturbed_model(config, SHAPE)
    x = _batch(n=12, seed=6)
    logits = numpy_draw.class_logits(trainable_weights(model), config, x)
    labels = np.argmax(logits, axis=1)
    labels[:4] = (labels[:4] + 1) % 10
    result = seeded_elbo(model, x, 5, seed=2, labels=labels)
    assert result["accuracy"] == pytest.approx(8 / 12)
    L_c = numpy_draw.softmax_cross_entropy(logits, labels).mean()
    assert result["L_c"] == pytest.approx(L_c, rel=1e-4)
    assert result["loss"] == pytest.approx(result["L_x"] + result["L_z"], rel=1e-6)
    assert "L_c" not in seeded_elbo(model, x, 5, seed=2)
