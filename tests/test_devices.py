"""Device reporting names the devices the strategy actually uses, whatever the machine has:
the logic is checked on lists of TensorFlow logical devices, and on this machine against
the device TensorFlow places an op on."""

import tensorflow as tf

from draw import distribute
from draw.configure import make_config
from tests.helpers import TINY_TRAIN_FLAGS
from tests.script_runner import run_in_process


def _logical(*names):
    return [
        tf.config.LogicalDevice(f"/job:localhost/replica:0/task:0/device:{n}", n[:3]) for n in names
    ]


def _listing(monkeypatch, *names):
    """Makes tf.config.list_logical_devices list these devices (as on a machine with them)."""
    devices = _logical(*names)

    def list_logical_devices(device_type=None):
        return [d for d in devices if device_type in (None, d.device_type)]

    monkeypatch.setattr(tf.config, "list_logical_devices", list_logical_devices)
    return devices


def test_default_strategy_trains_on_the_first_gpu_when_there_is_one(monkeypatch):
    config = make_config("jang")
    logical = _listing(monkeypatch, "CPU:0", "GPU:0", "GPU:1")
    strategy = distribute.make_strategy(config)
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert list(strategy.extended.worker_devices) == [logical[1].name]
    line = distribute.describe(strategy, "default")
    assert line == "training on GPU:0 (--strategy=default, 1 replica); 2 GPU(s) visible"


def test_default_strategy_without_a_gpu_names_the_cpu(monkeypatch):
    _listing(monkeypatch, "CPU:0", "CPU:1")
    strategy = distribute.make_strategy(make_config("jang"))
    assert strategy is tf.distribute.get_strategy()
    line = distribute.describe(strategy, "default")
    assert line.startswith("training on CPU:0 (--strategy=default, 1 replica); no GPU")


class _FakeExtended:
    def __init__(self, devices):
        self.worker_devices = devices


class _FakeStrategy:
    """A strategy's two attributes describe reads, as a TPUStrategy on 8 cores has them."""

    def __init__(self, devices):
        self.extended = _FakeExtended(devices)
        self.num_replicas_in_sync = len(devices)


def test_strategies_with_devices_name_them_all():
    tpu = _FakeStrategy([f"/job:worker/replica:0/task:0/device:TPU:{i}" for i in range(8)])
    line = distribute.describe(tpu, "tpu", _logical("CPU:0"))
    assert line.startswith("training on " + ", ".join(f"TPU:{i}" for i in range(8)))
    assert "(--strategy=tpu, 8 replicas)" in line
    # A worker's devices, of a cluster of 3 workers: the replicas count the cluster.
    worker = _FakeStrategy(["/job:worker/replica:0/task:0/device:CPU:0"])
    worker.num_replicas_in_sync = 3
    line = distribute.describe(worker, "multi_worker", _logical("CPU:0"))
    assert line.startswith("training on CPU:0 per worker (--strategy=multi_worker, 3 replicas)")
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    mirrored = tf.distribute.MirroredStrategy(cpus)
    line = distribute.describe(mirrored, "mirrored")
    assert line.startswith("training on CPU:0, CPU:1 (--strategy=mirrored, 2 replicas)"), line


def test_default_placement_is_where_tensorflow_places_an_op():
    placed = tf.constant(1.0) + 1.0
    expected = distribute.default_placement(tf.config.list_logical_devices())
    placed, expected = (tf.DeviceSpec.from_string(d) for d in (placed.device, expected))
    assert (placed.device_type, placed.device_index) == (
        expected.device_type,
        expected.device_index,
    )


def test_train_prints_its_devices_and_strategy_first(capfd, tmp_path, tiny_mnist_dir):
    args = [f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS, "--train_iters=1"]
    status, out, err = run_in_process(capfd, "train.py", f"--logdir={tmp_path}/run", *args)
    assert status == 0, err
    first = out.splitlines()[0]
    logical = tf.config.list_logical_devices()
    device = distribute.default_placement(logical).split("device:")[-1]
    assert first.startswith(f"training on {device} (--strategy=default, 1 replica); "), first
    if not any(d.device_type == "GPU" for d in logical):
        assert "no GPU visible (for an NVIDIA GPU: pip install tensorflow[and-cuda])" in first
