"""One writer per run, and what killed writers leave: two real train.py processes on one
run, generate.py and evaluate.py reading a run while it trains, a killed generate.py, the
leftovers of a killed trainer, the lock itself."""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from draw.errors import DrawError
from draw.files import remove_leftovers, temporary_file
from draw.run_dir import LOCK_NAME, RunDir, RunLock, listed_checkpoints, restore
from tests.helpers import (
    FAULT_DRIVER,
    LAUNCH_TRAIN_ITERS,
    REPO,
    assert_one_line_error,
    checksums,
    launch_training,
    launched_trainer,
    run_script,
    wait_for_pause,
)
from tests.script_runner import run_in_process


def test_a_second_trainer_is_refused_while_readers_work_and_the_first_finishes(
    tmp_path, tiny_mnist_dir, capfd
):
    run = tmp_path / "run"
    resume = tmp_path / "resume"
    first = launch_training(run, tiny_mnist_dir, pause=["step", "8"], resume_file=str(resume))
    try:
        wait_for_pause(first)  # trained to step 7, ckpt-5 saved, holding the lock
        assert (run / LOCK_NAME).read_text().split()[0] == str(first.pid)
        before = checksums(run)

        started = time.monotonic()
        second = run_script("train.py", f"--logdir={run}", f"--data_dir={tiny_mnist_dir}")
        assert_one_line_error(second, f"being trained by process {first.pid}", LOCK_NAME)
        assert second.returncode == 2 and time.monotonic() - started < 120
        again = run_script(
            "train.py", f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--overwrite"
        )
        assert_one_line_error(again, f"being trained by process {first.pid}")
        assert checksums(run) == before  # neither touched the run

        # Readers may read the run meanwhile; they write only into their own folders.
        status, out, err = run_in_process(
            capfd, "generate.py", f"--logdir={run}", "--stochastic", "--num_samples=4"
        )
        assert status == 0 and "ckpt-5" in out, err
        status, out, err = run_in_process(
            capfd,
            "generate.py",
            f"--logdir={run}",
            "--stochastic",
            "--num_samples=9",
            "--overwrite",
        )
        assert status == 0, err
        evaluated = run_script("evaluate.py", f"--logdir={run}")
        assert evaluated.returncode == 0 and "ckpt-5" in evaluated.stdout, evaluated.stderr
        after = checksums(run)
        assert {p: after[p] for p in before} == before  # every file of the run unchanged
        assert all(
            os.path.relpath(p, run).split(os.sep)[0] in ("samples", "evaluations")
            for p in set(after) - set(before)
        )
    finally:
        resume.touch()
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert not (run / LOCK_NAME).exists()  # released and removed

    trainer = launched_trainer(run, tiny_mnist_dir)
    listed = listed_checkpoints(trainer.run.checkpoint_dir)
    assert [os.path.basename(p) for p in listed] == [
        f"ckpt-{step}" for step in range(5, LAUNCH_TRAIN_ITERS + 1, 5)
    ]
    for path in listed:  # every listed checkpoint reads, one history
        restore(trainer.checkpoint, path)
        assert int(trainer.step) == int(trainer.optimizer.iterations) == int(path.split("-")[-1])
    assert RunDir(str(run)).read()[0] == trainer.config


def test_a_killed_generate_leaves_no_file_taken_for_a_result(
    tmp_path, tiny_mnist_dir, trained_run, capfd
):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run, run)
    samples = tmp_path / "samples"
    flags = [f"--logdir={run}", f"--out_dir={samples}", "--stochastic", "--num_samples=16"]
    process = subprocess.Popen(
        [sys.executable, *FAULT_DRIVER, "rename", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    wait_for_pause(process)  # every output complete in its temporary file, none renamed
    process.kill()
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    left = sorted(os.listdir(samples))
    assert len(left) == 4 and all(n.startswith(".") and n.endswith(".partial") for n in left)

    time.sleep(1.1)  # older than a temporary file being created (outputs.remove_leftovers)
    args = [f"--logdir={run}", f"--out_dir={samples}", "--stochastic", "--num_samples=16"]
    status, out, err = run_in_process(capfd, "generate.py", *args)  # no --overwrite needed
    assert status == 0, err
    names = ["stochastic.gif", "stochastic.png", "stochastic_canvases.npy", "stochastic_z.npy"]
    assert sorted(os.listdir(samples)) == names  # the leftovers are gone
    assert np.load(samples / "stochastic_canvases.npy").shape[1] == 16
    assert Image.open(samples / "stochastic.png").size[0] > 0


def test_a_killed_trainers_leftovers_are_removed_at_the_next_start(
    tmp_path, tiny_mnist_dir, trained_run, capfd
):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "checkpoints" / "ckpt-15_temp").mkdir()  # a save TensorFlow had not finished
    (run / "checkpoints" / "ckpt-15_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(
        b"x" * 100
    )
    (run / ".overwritten-abc123").mkdir()  # an --overwrite cut short
    (run / ".config.json.abc123.partial").write_text("{")  # a config.json being written
    (run / LOCK_NAME).write_text("999999 elsewhere\n")  # a killed trainer's (unlocked) lock
    checkpoints = checksums(run / "checkpoints", "ckpt-10")
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=15"]
    status, out, err = run_in_process(capfd, "train.py", *args)
    assert status == 0, err
    assert "ckpt-10 at step 10" in out
    # The run's own files; the configuration's event file (HParams) sits beside them.
    names = [n for n in os.listdir(run) if not n.startswith("events.out.tfevents.")]
    assert sorted(names) == ["checkpoints", "config.json", "test", "train"]
    assert not (run / "checkpoints" / "ckpt-15_temp").exists()
    assert checksums(run / "checkpoints", "ckpt-10") == checkpoints
    listed = [os.path.basename(p) for p in listed_checkpoints(str(run / "checkpoints"))]
    assert listed == ["ckpt-5", "ckpt-10", "ckpt-15"]


def test_the_lock_names_its_holder_and_is_released_by_a_dying_holder(tmp_path):
    run = str(tmp_path / "run")
    with RunLock(run) as lock:
        assert open(lock.path).read().split()[0] == str(os.getpid())
        with pytest.raises(DrawError, match=f"being trained by process {os.getpid()}"):
            RunLock(run).acquire()  # another open file: flock refuses it, even here
    assert os.listdir(run) == []  # the holder removes the file when it releases it
    # A holder that died (here: a child process killed while holding it) holds nothing.
    pid = os.fork()
    if pid == 0:
        try:
            RunLock(run).acquire()
            time.sleep(60)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(run, LOCK_NAME)) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    with pytest.raises(DrawError, match=f"process {pid}"):
        RunLock(run).acquire()
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with RunLock(run):  # at once: the kernel released the dead holder's lock
        pass


def test_leftovers_of_live_writers_are_kept(tmp_path):
    folder = str(tmp_path)
    with temporary_file(folder, "a.npy") as live:
        dead = os.path.join(folder, ".b.npy.xyz.partial")
        open(dead, "w").close()
        old = time.time() - 10
        os.utime(live, (old, old))
        os.utime(dead, (old, old))
        assert remove_leftovers(folder) == [dead]  # the live writer's file stays
        assert os.path.exists(live)
        fd = os.open(live, os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    assert os.listdir(folder) == []


def test_a_run_stored_before_adam_epsilon_and_lstm_init_resumes_with_its_own_values(
    tmp_path, tiny_mnist_dir, trained_run, capfd
):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    stored = json.loads((run / "config.json").read_text())
    del stored["config"]["adam_epsilon"], stored["config"]["lstm_init"]
    (run / "config.json").write_text(json.dumps(stored))
    config, _ = RunDir(str(run)).read()
    assert (config.adam_epsilon, config.lstm_init) == (1e-7, "keras")
    args = [f"--logdir={run}", "--stochastic", "--num_samples=4"]
    status, out, err = run_in_process(capfd, "generate.py", *args)
    assert status == 0 and "ckpt-10" in out, err
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=12"]
    status, out, err = run_in_process(capfd, "train.py", *args)
    assert status == 0 and "ckpt-10 at step 10" in out, err
    config, _ = RunDir(str(run)).read()  # now stored explicitly, with what it trained with
    assert (config.adam_epsilon, config.lstm_init, config.train_iters) == (1e-7, "keras", 12)
