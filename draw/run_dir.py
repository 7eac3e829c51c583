"""A run directory: its stored configuration, its checkpoints, its TensorBoard events,
and the trained model rebuilt from it (`load_trained_model`).

    RUN/config.json       {"config": DrawConfig fields, "image_shape": [H, W, C]}
    RUN/checkpoints/      tf.train.CheckpointManager (model, optimizer, step); its list
                          `checkpoint` names the complete checkpoints, newest last
    RUN/train/, RUN/test/ TensorBoard event files
    RUN/model.weights.h5  instead of checkpoints/: the weights alone (Keras
                          save_weights), as in a shipped model (draw.pretrained)

    RUN/train.lock        held (draw.files.lock_file) by the one train.py that writes the
                          run (RunLock)

train.py creates it; generate.py and evaluate.py rebuild exactly the trained model from it.
Its files are written whole (draw.files). A checkpoint counts only once the list names it,
which TensorFlow updates (atomically) after the checkpoint's files are complete.
TensorFlow reads a checkpoint's path as a file pattern: `tf_path` gives it paths without
pattern characters.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import glob
import json
import os
import re
import shutil
import socket
import tempfile
import time
import warnings

import tensorflow as tf

from draw.config import PRESETS, DrawConfig, fields_with_role
from draw.configure import stored_defaults, validate
from draw.errors import DrawError, first_line
from draw.files import NO_FOLLOW, atomic_write, lock_file, remove_leftovers
from draw.models import build_model

LOCK_NAME = "train.lock"
# Readers of a run that is training retry while its checkpoint list keeps changing: each
# attempt reads the list afresh, with a new model and checkpoint object.
READ_ATTEMPTS = 50
MAX_IMAGE_SIDE = 4096  # pixels; DRAW's attention is for small images


# Rebuilding a trained model.


def load_trained_model(
    values: dict, logdir: str = "", named_checkpoint: str = "", restore_from_previous=False
):
    """Rebuilds a run's model and restores its weights: the named checkpoint, or the
    newest one (with restore_from_previous, the newest one that reads), or for a run of
    weights only (a shipped model) its model.weights.h5. Weights holding a NaN or an
    infinity are a DrawError.

    A trainer may delete the checkpoint being read (it keeps only the newest
    --keep_checkpoints): then the list is read again and the new newest one restored from
    a copy of its files (`snapshot`, which a deletion cannot cut short), each attempt with a
    model and checkpoint object of its own, up to READ_ATTEMPTS times.

    values, logdir: the run and the configuration fields to apply (`configured_run`).
    Returns (config, model, checkpoint or weights path).
    """
    config, run, image_shape = configured_run(values, logdir)
    model = build_model(config, image_shape)
    if run.holds_weights_only():
        if named_checkpoint:
            raise DrawError(f"{run.path} holds weights, not checkpoints: drop --checkpoint")
        load_weights(model, run.weights_path)
        check_finite_weights(model, run.weights_path)
        return config, model, run.weights_path
    if named_checkpoint:
        path = checkpoint_to_load(run, named_checkpoint)
        restore(tf.train.Checkpoint(model=model), path, True, model.weights)
        return config, model, path
    for attempt in range(READ_ATTEMPTS):
        if attempt:  # a failed restore may have changed some of the last model's weights
            model = build_model(config, image_shape)
        checkpoint = tf.train.Checkpoint(model=model)
        paths = listed_checkpoints(run.checkpoint_dir, restore_from_previous)
        if not paths:
            raise DrawError(f"no checkpoint in {run.checkpoint_dir}; train the run first")
        if attempt == 0:
            try:
                path = restore_newest(
                    checkpoint, paths, restore_from_previous, partial=True, variables=model.weights
                )
                return config, model, path
            except DrawError:
                # A trainer deletes a checkpoint (its .index first) before it lists the
                # new one: read again if the newest listed one is gone or the list changed.
                gone = not os.path.isfile(paths[-1] + ".index")
                if not (gone or listed_checkpoints(run.checkpoint_dir) != paths):
                    raise
                continue
        with tempfile.TemporaryDirectory(prefix="draw-checkpoint-") as scratch:
            copy = snapshot(paths[-1], scratch)
            if copy is None:  # deleted since the list was read: read it again
                time.sleep(0.01)
                continue
            try:
                restore(checkpoint, copy, True, model.weights)
            except DrawError as e:
                raise DrawError(str(e).replace(copy, paths[-1])) from None
        return config, model, paths[-1]
    raise DrawError(
        f"the checkpoints of {run.checkpoint_dir} were replaced faster than they could be "
        f"read, {READ_ATTEMPTS} times; try again"
    )


def snapshot(prefix: str, folder: str) -> str | None:
    """Copies the files of the checkpoint prefix into folder, each opened before the first
    is copied (a file deleted once opened still reads whole); returns the copy's prefix,
    or None when one of them is already gone."""
    names = [prefix + ".index"]
    with contextlib.ExitStack() as files:
        try:
            opened = [files.enter_context(open(names[0], "rb"))]
            names += sorted(glob.glob(glob.escape(prefix) + ".data-*"))
            opened += [files.enter_context(open(name, "rb")) for name in names[1:]]
        except FileNotFoundError:
            return None
        if len(names) == 1:
            return None
        copy = os.path.join(folder, "ckpt")
        for name, source in zip(names, opened):
            with open(copy + name[len(prefix) :], "wb") as target:
                shutil.copyfileobj(source, target)
    return copy


def check_finite_weights(model, path: str) -> None:
    """DrawError if the weights read from path hold a NaN or an infinity."""
    bad = nonfinite_variables(model.weights)
    if bad:
        raise DrawError(f"{path} holds NaN or infinite values in {bad[0]}")


def load_weights(model, path: str) -> None:
    """model.load_weights(path) (a Keras .weights.h5 file), any failure one DrawError.

    Such a file holds no optimizer state: Keras' warning that the model's optimizer (of a
    run about to train) finds none in it is expected, and silenced."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DrawError(f"cannot load the weights {path}: {first_line(e)}") from None


# The run's lock.


def _in_the_way(error: OSError) -> str:
    """Why a run's file could not be opened, saying so when a link or a folder is in the
    way (they are reported, never followed out of the run or replaced)."""
    if error.errno == errno.ELOOP:
        return "it is a symbolic link; remove it (the run's files are never followed out)"
    if error.errno == errno.EISDIR:
        return "a folder is in the way; remove it"
    return error.strerror or str(error)


def _lock_holder(path: str) -> str:
    """Who holds a run's lock, as its file says (it may still be writing it)."""
    for _ in range(20):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            text = ""
        if text:
            pid, _, host = text.partition(" ")
            return f"process {pid}" + (f" on {host}" if host != socket.gethostname() else "")
        time.sleep(0.05)
    return "another process"


class RunLock:
    """One trainer per run directory: the exclusive lock on RUN/train.lock.

    with RunLock(path):  # DrawError at once if another process holds it
        ...              # this process is the run's only writer

    The lock is the operating system's (`lock_file`), so it is released when its process
    ends in any way, SIGKILL included: a killed trainer never leaves a stale lock, at
    worst the unlocked file, which the next trainer takes over. The file holds the
    holder's PID and host name, so that a second trainer can say who holds it; the holder
    deletes it while still holding the lock. A file deleted while another process opened
    it is detected (the path no longer names the locked file) and locked anew.

    On Windows the lock is msvcrt.locking's (see lock_file), with the same behaviour.
    flock works between processes of one machine on local file systems, and across
    machines on NFS (Linux emulates it with NFS byte-range locks); where a file system
    refuses it, acquiring is a DrawError rather than an unprotected run.
    """

    def __init__(self, run_path: str):
        self.path = os.path.join(run_path, LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> None:
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            reason = e.strerror or e
            raise DrawError(f"cannot create the run directory {folder}: {reason}") from None
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NO_FOLLOW, 0o644)
            except OSError as e:
                raise DrawError(f"cannot create the lock {self.path}: {_in_the_way(e)}") from None
            try:
                lock_file(fd)
            except BlockingIOError:
                os.close(fd)
                raise DrawError(
                    f"the run in {folder} is being trained by {_lock_holder(self.path)}, which "
                    f"holds {self.path}; wait for it to end, or use another --logdir"
                ) from None
            except OSError as e:
                os.close(fd)
                reason = e.strerror or str(e)
                if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    reason += " (this file system does not support flock)"
                raise DrawError(f"cannot lock {self.path}: {reason}") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # its holder deleted the file meanwhile: lock the new one
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.remove(self.path)  # while still holding it (see acquire)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# The run directory and its configuration.


def _image_shape(value) -> tuple[int, int, int]:
    """A stored image_shape [H, W, C]: three ints, H and W in 1..MAX_IMAGE_SIDE, C 1 or 3."""
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
        or not all(1 <= d <= MAX_IMAGE_SIDE for d in value[:2])
        or value[2] not in (1, 3)
    ):
        raise DrawError(f"image_shape={value!r} is not [H, W, C] with C 1 or 3")
    return tuple(value)


class _NotJson(str):
    """NaN, Infinity or -Infinity where json read a number (they are not JSON)."""


def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are all different (json's default keeps the last) and
    whose values are JSON (json's default accepts NaN and infinities)."""
    keys = [key for key, _ in pairs]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise DrawError(f"the key {twice[0]!r} appears twice")
    for key, value in pairs:
        if isinstance(value, _NotJson):
            raise DrawError(f"{key}={value} is not a JSON number")
    return dict(pairs)


WEIGHTS_FILE = "model.weights.h5"


class RunDir:
    def __init__(self, path: str):
        self.path = path
        self.config_path = os.path.join(path, "config.json")
        self.checkpoint_dir = os.path.join(path, "checkpoints")
        self.weights_path = os.path.join(path, WEIGHTS_FILE)

    def events_dir(self, name: str) -> str:
        return os.path.join(self.path, name)

    def exists(self) -> bool:
        return os.path.isfile(self.config_path)

    def read(self) -> tuple[DrawConfig, tuple[int, int, int]]:
        """The stored (config, image_shape); DrawError if missing or unreadable."""
        if not self.exists():
            raise DrawError(f"no run in {self.path}: {self.config_path} does not exist")
        try:
            with open(self.config_path) as f:
                stored = json.load(f, object_pairs_hook=_unique_keys, parse_constant=_NotJson)
            if not isinstance(stored, dict) or sorted(stored) != ["config", "image_shape"]:
                keys = sorted(stored) if isinstance(stored, dict) else type(stored).__name__
                raise DrawError(f"expected the keys config and image_shape, found {keys}")
            config = DrawConfig.from_dict(stored["config"], stored_defaults(stored["config"]))
            image_shape = _image_shape(stored["image_shape"])
            validate(config)
        except (OSError, ValueError, TypeError, RecursionError, DrawError) as e:
            message = first_line(e) if isinstance(e, DrawError) else e
            raise DrawError(
                f"cannot read the run configuration {self.config_path}: {message}"
            ) from None
        return config, image_shape

    def write(self, config: DrawConfig, image_shape) -> None:
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise DrawError(
                f"cannot create the run directory {self.path}: {e.strerror or e}"
            ) from None
        stored = {"config": json.loads(config.to_json()), "image_shape": list(image_shape)}
        atomic_write(self.config_path, json.dumps(stored, indent=2, sort_keys=True) + "\n")

    def check_entries(self) -> None:
        """DrawError if a symbolic link stands where the run keeps a file or a folder, or a
        folder where a file belongs (or a file where a folder belongs): such things are
        reported, never written through or replaced."""
        for name in RUN_ENTRIES + [LOCK_NAME]:
            path = os.path.join(self.path, name)
            if os.path.islink(path):
                raise DrawError(f"{path} is a symbolic link; remove it (links are never written)")
            file_expected = name in ("config.json", LOCK_NAME)
            if os.path.exists(path) and os.path.isdir(path) == file_expected:
                kind = "folder" if file_expected else "file"
                raise DrawError(f"a {kind} is in the way at {path}; remove it")

    def has_checkpoints(self) -> bool:
        return os.path.isfile(os.path.join(self.checkpoint_dir, "checkpoint"))

    def holds_weights_only(self) -> bool:
        """Whether the run is weights without checkpoints (a shipped model)."""
        return os.path.isfile(self.weights_path) and not self.has_checkpoints()

    def latest_step(self) -> int:
        """The step of the newest checkpoint the list names (0 when there is none)."""
        paths = listed_checkpoints(self.checkpoint_dir)
        return checkpoint_step(paths[-1]) or 0 if paths else 0

    def clear(self) -> str | None:
        """Moves the run (config.json, checkpoints/, train/, test/ and the configuration's
        TensorBoard events) into a new folder RUN/.overwritten-XXXXXXXX and returns it
        (None when there is no folder RUN); other files stay. `discard` deletes it once
        the new run has saved its first checkpoint, `put_back` restores it otherwise.
        config.json goes first, so an interrupted clear leaves checkpoints that no
        configuration claims (an error until --overwrite again), never a half old run."""
        if not os.path.isdir(self.path):
            return None
        events = [
            os.path.basename(path)
            for path in glob.glob(os.path.join(glob.escape(self.path), "events.out.tfevents.*"))
        ]
        try:
            trash = tempfile.mkdtemp(dir=self.path, prefix=OVERWRITTEN_PREFIX)
            for name in RUN_ENTRIES + events:
                if os.path.lexists(os.path.join(self.path, name)):
                    os.rename(os.path.join(self.path, name), os.path.join(trash, name))
        except OSError as e:
            raise DrawError(f"cannot clear the run in {self.path}: {e.strerror or e}") from None
        return trash

    @staticmethod
    def discard(trash: str | None) -> None:
        """Deletes a run moved aside by clear()."""
        if trash:
            shutil.rmtree(trash, ignore_errors=True)

    def put_back(self, trash: str | None) -> None:
        """Puts a run moved aside by clear() back in place of whatever the run holds now
        (what a new run made before its first checkpoint)."""
        made = self.clear()
        if trash:
            for name in os.listdir(trash):
                os.rename(os.path.join(trash, name), os.path.join(self.path, name))
        self.discard(trash)
        self.discard(made)

    def remove_leftovers(self) -> None:
        """Repairs and deletes what a killed trainer left: a checkpoint TensorFlow had not
        finished (checkpoints/ckpt-N_temp/, which no list names), temporary files of
        config.json, and the old run of an interrupted --overwrite (put back when the new
        run had not saved a checkpoint, else deleted). Only the lock holder calls it."""
        for path in glob.glob(os.path.join(glob.escape(self.checkpoint_dir), "*_temp")):
            shutil.rmtree(path, ignore_errors=True)
        pattern = os.path.join(glob.escape(self.path), OVERWRITTEN_PREFIX + "*")
        for trash in sorted(glob.glob(pattern)):
            old_run = os.path.isfile(os.path.join(trash, "config.json"))
            if old_run and not self.has_checkpoints():
                self.put_back(trash)
            else:
                self.discard(trash)
        for folder in (self.path, self.checkpoint_dir):
            remove_leftovers(folder, min_age=0)


OVERWRITTEN_PREFIX = ".overwritten-"
RUN_ENTRIES = ["config.json", "checkpoints", "train", "test"]  # what clear() moves aside


def default_logdir(values: dict) -> str:
    """runs/<dataset>_<preset>: the run directory of a configuration, from the fields in
    values (the flags given), the preset's values or the defaults."""
    defaults = DrawConfig()
    preset = values.get("preset", defaults.preset)
    dataset = values.get("dataset", PRESETS.get(preset, {}).get("dataset", defaults.dataset))
    return os.path.join("runs", f"{dataset}_{preset}")


def configured_run(values: dict, logdir: str = ""):
    """The trained run in logdir (default: `default_logdir(values)`) and its configuration.

    Args:
      values: DrawConfig fields to apply ({} for none; a script's: those given on its
        command line). A model field must agree with the stored one (the weights were
        trained with it), any other replaces it.
      logdir: the run directory ("" for the default).

    Returns (config, RunDir, stored image_shape); DrawError if logdir holds no run or a
    model field contradicts it.
    """
    run = RunDir(logdir or default_logdir(values))
    if not run.exists():
        raise DrawError(
            f"no trained run in {run.path} (no config.json); train one with "
            f"python train.py --logdir={run.path}"
        )
    stored, image_shape = run.read()
    model_fields = set(fields_with_role("model"))
    for name, value in values.items():
        if name in model_fields and value != getattr(stored, name):
            raise DrawError(
                f"--{name}={value} contradicts the run in {run.path}, trained with "
                f"{name}={getattr(stored, name)}; use another --logdir for a new run "
                "(or --overwrite to replace this one)"
            )
    train_values = {k: v for k, v in values.items() if k not in model_fields}
    config = stored.replace(**train_values)
    validate(config)
    return config, run, image_shape


# Checkpoints.

# Characters that TensorFlow's checkpoint functions read as a file pattern in a path.
GLOB_CHARACTERS = "*?[]\\"
_ALIASES: dict[str, str] = {}


def tf_path(directory: str) -> str:
    """A path to directory that TensorFlow's checkpoint functions take as it is.

    They read a checkpoint's path as a file pattern (`run[1]/ckpt-5` does not match
    itself), so a directory whose absolute path holds one of GLOB_CHARACTERS is reached
    through a symbolic link to it, made once per process in a private temporary folder
    (deleted at exit); other paths are returned unchanged. Where links cannot be made,
    directory itself."""
    absolute = os.path.abspath(directory)
    if not any(c in absolute for c in GLOB_CHARACTERS):
        return directory
    if absolute not in _ALIASES:
        scratch = tempfile.mkdtemp(prefix="draw-run-")
        alias = os.path.join(scratch, "d")
        try:
            os.symlink(absolute, alias, target_is_directory=True)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
            return directory
        atexit.register(shutil.rmtree, scratch, True)  # removes the link, not its target
        _ALIASES[absolute] = alias
    return _ALIASES[absolute]


def tf_prefix(path: str) -> str:
    """A checkpoint prefix DIR/NAME as TensorFlow takes it (DIR through `tf_path`)."""
    return os.path.join(tf_path(os.path.dirname(path) or "."), os.path.basename(path))


def from_tf_path(path: str, directory: str) -> str:
    """A path TensorFlow gave under tf_path(directory), as the same path under directory."""
    alias = tf_path(directory)
    if alias != directory and path.startswith(alias + os.sep):
        return os.path.join(directory, path[len(alias) + 1 :])
    return path


def nonfinite_variables(variables) -> list[str]:
    """The names of the floating-point variables holding a NaN or an infinity."""
    return [
        v.name
        for v in variables
        if tf.as_dtype(v.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(v)))
    ]


def restore(
    checkpoint: tf.train.Checkpoint, path: str, partial: bool = False, variables=()
) -> None:
    """Restores checkpoint from path, turning every failure into one DrawError; a
    checkpoint that gives any of `variables` a NaN or an infinity is such a failure."""
    try:
        status = checkpoint.restore(tf_prefix(path))
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError, TypeError, IndexError, KeyError) as e:
        raise DrawError(f"cannot restore checkpoint {path}: {first_line(e)}") from None
    bad = nonfinite_variables(variables)
    if bad:
        raise DrawError(f"checkpoint {path} holds NaN or infinite values in {bad[0]}")


def checkpoint_step(path: str) -> int | None:
    """The training step a checkpoint was saved at, from its name `ckpt-<step>` (the
    Trainer numbers its checkpoints by step); None for a name without a number."""
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else None


def listed_checkpoints(directory: str, restore_from_previous: bool = False) -> list[str]:
    """The complete checkpoints in directory, oldest first, as its list `checkpoint` names
    them ([] when there is no list: files without one are from a save cut short).

    An unreadable list is a DrawError; with restore_from_previous, every ckpt-N.index file
    in directory is a candidate instead.
    """
    state_file = os.path.join(directory, "checkpoint")
    if not os.path.isfile(state_file):
        return []
    state = tf.train.get_checkpoint_state(tf_path(directory))
    if state is not None and state.model_checkpoint_path:
        paths = list(state.all_model_checkpoint_paths)
        if state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        return [from_tf_path(path, directory) for path in paths]
    if not restore_from_previous:
        raise DrawError(
            f"the checkpoint list {state_file} is unreadable; --restore_from_previous "
            "restores the newest checkpoint file in its folder that reads"
        )
    indexes = glob.glob(os.path.join(glob.escape(directory), "ckpt-*.index"))
    paths = (index[: -len(".index")] for index in indexes)
    return sorted(
        paths, key=lambda path: -1 if checkpoint_step(path) is None else checkpoint_step(path)
    )


def restore_newest(
    checkpoint, paths, restore_from_previous=False, log=print, partial=False, variables=()
):
    """Restores the newest of paths (oldest first) and returns it.

    A checkpoint that does not read (or gives one of `variables` a non-finite value) is a
    DrawError naming it; with restore_from_previous, the next older one is tried instead
    (each failure is logged). No file is touched.
    """
    for path in reversed(paths):
        try:
            restore(checkpoint, path, partial, variables)
            return path
        except DrawError as e:
            if not restore_from_previous:
                raise DrawError(
                    f"{e}; --restore_from_previous restores the newest checkpoint that reads"
                ) from None
            log(f"skipping a checkpoint that does not read: {e}")
    raise DrawError(f"none of the checkpoints {', '.join(paths)} reads")


def checkpoint_to_load(run: RunDir, named: str = "") -> str:
    """The named checkpoint, or the run's latest; DrawError if there is none."""
    if named:
        if not os.path.isfile(named + ".index"):
            raise DrawError(f"checkpoint {named} not found (no {named}.index)")
        return named
    listed = listed_checkpoints(run.checkpoint_dir)
    if not listed:
        raise DrawError(f"no checkpoint in {run.checkpoint_dir}; train the run first")
    return listed[-1]
