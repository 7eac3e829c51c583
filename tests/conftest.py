"""The suite's fixtures and pytest hooks; the plain helpers they use are in tests/helpers.py."""

import pytest

from tests.helpers import (
    LOGICAL_CPUS,
    TINY_TRAIN_FLAGS,
    tiny_image_data,
    write_tiny_mnist,
)


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


def pytest_configure(config):
    """Splits the CPU into LOGICAL_CPUS logical devices (for the tf.distribute tests),
    which must happen before TensorFlow initialises its devices. Ops without a device
    still run on /cpu:0, so the other tests are unaffected."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * LOGICAL_CPUS
    )


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory):
    return write_tiny_mnist(tmp_path_factory.mktemp("tiny_mnist"))


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_mnist_dir):
    """A run of the tiny configuration trained to step 10: checkpoints at 5 and 10. Tests
    copy it before changing it."""
    from draw.data import load_dataset
    from draw.run_dir import RunDir
    from draw.training import Trainer
    from tests.script_runner import config_from_flags

    path = str(tmp_path_factory.mktemp("trained") / "run")
    config = config_from_flags(
        f"--data_dir={tiny_mnist_dir}", "--train_iters=10", *TINY_TRAIN_FLAGS
    )
    Trainer(config, RunDir(path), load_dataset(config), log=lambda *_: None).train()
    return path
