"""Faults during training: a non-finite step, SIGINT/SIGTERM, an unreadable newest
checkpoint, a full disk, a run started over with --overwrite."""

import glob
import os
import resource
import shutil
import signal

import numpy as np
import pytest
import tensorflow as tf

from draw.errors import DrawError, Interrupted
from draw.run_dir import RunDir, listed_checkpoints, load_trained_model
from draw.training import StopSignals
from tests.helpers import TINY_TRAIN_FLAGS, checksums, nan_at, tiny_trainer, truncate
from tests.script_runner import run_in_process


def _scalars(folder, tag):
    """{step: value} of a TensorBoard scalar in the event files of folder."""
    values = {}
    for path in glob.glob(os.path.join(folder, "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


def test_non_finite_step_stops_without_saving(tmp_path, tiny_data, monkeypatch):
    nan_at(monkeypatch, 15)
    trainer = tiny_trainer(tmp_path / "run", tiny_data, train_iters=30)
    folder = trainer.run.checkpoint_dir
    saved, save = {}, trainer.save

    def save_and_checksum():  # the files of each checkpoint as it was written
        path = save()
        saved[path] = checksums(folder, os.path.basename(path) + ".")
        return path

    trainer.save = save_and_checksum
    with pytest.raises(
        DrawError, match=r"not finite at step 15 .*last good checkpoint is .*ckpt-10"
    ):
        trainer.train()
    assert [os.path.basename(p) for p in saved] == ["ckpt-10"]  # nothing saved after
    assert listed_checkpoints(folder) == list(saved)
    for path, sums in saved.items():
        assert checksums(folder, os.path.basename(path) + ".") == sums  # unchanged
    assert int(trainer.step) == 14 and int(trainer.optimizer.iterations) == 14  # not applied
    assert all(np.isfinite(w.numpy()).all() for w in trainer.model.weights)


def test_skip_nonfinite_skips_the_batch_and_counts_it(tmp_path, tiny_data, monkeypatch):
    nan_at(monkeypatch, 15)
    trainer = tiny_trainer(tmp_path / "run", tiny_data, train_iters=30, skip_nonfinite=True)
    results = trainer.train()
    assert int(trainer.step) == 30 and int(trainer.optimizer.iterations) == 29
    assert np.isfinite(results["loss"])
    assert all(np.isfinite(w.numpy()).all() for w in trainer.model.weights)
    skipped = _scalars(trainer.run.events_dir("train"), "skipped_nonfinite_batches")
    assert skipped == {10: 0, 20: 1, 30: 0}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_saves_a_checkpoint_and_stops(tmp_path, tiny_data, signum, usual_signals):
    trainer = tiny_trainer(tmp_path / "run", tiny_data, train_iters=30)
    train_fn = trainer.train_fn

    def signalled_train_fn(batch):  # the signal arrives while step 7 is computed
        if int(trainer.step) == 6:
            os.kill(os.getpid(), signum)
        return train_fn(batch)

    trainer.train_fn = signalled_train_fn
    with pytest.raises(Interrupted, match=f"stopped by {signum.name} at step 7;.*ckpt-7;") as e:
        trainer.train()
    assert e.value.exit_status == 128 + signum
    assert os.path.basename(listed_checkpoints(trainer.run.checkpoint_dir)[-1]) == "ckpt-7"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_first_signal_is_recorded_and_a_second_acts_as_usual(usual_signals):
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.received == signal.SIGINT and stop.name == "SIGINT"
        with pytest.raises(KeyboardInterrupt):  # the usual handler is back for the second
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_restore_from_previous_falls_back_and_deletes_nothing(
    capfd, tmp_path, tiny_mnist_dir, trained_run
):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run, run)
    truncate(f"{run}/checkpoints/ckpt-10.data-00000-of-00001")
    damaged = checksums(f"{run}/checkpoints", "ckpt-10")
    with pytest.raises(DrawError, match="ckpt-10.*--restore_from_previous"):
        load_trained_model({}, run)
    _, _, path = load_trained_model({}, run, restore_from_previous=True)
    assert path.endswith("ckpt-5")
    out_dir = f"--out_dir={tmp_path}/samples"
    args = ["--stochastic", "--num_samples=4", out_dir, "--restore_from_previous"]
    status, out, err = run_in_process(capfd, "generate.py", f"--logdir={run}", *args)
    assert status == 0 and "ckpt-5" in out, err
    status, out, err = run_in_process(
        capfd,
        "train.py",
        f"--logdir={run}",
        f"--data_dir={tiny_mnist_dir}",
        "--train_iters=8",
        "--restore_from_previous",
    )
    assert status == 0, err
    assert "skipping a checkpoint that does not read" in out and "ckpt-5 at step 5" in out
    assert checksums(f"{run}/checkpoints", "ckpt-10") == damaged  # kept for inspection
    listed = [os.path.basename(p) for p in listed_checkpoints(f"{run}/checkpoints")]
    assert listed == ["ckpt-5", "ckpt-10", "ckpt-8"]  # ckpt-8 is now the latest


def test_full_disk_is_one_error_and_keeps_the_last_checkpoint(
    capfd, tmp_path, tiny_mnist_dir, trained_run
):
    """A write failing with an OS error (here EFBIG: a file-size limit stands in for a
    full disk, which a test cannot make without privileges) mid-training."""
    run = str(tmp_path / "run")
    shutil.copytree(trained_run, run)
    before = checksums(run)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, limits[1]))
    try:
        status, out, err = run_in_process(
            capfd, "train.py", f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=15"
        )
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert "cannot save a checkpoint" in lines[0] and "ckpt-10" in lines[0], lines[0]
    after = checksums(run)
    # config.json keeps the stored values: this invocation saved no checkpoint.
    assert RunDir(run).read()[0].train_iters == 10
    assert {p: after.get(p) for p in before} == before  # every file that was there is intact
    assert os.path.basename(listed_checkpoints(f"{run}/checkpoints")[-1]) == "ckpt-10"


def test_overwrite_starts_a_new_run_on_purpose(capfd, tmp_path, tiny_mnist_dir, trained_run):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run, run)
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS]
    status, _, err = run_in_process(capfd, "train.py", *args, "--T=3", "--train_iters=5")
    assert status == 2 and "--overwrite" in err
    status, out, err = run_in_process(
        capfd, "train.py", *args, "--T=3", "--train_iters=5", "--overwrite"
    )
    assert status == 0, err
    assert "from step 0 to 5" in out
    assert RunDir(run).read()[0].T == 3
    assert [os.path.basename(p) for p in listed_checkpoints(f"{run}/checkpoints")] == ["ckpt-5"]
    assert not os.path.exists(f"{run}/checkpoints/ckpt-10.index")
    listed = sorted(os.listdir(run))
    events = [name for name in listed if name.startswith("events.out.tfevents.")]
    assert len(events) == 1  # the new run's configuration (HParams), not the old one's
    assert [n for n in listed if n not in events] == ["checkpoints", "config.json", "test", "train"]
