"""What no flag value, damaged input or concurrent reader can do to a run: lose it, save
a checkpoint of NaN or infinite weights, rewrite its config.json in a failed invocation,
report a NaN figure with exit status 0, or make a reader fail; folder names that
TensorFlow reads as patterns; links and folders in the way; a platform without fcntl."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from draw import api, pretrained, run_dir
from draw.app.evaluation import Options, evaluate_and_write
from draw.app.results import write_results
from draw.data import load_dataset
from draw.errors import DrawError
from draw.files import atomic_folder, atomic_write, lock_file, remove_stale_staging
from draw.run_dir import LOCK_NAME, RunDir, RunLock, listed_checkpoints, load_trained_model
from draw.training import Trainer
from tests.helpers import REPO, TINY_TRAIN_FLAGS, checksums, nan_at, run_script, tiny_config
from tests.script_runner import config_from_flags, run_in_process


def _copy(trained_run, tmp_path, name="run"):
    run = str(tmp_path / name)
    shutil.copytree(trained_run, run)
    return run


def _refused(status, err, *fragments):
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --overwrite: every input checked before the old run (or old output) is touched.


def _damage_weights(folder):
    with open(os.path.join(folder, "model.weights.h5"), "wb") as f:
        f.write(b"not an HDF5 file")


def _truncate(path):
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


@pytest.fixture
def shipped_folder(trained_run, tmp_path, monkeypatch):
    """A folder of shipped models holding `tiny`: the trained run's config.json and
    weights, standing in for the package's."""
    folder = tmp_path / "shipped"
    (folder / "tiny").mkdir(parents=True)
    _, model, _ = load_trained_model({}, trained_run)
    model.save_weights(str(folder / "tiny" / "model.weights.h5"))
    shutil.copy(os.path.join(trained_run, "config.json"), folder / "tiny" / "config.json")
    monkeypatch.setattr(pretrained, "FOLDER", str(folder))
    return folder


@pytest.mark.parametrize(
    "damage,fragment",
    [
        (lambda tiny: _damage_weights(tiny), "cannot load the weights"),
        (lambda tiny: _truncate(os.path.join(tiny, "config.json")), "config.json"),
    ],
    ids=["unreadable weights", "truncated config.json"],
)
def test_train_overwrite_from_a_damaged_shipped_model_keeps_the_run(
    capfd, tmp_path, trained_run, tiny_mnist_dir, shipped_folder, damage, fragment
):
    run = _copy(trained_run, tmp_path)
    damage(str(shipped_folder / "tiny"))
    before = checksums(tmp_path)
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--pretrained=tiny", "--overwrite"]
    status, _, err = run_in_process(capfd, "train.py", *args)
    _refused(status, err, fragment)
    assert checksums(tmp_path) == before


GENERATE_DAMAGES = {
    "truncated config.json": lambda run: _truncate(f"{run}/config.json"),
    "truncated .data": lambda run: _truncate(f"{run}/checkpoints/ckpt-10.data-00000-of-00001"),
    "bad data": lambda run: None,  # --reconstruct reads the data of --data_dir
}


@pytest.mark.parametrize("damage", list(GENERATE_DAMAGES))
def test_generate_overwrite_with_a_damaged_input_keeps_every_file(
    capfd, tmp_path, trained_run, damage
):
    run = _copy(trained_run, tmp_path)
    samples, export = tmp_path / "samples", tmp_path / "export"
    for folder in (samples, export):
        folder.mkdir()
        (folder / "stochastic.png").write_bytes(b"an older result")
    GENERATE_DAMAGES[damage](run)
    before = checksums(tmp_path)
    args = [f"--logdir={run}", f"--out_dir={samples}", f"--export={export}", "--overwrite"]
    args += ["--stochastic", "--num_samples=4", "--reconstruct"]
    if damage == "bad data":
        args.append(f"--data_dir={tmp_path}/no-such-mnist")
    status, _, err = run_in_process(capfd, "generate.py", *args)
    assert status == 2, err
    assert checksums(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["export", "run", "samples"]


SHIP_DAMAGES = {
    "truncated config.json": lambda run: _truncate(f"{run}/config.json"),
    "truncated .data": lambda run: _truncate(f"{run}/checkpoints/ckpt-10.data-00000-of-00001"),
    "no data": lambda run: None,  # --data_dir names a folder without MNIST
    "intact": lambda run: None,
}


def test_ship_overwrite_with_a_damaged_input_keeps_the_shipped_model(
    tmp_path, trained_run, shipped_folder
):
    rows = []
    for i, (damage, setup) in enumerate(SHIP_DAMAGES.items()):
        run = _copy(trained_run, tmp_path, f"run{i}")
        setup(run)
        args = [f"--logdir={run}", "--ship=tiny", "--overwrite"]
        args += [f"--data_dir={tmp_path}/no-such-mnist"] if damage == "no data" else []
        rows.append({"args": args, "folder": str(tmp_path)})
    request = tmp_path / "rows.json"
    request.write_text(json.dumps({"script": "evaluate.py", "rows": rows}))
    driver = (  # tests/row_runner.py with the shipped models of the fixture
        "import sys; sys.path.insert(0, sys.argv[3]); from draw import pretrained; "
        "pretrained.FOLDER = sys.argv[2]; from tests import row_runner; "
        "row_runner.main(sys.argv[1])"
    )
    command = [sys.executable, "-c", driver, str(request), str(shipped_folder), REPO]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stderr
    results = [json.loads(line) for line in result.stdout.splitlines()]
    for damage, (status, _, err, changed) in zip(SHIP_DAMAGES, results, strict=True):
        if damage == "intact":  # the harness can see a change: this one ships
            assert status == 0 and changed, err
        else:
            _refused(status, err)
            assert not changed, damage


def test_a_failed_generate_creates_no_output_folder(capfd, tmp_path, trained_run):
    run = _copy(trained_run, tmp_path)
    args = [f"--logdir={run}", f"--out_dir={tmp_path}/new/samples", "--reconstruct"]
    status, _, err = run_in_process(capfd, *["generate.py", *args, f"--data_dir={tmp_path}/none"])
    assert status == 2, err
    assert not os.path.exists(tmp_path / "new")


# Finite weights or no checkpoint; config.json only after success; no lost run.


@pytest.mark.parametrize(
    "flag", ["--learning_rate=1e39", "--adam_epsilon=1e-50", "--beta_1=0.99999999999"]
)
def test_values_are_checked_in_float32(capfd, tmp_path, trained_run, tiny_mnist_dir, flag):
    run = _copy(trained_run, tmp_path)
    before = checksums(run)
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=12", flag]
    status, _, err = run_in_process(capfd, "train.py", *args)
    _refused(status, err, flag.split("=")[0], "as a float32")
    assert checksums(run) == before


def _poisoning_trainer(run, tiny_mnist_dir, *flags, overwrite=False):
    """A Trainer whose learning rate becomes infinite once it has restored the run: its
    first update makes every weight it touches infinite."""
    config = config_from_flags(f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS, *flags)
    run_dir = RunDir(run)
    stored = None if overwrite or not run_dir.exists() else run_dir.read()[1]
    if stored is not None:
        config = run_dir.read()[0].replace(
            train_iters=config.train_iters, checkpoint_every=config.checkpoint_every
        )
    trainer = Trainer(
        config, run_dir, load_dataset(config), stored, log=lambda *_: None, overwrite=overwrite
    )
    restore_latest = trainer.restore_latest

    def then_poison():
        step = restore_latest()
        trainer.optimizer.learning_rate.assign(float("inf"))
        return step

    trainer.restore_latest = then_poison
    return trainer


def test_a_nonfinite_update_is_never_saved_and_the_named_checkpoint_trains(
    capfd, tmp_path, trained_run, tiny_mnist_dir
):
    run = _copy(trained_run, tmp_path)
    before = checksums(run, "config.json")
    trainer = _poisoning_trainer(run, tiny_mnist_dir, "--train_iters=15", "--checkpoint_every=1")
    with pytest.raises(DrawError) as error:
        trainer.train()
    message = str(error.value)
    assert "step 11" in message and "NaN or infinite" in message, message
    assert "last good checkpoint is" in message and message.rstrip().split()[-1] != "ckpt-11"
    named = message.split("last good checkpoint is ")[1].split(";")[0]
    assert os.path.basename(named) == "ckpt-10"
    assert [os.path.basename(p) for p in listed_checkpoints(f"{run}/checkpoints")] == [
        "ckpt-5",
        "ckpt-10",
    ]
    assert checksums(run, "config.json") == before  # the failed invocation stored nothing
    # The checkpoint the message names restores and trains.
    args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=12"]
    status, out, err = run_in_process(capfd, "train.py", *args)
    assert status == 0 and "ckpt-10 at step 10" in out, err
    assert RunDir(run).read()[0].train_iters == 12  # stored once its first step was saved


def test_a_window_of_skipped_batches_reports_no_loss(tmp_path, tiny_data, monkeypatch):
    nan_at(monkeypatch, 3)
    lines = []
    config = tiny_config(train_iters=4, log_every=1, skip_nonfinite=True)
    Trainer(config, RunDir(str(tmp_path / "run")), tiny_data, log=lines.append).train()
    line = next(line for line in lines if line.startswith("step       3/4"))
    assert "no batch applied" in line and "  loss " not in line, line


def test_a_failed_new_run_leaves_no_folder_and_a_failed_overwrite_the_old_run(
    tmp_path, trained_run, tiny_mnist_dir
):
    fresh = str(tmp_path / "fresh")
    with pytest.raises(DrawError, match="no checkpoint was saved yet"):
        _poisoning_trainer(fresh, tiny_mnist_dir, "--train_iters=5").train()
    assert not os.path.exists(fresh)
    run = _copy(trained_run, tmp_path)
    before = checksums(run)
    with pytest.raises(DrawError, match="NaN or infinite"):
        _poisoning_trainer(run, tiny_mnist_dir, "--train_iters=5", "--T=3", overwrite=True).train()
    assert checksums(run) == before  # the old run, put back whole
    assert sorted(n for n in os.listdir(run) if not n.startswith("events")) == sorted(
        n for n in os.listdir(trained_run) if not n.startswith("events")
    )


def test_an_interrupted_overwrite_is_put_back_by_the_next_trainer(tmp_path, trained_run):
    run = _copy(trained_run, tmp_path)
    before = checksums(run)
    moved = RunDir(run).clear()  # killed here: the old run aside, no new checkpoint
    os.makedirs(os.path.join(run, "train"))  # what the new run had begun
    with RunLock(run):
        RunDir(run).remove_leftovers()
    assert not os.path.exists(moved)
    assert checksums(run) == before
    aside = RunDir(run).clear()  # killed once the new run had saved its first checkpoint
    os.makedirs(os.path.join(run, "checkpoints"))
    with open(os.path.join(run, "checkpoints", "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "ckpt-1"\n')
    with RunLock(run):
        RunDir(run).remove_leftovers()
    assert not os.path.exists(aside)  # the old run is gone, the new one stays
    assert os.path.exists(os.path.join(run, "checkpoints", "checkpoint"))


def _poisoned_copy(trained_run, tmp_path, scale):
    """A copy of the trained run whose newest checkpoint's weights are multiplied by scale
    (inf: infinite weights, as an unguarded update saves them)."""
    run = _copy(trained_run, tmp_path)
    config, image_shape = RunDir(run).read()
    trainer = Trainer(config, RunDir(run), load_dataset(config), image_shape, log=print)
    trainer.restore_latest()
    for variable in trainer.model.trainable_weights:
        variable.assign(variable * scale)
    trainer.checkpoint.write(listed_checkpoints(f"{run}/checkpoints")[-1])
    return run


def test_readers_refuse_nonfinite_weights_and_figures(tmp_path, trained_run, capfd):
    infinite = _poisoned_copy(trained_run, tmp_path / "inf", np.float32(np.inf))
    status, _, err = run_in_process(capfd, "generate.py", f"--logdir={infinite}", "--stochastic")
    _refused(status, err, "ckpt-10", "NaN or infinite")
    with pytest.raises(DrawError, match="NaN or infinite"):
        evaluate_and_write({}, infinite, Options(), log=lambda *_: None)
    huge = _poisoned_copy(trained_run, tmp_path / "huge", np.float32(1e37))
    before = checksums(tmp_path)
    shipped = os.path.join(pretrained.FOLDER, "poisoned_tiny")
    try:
        result = run_script("evaluate.py", f"--logdir={huge}", "--ship=poisoned_tiny")
        _refused(result.returncode, result.stderr, "non-finite figures")
        assert not os.path.exists(shipped)
    finally:
        shutil.rmtree(shipped, ignore_errors=True)
    assert checksums(tmp_path) == before  # no result file, no NaN in JSON


# Readers retry: each attempt with its own model and checkpoint object.


def test_a_reader_whose_checkpoints_keep_being_replaced_reads_one_of_them(
    tmp_path, trained_run, monkeypatch
):
    """A trainer with --keep_checkpoints=1 saving faster than a reader restores: during
    each of the reader's restores, the checkpoint it reads is deleted (its data first, as
    soon as the index is read, then the rest) and the next one listed."""
    run = _copy(trained_run, tmp_path)
    folder = os.path.join(run, "checkpoints")
    upcoming = []  # the trainer's next checkpoints: ckpt-11, ckpt-12, ... (copies of ckpt-10)
    for step in range(11, 15):
        for name in os.listdir(folder):
            if name.startswith("ckpt-10."):
                copy = tmp_path / name.replace("ckpt-10", f"ckpt-{step}")
                shutil.copy(os.path.join(folder, name), str(copy))
        upcoming.append(f"ckpt-{step}")
    original = run_dir.restore
    calls = []

    def trainer_saves_during_each_restore(checkpoint, path, *args, **kwargs):
        calls.append(path)
        current = run_dir.listed_checkpoints(folder)[-1]
        os.remove(current + ".data-00000-of-00001")
        try:
            return original(checkpoint, path, *args, **kwargs)
        finally:
            new = upcoming.pop(0)
            for name in os.listdir(tmp_path):
                if name.startswith(new + "."):
                    os.rename(str(tmp_path / name), os.path.join(folder, name))
            with open(os.path.join(folder, "checkpoint"), "w") as f:
                f.write(f'model_checkpoint_path: "{new}"\nall_model_checkpoint_paths: "{new}"\n')
            for name in os.listdir(folder):
                if name.startswith((os.path.basename(current) + ".", "ckpt-5.")):
                    os.remove(os.path.join(folder, name))

    monkeypatch.setattr(run_dir, "restore", trainer_saves_during_each_restore)
    _, model, path = load_trained_model({}, run)
    assert os.path.basename(path) == "ckpt-11" and len(calls) == 2
    _, saved, _ = load_trained_model({}, trained_run, f"{trained_run}/checkpoints/ckpt-10")
    for a, b in zip(model.weights, saved.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def _start_checkpointing_trainer(run, tiny_mnist_dir):
    flags = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=100000"]
    flags += ["--checkpoint_every=1", "--keep_checkpoints=1", "--log_every=1000"]
    flags += ["--image_every=100000"]
    return subprocess.Popen(
        [sys.executable, os.path.join(REPO, "train.py"), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def _wait_for_step(run, step, trainer, timeout=300):
    deadline = time.monotonic() + timeout
    while RunDir(run).latest_step() < step:
        assert trainer.poll() is None and time.monotonic() < deadline, trainer.stderr.read()
        time.sleep(0.2)


def _concurrent_readers(
    capfd, tmp_path, trained_run, tiny_mnist_dir, commands, loads, in_process=0
):
    run = _copy(trained_run, tmp_path)
    trainer = _start_checkpointing_trainer(run, tiny_mnist_dir)
    try:
        _wait_for_step(run, 8, trainer)
        readers = [
            subprocess.Popen(
                [sys.executable, os.path.join(REPO, script), f"--logdir={run}", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for script, args in commands
        ]
        loaded = []
        for i in range(loads):
            loaded.append(api.load(run))
            if i < in_process:  # generate.py's main, as the command line runs it
                out = f"--out_dir={tmp_path}/in_process{i}"
                status, _, err = run_in_process(capfd, "generate.py", f"--logdir={run}",
                                                "--stochastic", "--num_samples=4", out)  # fmt: skip
                assert status == 0, err
        results = [(p.wait(timeout=600), p.stderr.read()) for p in readers]
        assert trainer.poll() is None, trainer.stderr.read()
    finally:
        trainer.send_signal(signal.SIGTERM)
        trainer.communicate(timeout=300)
    assert len(loaded) == loads
    for status, err in results:
        assert status == 0, err
    return run


READERS = [
    ("generate.py", ["--stochastic", "--num_samples=4", "--out_dir={out}"]),
    ("evaluate.py", []),
]


def _readers(tmp_path, count):
    return [
        (script, [a.replace("{out}", str(tmp_path / f"out{i}")) for a in args])
        for i in range(count)
        for script, args in READERS
    ][:count]


def test_readers_of_a_run_checkpointing_every_step_all_succeed(
    capfd, tmp_path, trained_run, tiny_mnist_dir
):
    _concurrent_readers(capfd, tmp_path, trained_run, tiny_mnist_dir, [], 10, in_process=3)


@pytest.mark.slow
def test_many_readers_of_a_run_checkpointing_every_step_all_succeed(
    capfd, tmp_path, trained_run, tiny_mnist_dir
):
    commands = _readers(tmp_path, 12)
    _concurrent_readers(capfd, tmp_path, trained_run, tiny_mnist_dir, commands, 100, 10)


# Any legal folder name.


def test_glob_characters_spaces_and_unicode_in_the_run_name(
    capfd, tmp_path, trained_run, tiny_mnist_dir
):
    run = str(tmp_path / "sweep [lr=1e-3]*? ü" / "run [0]")
    os.makedirs(os.path.dirname(run))
    (tmp_path / "sweep [lr=1e-3]*? ü" / "run 0").mkdir()  # what the pattern also matches
    common = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", *TINY_TRAIN_FLAGS]
    status, _, err = run_in_process(capfd, "train.py", *common, "--train_iters=5")
    assert status == 0, err
    status, out, err = run_in_process(
        capfd, "train.py", *common, "--train_iters=15", "--keep_checkpoints=2"
    )
    assert status == 0 and "resumed from" in out and "ckpt-5 at step 5" in out, err
    assert sorted(os.listdir(os.path.join(run, "checkpoints"))) == [
        "checkpoint",
        "ckpt-10.data-00000-of-00001",
        "ckpt-10.index",
        "ckpt-15.data-00000-of-00001",
        "ckpt-15.index",
    ]  # the older ones deleted, as --keep_checkpoints says
    status, out, err = run_in_process(capfd, "generate.py", f"--logdir={run}", "--stochastic")
    assert status == 0 and "ckpt-15" in out, err
    record, paths = evaluate_and_write({}, run, Options(), log=lambda *_: None)
    assert record["step"] == 15 and all(os.path.isfile(p) for p in paths.values())


# Files in the way; long names.


def test_links_and_folders_in_the_way_are_reported_never_followed(
    capfd, tmp_path, trained_run, tiny_mnist_dir
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not the run's")
    for name in (LOCK_NAME, "checkpoints", "train"):
        run = _copy(trained_run, tmp_path, f"run_{name}")
        if os.path.exists(os.path.join(run, name)):
            shutil.move(os.path.join(run, name), str(tmp_path / f"moved_{name}"))
        os.symlink(outside, os.path.join(run, name))
        before = checksums(tmp_path)
        args = [f"--logdir={run}", f"--data_dir={tiny_mnist_dir}", "--train_iters=12"]
        status, _, err = run_in_process(capfd, "train.py", *args)
        _refused(status, err, "symbolic link", name)
        assert checksums(tmp_path) == before
    (outside / LOCK_NAME).mkdir()
    with pytest.raises(DrawError, match="folder is in the way"):
        RunLock(str(outside)).acquire()
    samples = tmp_path / "samples"
    samples.mkdir()
    os.symlink(outside / "keep", samples / "stochastic.png")
    run = _copy(trained_run, tmp_path, "reader")
    args = [f"--logdir={run}", f"--out_dir={samples}", "--stochastic", "--overwrite"]
    status, _, err = run_in_process(capfd, "generate.py", *args)
    _refused(status, err, "symbolic link", "stochastic.png")
    assert (outside / "keep").read_text() == "not the run's"


def test_legal_long_names_are_written(tmp_path):
    path = str(tmp_path / ("x" * 250))
    atomic_write(path, "text")
    assert open(path).read() == "text"


def test_staging_folders_of_killed_writers_are_removed_or_put_back(tmp_path):
    target = tmp_path / "export"
    stale, live, moved = (tmp_path / f".export.{n}" for n in ("stale123", "live1234", "kill5678"))
    for folder in (stale, live, moved / "old"):
        folder.mkdir(parents=True)
    (moved / "old" / "saved_model.pb").write_text("the old export")
    old = time.time() - 10
    for folder in (stale, live, moved):
        os.utime(folder, (old, old))
    held = os.open(live, os.O_RDONLY)
    try:
        lock_file(held)  # a writer at work
        remove_stale_staging(str(target), ".export.")  # what atomic_folder does first
        assert (target / "saved_model.pb").read_text() == "the old export"
        atomic_folder(str(target), lambda staging: open(f"{staging}/new", "w").close())
        assert os.listdir(target) == ["new"]
        assert sorted(os.listdir(tmp_path)) == [".export.live1234", "export"]
    finally:
        os.close(held)


def test_result_files_are_synced_before_they_appear_and_strict_json(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    paths = write_results(str(tmp_path), {"elbo": {"loss": 90.5}}, [{"elbo": 90.5}])
    assert sorted(name.split(".partial")[0][:-9] for name in synced) == [
        ".latest.csv",
        ".latest.json",
        ".result.csv",
        ".result.json",
    ]  # the numbered files and latest.*, each synced in its temporary file
    assert json.load(open(paths["json"])) == {"elbo": {"loss": 90.5}}
    with pytest.raises(DrawError, match="elbo.loss is nan"):
        write_results(str(tmp_path), {"elbo": {"loss": float("nan")}}, [])


def test_config_json_with_a_key_twice_or_nan_is_refused(tmp_path, trained_run):
    run = _copy(trained_run, tmp_path)
    text = open(os.path.join(run, "config.json")).read()
    twice = text.replace('"T": 2,', '"T": 2, "T": 5,')
    assert twice != text
    for bad, fragment in ((twice, "'T' appears twice"), (text.replace("0.001", "NaN"), "NaN")):
        with open(os.path.join(run, "config.json"), "w") as f:
            f.write(bad)
        with pytest.raises(DrawError, match=fragment):
            RunDir(run).read()


# A platform without fcntl (Windows): the library imports and the lock works.

WITHOUT_FCNTL = textwrap.dedent(
    """
    import errno, fcntl as real, os, subprocess, sys, time, types
    import tensorflow  # noqa: modules that look for msvcrt to tell Windows, imported first
    sys.modules["fcntl"] = None  # `import fcntl` fails, as on Windows
    fake = types.ModuleType("msvcrt")  # msvcrt.locking's contract, on a byte-range lock
    fake.LK_NBLCK = 2
    def locking(fd, mode, count):
        try:
            real.lockf(fd, real.LOCK_EX | real.LOCK_NB, count)
        except BlockingIOError:
            raise OSError(errno.EACCES, "Permission denied") from None
    fake.locking = locking
    sys.modules["msvcrt"] = fake
    sys.path.insert(0, {repo!r})
    from draw import api, files, run_dir
    from draw.errors import DrawError
    assert files.fcntl is None and files.msvcrt is fake
    files.atomic_write(os.path.join(sys.argv[1], "note.txt"), "written")
    try:
        with run_dir.RunLock(sys.argv[1]):
            print("LOCKED", flush=True)
            time.sleep(float(sys.argv[2]))
    except DrawError as e:
        print("REFUSED", e, flush=True)
    """
)


def test_without_fcntl_the_library_imports_and_the_lock_works(tmp_path):
    script = tmp_path / "without_fcntl.py"
    script.write_text(WITHOUT_FCNTL.format(repo=REPO))
    run = tmp_path / "run"
    run.mkdir()
    command = [sys.executable, str(script), str(run)]
    first = subprocess.Popen([*command, "60"], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "LOCKED"
        second = subprocess.run([*command, "0"], capture_output=True, text=True, timeout=300)
        assert f"REFUSED the run in {run} is being trained by process {first.pid}" in second.stdout
    finally:
        first.kill()
        first.wait()
    assert (run / "note.txt").read_text() == "written"  # atomic_write's lock, too
