"""Training under tf.distribute equals training on one device, on CPU devices.

conftest.py splits the CPU into two logical devices; MirroredStrategy runs one replica
on each. The multi-worker test starts two worker processes (tests/multi_worker_main.py)
that talk over localhost ports.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from draw.errors import DrawError
from draw.models import build_model
from draw.run_dir import RunDir, load_trained_model
from draw.train_step import TrainStep, replica_noise
from draw.training import Trainer, make_optimizer
from tests.helpers import (
    LOGICAL_CPUS,
    REPO,
    assert_one_line_error,
    run_script,
    tiny_config,
    tiny_image_data,
)

# One step, no image summaries: what the tests compare is the step and its metrics.
CONFIG = dict(T=2, train_iters=1, log_every=1, image_every=1000, checkpoint_every=1000)


def mirrored():
    assert LOGICAL_CPUS == 2, "conftest.py must split the CPU into two logical devices"
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


def local_copies(strategy, variable):
    """Every local replica's copy of a (mirrored) variable, as NumPy arrays."""
    value = variable.value if isinstance(variable, keras.Variable) else variable
    return [np.asarray(v) for v in strategy.experimental_local_results(value)]


def scalar_summaries(folder):
    """{tag: [values by step]} of the TensorBoard scalars in folder."""
    values = {}
    for name in sorted(os.listdir(folder)):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name)):
            for value in event.summary.value:
                number = (
                    tf.make_ndarray(value.tensor)
                    if value.HasField("tensor")
                    else value.simple_value
                )
                values.setdefault(value.tag, []).append(float(number))
    return values


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One training step of the same model on one device and on two replicas."""
    folder = tmp_path_factory.mktemp("runs")
    data = tiny_image_data()
    trained = {}
    for name, strategy in (("one", None), ("two", mirrored())):
        trainer = Trainer(
            tiny_config(**CONFIG),
            RunDir(str(folder / name)),
            data,
            log=lambda *_: None,
            strategy=strategy,
        )
        trained[name] = (trainer, trainer.train())
    return trained


def test_replicas_draw_their_slices_of_the_global_batch_noise():
    config = tiny_config()
    strategy = mirrored()
    with strategy.scope():
        model = build_model(config, (12, 12, 1))
    one_device = build_model(config, (12, 12, 1))
    per_replica = strategy.run(tf.function(lambda: replica_noise(model, 3)))
    first, second = (np.asarray(v) for v in strategy.experimental_local_results(per_replica))
    expected = one_device.sample_noise(6).numpy()
    np.testing.assert_array_equal(np.concatenate([first, second], axis=1), expected)
    assert not np.allclose(first, second)
    # Both replicas advanced their copy of the generator state like one device did.
    for copy in local_copies(strategy, model.noise_state):
        np.testing.assert_array_equal(copy, one_device.noise_state.numpy())


def test_one_mirrored_step_equals_one_single_device_step(runs):
    one, two = runs["one"][0], runs["two"][0]
    assert int(one.step) == int(two.step) == 1
    for a, b in zip(one.model.weights, two.model.weights):
        for copy in local_copies(two.strategy, b):  # every replica holds the same update
            np.testing.assert_allclose(copy, a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    for a, b in zip(one.optimizer.variables, two.optimizer.variables):
        for copy in local_copies(two.strategy, b):
            np.testing.assert_allclose(copy, a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)


def test_metrics_of_two_replicas_equal_those_of_one(runs):
    (one, one_results), (two, two_results) = runs["one"], runs["two"]
    one_scalars = scalar_summaries(one.run.events_dir("train"))
    two_scalars = scalar_summaries(two.run.events_dir("train"))
    assert set(one_scalars) >= {"loss", "L_x", "L_z", "grad_norm"}
    for tag in ("loss", "L_x", "L_z", "grad_norm", "learning_rate"):
        np.testing.assert_allclose(two_scalars[tag], one_scalars[tag], rtol=1e-5, err_msg=tag)
    assert one_results.keys() == two_results.keys()
    for name, value in one_results.items():  # the test-set bound (50 images, 2 replicas)
        np.testing.assert_allclose(two_results[name], value, rtol=1e-5, err_msg=name)


def test_metrics_are_per_image_means_over_all_replicas():
    strategy = mirrored()
    with strategy.scope():
        mean = keras.metrics.Mean()
    # Replica 0 sees 3 images, replica 1 one image (a last, smaller test batch): padded to
    # one shape, the padding weighted 0.
    values = tf.constant([[1.0, 2.0, 3.0], [10.0, 0.0, 0.0]])
    weights = tf.constant([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])

    @tf.function
    def update():
        def on_replica():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            mean.update_state(values[replica], weights[replica])

        strategy.run(on_replica)

    update()
    assert float(mean.result()) == pytest.approx(16.0 / 4)  # not (2 + 10) / 2


def test_checkpoint_of_mirrored_run_restores_without_strategy(runs):
    two = runs["two"][0]
    config, model, path = load_trained_model({}, two.run.path)
    assert path.endswith("ckpt-1")
    for a, b in zip(two.model.trainable_weights, model.trainable_weights):
        np.testing.assert_array_equal(local_copies(two.strategy, a)[0], b.numpy(), a.path)
    # The noise stream as saved after the one step (evaluation drew from it since).
    np.testing.assert_array_equal(model.noise_state.numpy(), [config.seed, 1])


def test_checkpoint_of_single_device_run_restores_under_mirrored(runs):
    one = runs["one"][0]
    restored = Trainer(
        one.config,
        RunDir(one.run.path),
        tiny_image_data(),
        log=lambda *_: None,
        strategy=mirrored(),
    )
    assert restored.restore_latest() == 1
    for a, b in zip(one.model.trainable_weights, restored.model.trainable_weights):
        for copy in local_copies(restored.strategy, b):
            np.testing.assert_array_equal(copy, a.numpy(), a.path)
    for copy in local_copies(restored.strategy, restored.model.noise_state):
        np.testing.assert_array_equal(copy, [one.config.seed, 1])
    for a, b in zip(one.optimizer.variables, restored.optimizer.variables):
        for copy in local_copies(restored.strategy, b):
            np.testing.assert_array_equal(copy, a.numpy(), a.path)


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"batch_size": 21}, "--batch_size=21 does not split evenly over the 2 replicas"),
        ({"jit_compile": True}, "--jit_compile does not work with the 2 replicas"),
    ],
)
def test_settings_that_do_not_fit_the_replicas_are_errors(tmp_path, overrides, message):
    with pytest.raises(DrawError, match=message):
        Trainer(
            tiny_config(**overrides),
            RunDir(str(tmp_path / "run")),
            tiny_image_data(),
            strategy=mirrored(),
        )
    assert not os.path.exists(tmp_path / "run")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_train_to_the_same_parameters_as_one_device(tmp_path):
    overrides = ["train_iters=4", "checkpoint_every=2", "log_every=2", "image_every=1000"]
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    worker_tmp = tmp_path / "worker_tmp"
    worker_tmp.mkdir()
    workers = []
    for index in range(2):
        env = dict(os.environ, TMPDIR=str(worker_tmp))
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.multi_worker_main",
                    str(tmp_path / "run"),
                    str(tmp_path / f"worker{index}.npz"),
                    *overrides,
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    # Meanwhile, the same training on one device, in this process.
    values = {k: json.loads(v) for k, v in (o.split("=") for o in overrides)}
    single = Trainer(
        tiny_config(**values),
        RunDir(str(tmp_path / "single")),
        tiny_image_data(),
        log=lambda *_: None,
        strategy=tf.distribute.OneDeviceStrategy("/cpu:0"),
    )
    single_results = single.train()
    try:
        outputs = [worker.communicate(timeout=240)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert [bool(first["chief"]), bool(second["chief"])] == [True, False]
    assert first.files == second.files
    for name in set(first.files) - {"chief"}:
        np.testing.assert_array_equal(first[name], second[name], name)
    for w in single.model.weights:
        np.testing.assert_allclose(first[f"weight/{w.path}"], w.numpy(), rtol=1e-5, atol=1e-6)
    for name, value in single_results.items():
        np.testing.assert_allclose(first[f"result/{name}"], value, rtol=1e-5)
    # Only the chief wrote the run; the other worker's throwaway checkpoints are gone.
    run = RunDir(str(tmp_path / "run"))
    assert sorted(os.listdir(run.checkpoint_dir)) == [
        "checkpoint",
        "ckpt-2.data-00000-of-00001",
        "ckpt-2.index",
        "ckpt-4.data-00000-of-00001",
        "ckpt-4.index",
    ]
    assert len(os.listdir(run.events_dir("train"))) == 1
    assert os.listdir(worker_tmp) == []


@pytest.mark.parametrize(
    "args,env,fragment",
    [
        (["--strategy=multi_worker"], {"TF_CONFIG": "{not json"}, "TF_CONFIG is not a valid"),
        (["--tpu=my-tpu"], {}, "--tpu=my-tpu needs --strategy=tpu"),
    ],
)
def test_bad_strategy_settings_are_one_line_errors(tmp_path, args, env, fragment):
    result = run_script("train.py", f"--logdir={tmp_path}/run", *args, env=env)
    assert_one_line_error(result, fragment)
    assert not os.path.exists(tmp_path / "run")


def _compiled_model(strategy, image_shape):
    """A tiny model and its Adam, built under strategy as the Trainer builds them."""
    config = tiny_config()
    with strategy.scope():
        model = build_model(config, image_shape)
        model.build_variables()
        model.compile(optimizer=make_optimizer(config))
        model.optimizer.build(model.trainable_variables)
    return model


def test_mirrored_strategy_on_one_device_trains(tiny_data):
    """One replica under MirroredStrategy: Keras updates through a merge_call there, which
    cannot run inside tf.cond; the step applies the update outside the replicas."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    model = _compiled_model(strategy, tiny_data.image_shape)
    before = [w.numpy().copy() for w in model.trainable_weights]
    x = tf.constant(tiny_data.train_images[:20] / 255.0, tf.float32)
    labels = tf.constant(tiny_data.train_labels[:20])
    logs = TrainStep(model, strategy)((x, labels))
    assert bool(logs["finite"]) and bool(logs["weights_finite"])
    assert any(np.abs(w.numpy() - b).max() > 0 for w, b in zip(model.trainable_weights, before))


def test_a_nonfinite_step_on_two_replicas_updates_nothing(tiny_data):
    """The guard holds under a strategy: a NaN image on one replica leaves the weights,
    Adam and the metrics of every replica as they were."""
    strategy = mirrored()
    model = _compiled_model(strategy, tiny_data.image_shape)
    x = tiny_data.train_images[:20] / 255.0
    x[13] = np.nan  # an image of the second replica
    batches = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors((x.astype(np.float32), tiny_data.train_labels[:20]))
    )
    before = [local_copies(strategy, w) for w in model.trainable_weights]
    logs = TrainStep(model, strategy)(next(iter(batches)))
    assert not bool(logs["finite"]) and not np.isfinite(float(logs["grad_norm"]))
    assert [int(i) for i in local_copies(strategy, model.optimizer.iterations)] == [0, 0]
    for w, copies in zip(model.trainable_weights, before):
        for copy, old in zip(local_copies(strategy, w), copies):
            np.testing.assert_array_equal(copy, old, w.path)
    for metric in model.metrics:
        assert [float(c) for c in local_copies(strategy, metric.count)] == [0, 0], metric.name
