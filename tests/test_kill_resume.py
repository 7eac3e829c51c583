"""train.py killed at any moment resumes from its latest complete checkpoint and ends
where an uninterrupted run ends: same step count, same parameters, every checkpoint
readable. SIGTERM saves a checkpoint and exits with a message and status 143."""

import os
import selectors
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from data import load_dataset
from draw.run_dir import RunDir, listed_checkpoints, restore
from draw.training import Trainer
from tests.conftest import REPO, TINY_TRAIN_FLAGS
from tests.script_runner import config_from_flags, run_in_process
from tests.test_cli import checksums

DRIVER = ["-m", "tests.fault_driver"]
TRAIN_ITERS = 20


def _launch(run_dir, data_dir, pause=None, resume_file=""):
    command = [os.path.join(REPO, "train.py")]
    if pause:
        command = [*DRIVER, *pause]
    flags = [f"--logdir={run_dir}", f"--data_dir={data_dir}", f"--train_iters={TRAIN_ITERS}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DRAW_RESUME_FILE": resume_file}
    return subprocess.Popen(
        [sys.executable, *command, *flags, *TINY_TRAIN_FLAGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def _wait_for_pause(process, timeout=600):
    """Reads the process's stdout until it prints PAUSED; returns what it printed."""
    printed = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=1.0):
                line = process.stdout.readline()
                if not line:
                    break
                printed.append(line)
                if line.strip() == "PAUSED":
                    return "".join(printed)
    process.kill()
    raise AssertionError(f"no pause: {''.join(printed)} {process.stderr.read()}")


def _sigkill(process):
    process.kill()
    process.wait()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL


def _latest(run_dir):
    paths = listed_checkpoints(RunDir(str(run_dir)).checkpoint_dir)
    return os.path.basename(paths[-1]) if paths else None


def _config(data_dir):
    """The configuration train.py builds from the flags of _launch."""
    return config_from_flags(
        f"--data_dir={data_dir}", f"--train_iters={TRAIN_ITERS}", *TINY_TRAIN_FLAGS
    )


@pytest.mark.slow
def test_killed_at_any_moment_resumes_to_the_uninterrupted_result(tmp_path, tiny_mnist_dir):
    run = tmp_path / "run"
    checkpoints = run / "checkpoints"

    # 1. SIGKILL while the first checkpoint is being written: nothing counts as saved.
    process = _launch(run, tiny_mnist_dir, pause=["merge", "5"])
    _wait_for_pause(process)
    assert (checkpoints / "ckpt-5_temp").is_dir()  # the temporary file is there
    _sigkill(process)
    assert _latest(run) is None and not (checkpoints / "ckpt-5.index").exists()

    # 2. SIGKILL after ckpt-10's files are complete but before the list names it.
    process = _launch(run, tiny_mnist_dir, pause=["record", "10"])
    printed = _wait_for_pause(process)
    assert "resumed" not in printed  # the half-written ckpt-5 was not taken for a checkpoint
    assert (checkpoints / "ckpt-10.index").exists()
    _sigkill(process)
    assert _latest(run) == "ckpt-5"

    # 3. SIGTERM in the middle of a checkpoint interval: it saves ckpt-13 and stops.
    resume = tmp_path / "resume"
    process = _launch(run, tiny_mnist_dir, pause=["step", "13"], resume_file=str(resume))
    printed = _wait_for_pause(process)
    assert "resumed from" in printed and "ckpt-5 at step 5" in printed
    process.send_signal(signal.SIGTERM)
    resume.touch()
    out, err = process.communicate(timeout=600)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "stopped by SIGTERM at step 13" in err and "ckpt-13" in err, err
    assert _latest(run) == "ckpt-13"

    # 4. The last invocation runs to the end.
    process = _launch(run, tiny_mnist_dir)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "resumed from" in out and "ckpt-13 at step 13" in out
    assert _latest(run) == f"ckpt-{TRAIN_ITERS}"

    # An uninterrupted run of the same configuration, here in the test process.
    config = _config(tiny_mnist_dir)
    whole = Trainer(
        config, RunDir(str(tmp_path / "whole")), load_dataset(config), log=lambda *_: None
    )
    whole.train()

    # Every listed checkpoint reads and holds its own step; the last equals the whole run
    # (compared as saved: the final evaluation draws noise after the last save).
    restore(whole.checkpoint, whole.last_good)
    resumed = Trainer(config, RunDir(str(run)), load_dataset(config), log=lambda *_: None)
    listed = listed_checkpoints(resumed.run.checkpoint_dir)
    assert [os.path.basename(p) for p in listed] == [
        "ckpt-5",
        "ckpt-10",
        "ckpt-13",
        "ckpt-15",
        f"ckpt-{TRAIN_ITERS}",
    ]
    for path in listed:
        restore(resumed.checkpoint, path)
        assert int(resumed.step) == int(path.rsplit("-", 1)[1])
    assert int(resumed.optimizer.iterations) == TRAIN_ITERS
    for a, b in zip(_state(whole), _state(resumed)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
        assert np.array_equal(a.numpy(), b.numpy()), a.path  # bit-identical on CPU


def _state(trainer):
    """Everything a checkpoint holds: weights, optimizer slots, noise generator state."""
    return [*trainer.model.weights, *trainer.optimizer.variables, trainer.model.noise_seed.state]


def test_sigkill_during_a_checkpoint_write_keeps_the_last_good_one(tmp_path, tiny_mnist_dir, capfd):
    """The default-suite version of the test above: one kill, mid-write, and a resume."""
    run = tmp_path / "run"
    checkpoints = run / "checkpoints"
    process = _launch(run, tiny_mnist_dir, pause=["merge", "10"])
    _wait_for_pause(process)
    assert (checkpoints / "ckpt-10_temp").is_dir() and _latest(run) == "ckpt-5"
    before = checksums(checkpoints, "ckpt-5")
    _sigkill(process)
    assert checksums(checkpoints, "ckpt-5") == before
    status, out, err = run_in_process(
        capfd,
        "train.py",
        f"--logdir={run}",
        f"--data_dir={tiny_mnist_dir}",
        "--train_iters=15",
        *TINY_TRAIN_FLAGS,
    )
    assert status == 0, err
    assert "ckpt-5 at step 5" in out
    config = _config(tiny_mnist_dir)
    trainer = Trainer(config, RunDir(str(run)), load_dataset(config), log=lambda *_: None)
    listed = listed_checkpoints(trainer.run.checkpoint_dir)
    assert [os.path.basename(p) for p in listed] == ["ckpt-5", "ckpt-10", "ckpt-15"]
    for path in listed:
        restore(trainer.checkpoint, path)
        assert int(trainer.step) == int(trainer.optimizer.iterations) == int(path.rsplit("-", 1)[1])
