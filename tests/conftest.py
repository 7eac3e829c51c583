"""Shared fixtures: tiny configurations and tiny image data the tests make themselves."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from data import ImageData  # noqa: E402
from draw.config import make_config  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_config(**overrides):
    """A model small enough to train in seconds on 12x12 images."""
    values = dict(
        T=3,
        enc_size=32,
        dec_size=32,
        z_size=4,
        read_n=3,
        write_n=3,
        batch_size=20,
        train_iters=30,
        log_every=10,
        image_every=10,
        checkpoint_every=10,
        seed=1,
    )
    values.update(overrides)
    return make_config("jang", **values)


def bar_images(n, height=12, width=12, channels=1, seed=0):
    """uint8 `[n, H, W, C]` images of one bright horizontal or vertical bar each."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, height, width, channels), dtype=np.uint8)
    labels = rng.integers(0, 2, size=n).astype(np.int32)
    for i in range(n):
        if labels[i]:
            images[i, rng.integers(height), :, :] = 255
        else:
            images[i, :, rng.integers(width), :] = 255
    return images, labels


def tiny_image_data():
    """200 training and 50 test bar images, 12x12x1, two classes."""
    train_images, train_labels = bar_images(200, seed=0)
    test_images, test_labels = bar_images(50, seed=1)
    return ImageData("bars", train_images, train_labels, test_images, test_labels, "test")


@pytest.fixture
def tiny_data():
    return tiny_image_data()


@pytest.fixture
def usual_signals():
    """SIGINT raising KeyboardInterrupt and SIGTERM terminating, as in a terminal, for the
    tests of signal handling, whatever started the suite (a background job of a shell
    script starts with SIGINT ignored); the dispositions found are put back afterwards."""
    import signal

    found = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for signum, handler in found.items():
        signal.signal(signum, handler)


LOGICAL_CPUS = 2


def pytest_configure(config):
    """Splits the CPU into LOGICAL_CPUS logical devices (for the tf.distribute tests),
    which must happen before TensorFlow initialises its devices. Ops without a device
    still run on /cpu:0, so the other tests are unaffected."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * LOGICAL_CPUS
    )


def write_idx(path, array):
    """Writes a uint8 array as a gzipped IDX file (magic 0x08 0x<ndim>, big-endian dims)."""
    import gzip

    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_tiny_mnist(folder, n_train=100, n_test=20):
    """A --data_dir of the four MNIST IDX files holding the first real test images
    (n_train of them as the training split, the next n_test as the test split)."""
    from data import mnist

    images = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-images-idx3-ubyte.gz"), "images")
    labels = mnist.read_idx(os.path.join(mnist.EMBEDDED_DIR, "t10k-labels-idx1-ubyte.gz"), "labels")
    os.makedirs(folder, exist_ok=True)
    splits = {"train": slice(0, n_train), "t10k": slice(n_train, n_train + n_test)}
    for prefix, part in splits.items():
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images[part])
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels[part])
    return str(folder)


# train.py flags of a model that trains in a fraction of a second per step on 28x28 images.
TINY_TRAIN_FLAGS = [
    "--T=2",
    "--enc_size=16",
    "--dec_size=16",
    "--z_size=2",
    "--read_n=2",
    "--write_n=2",
    "--batch_size=10",
    "--log_every=5",
    "--image_every=10",
    "--checkpoint_every=5",
    "--keep_checkpoints=10",
    "--seed=3",
]


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny_mnist"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_mnist_dir):
    """A run of the tiny configuration trained to step 10: checkpoints at 5 and 10. Tests
    copy it before changing it."""
    from data import load_dataset
    from draw.run_dir import RunDir
    from draw.training import Trainer
    from tests.script_runner import config_from_flags

    path = str(tmp_path_factory.mktemp("trained") / "run")
    config = config_from_flags(
        f"--data_dir={tiny_mnist_dir}", "--train_iters=10", *TINY_TRAIN_FLAGS
    )
    Trainer(config, RunDir(path), load_dataset(config), log=lambda *_: None).train()
    return path
