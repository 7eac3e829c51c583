"""train.py says first which devices it trains on, under which strategy."""

from tests.conftest import LOGICAL_CPUS, TINY_TRAIN_FLAGS
from tests.script_runner import run_in_process


def test_train_prints_its_devices_and_strategy_first(capfd, tmp_path, tiny_mnist_dir):
    args = [f"--logdir={tmp_path}/run", f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS]
    status, out, err = run_in_process(capfd, "train.py", *args, "--train_iters=1")
    assert status == 0, err
    first = out.splitlines()[0]
    # The test session splits the CPU into logical devices; the default strategy uses one.
    assert first.startswith("training on CPU:0 (--strategy=default, 1 replica); "), first
    assert "no GPU visible (for an NVIDIA GPU: pip install tensorflow[and-cuda])" in first
    status, out, err = run_in_process(
        capfd, "train.py", *args, "--train_iters=1", f"--logdir={tmp_path}/m", "--strategy=mirrored"
    )
    assert status == 0, err
    devices = ", ".join(f"CPU:{i}" for i in range(LOGICAL_CPUS))
    expected = f"training on {devices} (--strategy=mirrored, {LOGICAL_CPUS} replicas); "
    assert out.splitlines()[0].startswith(expected)
