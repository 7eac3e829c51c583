"""train.py says first which devices it trains on, under which strategy."""

from tests.conftest import TINY_TRAIN_FLAGS
from tests.script_runner import run_in_process


def test_train_prints_its_devices_and_strategy_first(capfd, tmp_path, tiny_mnist_dir):
    args = [f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS, "--train_iters=1"]
    status, out, err = run_in_process(capfd, "train.py", f"--logdir={tmp_path}/run", *args)
    assert status == 0, err
    first = out.splitlines()[0]
    assert first.startswith("training on CPU:0 (--strategy=default, 1 replica); "), first
    assert "no GPU visible (for an NVIDIA GPU: pip install tensorflow[and-cuda])" in first
