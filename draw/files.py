"""Files written whole: a reader (or a crash) sees the old file or the whole new one.

Every file the project writes (a run's, generate.py's and evaluate.py's) is written to a
temporary file `.NAME.XXXXXXXX.partial` in its folder, which its writer holds an OS lock
(`lock_file`: flock, or msvcrt.locking on Windows) on, then fsync and a rename
(`atomic_write`); a folder is filled beside its place and renamed into it
(`atomic_folder`). `remove_leftovers` and `remove_stale_staging` delete what a killed
writer left. A symbolic link or a folder where a file is to be written is reported, never
followed or replaced (`check_replaceable`; `NO_FOLLOW` for os.open).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import BinaryIO

from draw.errors import DrawError, first_line

try:  # the platform's own file lock: flock on Linux and macOS, msvcrt.locking on Windows
    import fcntl

    msvcrt = None
except ImportError:
    fcntl = None
    import msvcrt

TEMPORARY_SUFFIX = ".partial"
NAME_IN_TEMPORARY = 100  # characters of a file's name kept in its temporary file's name
# os.open flag that refuses a symbolic link as the last part of a path (where it exists).
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def lock_file(fd: int) -> None:
    """Locks the open file fd for this process, exclusively and at once: BlockingIOError
    when another process holds it, another OSError when the file system cannot lock.

    fcntl.flock where it exists (Linux, macOS: released when the process ends); else
    msvcrt.locking of the file's first byte (Windows: released with the process too)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EDEADLK):
            raise BlockingIOError(errno.EAGAIN, "held by another process") from None
        raise


@contextlib.contextmanager
def temporary_file(folder: str, name: str):
    """Yields the path of a new temporary file for `name` in folder, locked (lock_file) by this
    process until the block ends; the file, unless renamed by then, is deleted."""
    prefix = f".{name[:NAME_IN_TEMPORARY]}."  # any legal name leaves room for the rest
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=TEMPORARY_SUFFIX)
    try:
        lock_file(fd)  # a new name: nobody else holds it
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        os.close(fd)


def fill(tmp: str, data, to_path: bool = False) -> None:
    """Writes a (temporary) file's contents and syncs them to the disk.

    data: text, bytes, or a function that writes the bytes to a binary file object (with
    to_path: that writes the file at the path it is given, as numpy.lib.format.open_memmap
    needs).
    """
    if isinstance(data, str):
        data = data.encode()
    save = (lambda f: f.write(data)) if isinstance(data, bytes) else data
    if to_path:
        save(tmp)
    with open(tmp, "r+b" if to_path else "wb") as f:
        if not to_path:
            save(f)
            f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)


def atomic_write(path: str, data: str | bytes | Callable[[BinaryIO], None]) -> None:
    """Writes path through a locked temporary file in the same folder, fsync and a rename,
    so a reader (or a crash) sees either the old file or the whole new one.

    data: text, bytes, or a function that writes the bytes to a binary file object.
    An OSError (disk full, read-only folder) is a DrawError naming path; the old file
    stays whole.
    """
    folder = os.path.dirname(os.path.abspath(path))
    check_replaceable(path)
    try:
        with temporary_file(folder, os.path.basename(path)) as tmp:
            fill(tmp, data)
            os.replace(tmp, path)
    except OSError as e:
        raise DrawError(f"cannot write {path}: {e.strerror or first_line(e)}") from None


def check_replaceable(path: str) -> None:
    """DrawError if a symbolic link or a folder is where the file path is to be written
    (it is reported, never replaced or followed)."""
    if os.path.islink(path):
        raise DrawError(f"{path} is a symbolic link; remove it (links are never written)")
    if os.path.isdir(path):
        raise DrawError(f"a folder is in the way of the file {path}; remove it")


def remove_leftovers(folder: str, min_age: float = 1.0) -> list[str]:
    """Deletes the temporary files in folder that no live writer holds (their writer was
    killed) and that are at least min_age seconds old; returns their paths."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(".") and name.endswith(TEMPORARY_SUFFIX)):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if time.time() - os.fstat(fd).st_mtime >= min_age:
                lock_file(fd)  # fails while its writer lives
                os.remove(path)
                removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def atomic_folder(path: str, fill: Callable[[str], None]) -> None:
    """Writes the folder path whole: fill(staging) fills a new folder beside it, which then
    takes path's place (an existing path is moved aside, and deleted once the new one is
    in place). If fill or a rename fails, path stays as it was; an OSError is a DrawError
    naming path."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        prefix = "." + os.path.basename(path)[:NAME_IN_TEMPORARY] + "."
        remove_stale_staging(path, prefix)
        with tempfile.TemporaryDirectory(dir=parent, prefix=prefix) as scratch, _held(scratch):
            staging, old = os.path.join(scratch, "new"), os.path.join(scratch, "old")
            os.mkdir(staging, 0o755)
            fill(staging)
            if os.path.lexists(path):
                os.rename(path, old)
            try:
                os.rename(staging, path)
            except OSError:
                if os.path.lexists(old):
                    os.rename(old, path)
                raise
    except OSError as e:
        raise DrawError(f"cannot write {path}: {e.strerror or first_line(e)}") from None


@contextlib.contextmanager
def _held(folder: str):
    """Locks folder (lock_file on the folder itself) while the block runs, so that
    remove_stale_staging leaves it alone; where folders cannot be opened (Windows), it is
    not locked."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        lock_file(fd)
        yield
    finally:
        os.close(fd)


def remove_stale_staging(path: str, prefix: str, min_age: float = 1.0) -> None:
    """Deletes the staging folders of atomic_folder(path) beside path (named prefix...)
    that no live writer holds and that are at least min_age seconds old. A writer killed
    between moving path aside and renaming the new folder into place left the old path
    in its staging folder: it is put back first."""
    parent = os.path.dirname(os.path.abspath(path))
    for name in os.listdir(parent):
        scratch = os.path.join(parent, name)
        if not name.startswith(prefix) or os.path.islink(scratch) or not os.path.isdir(scratch):
            continue
        try:
            fd = os.open(scratch, os.O_RDONLY)
        except OSError:
            continue
        try:
            if time.time() - os.fstat(fd).st_mtime < min_age:
                continue
            lock_file(fd)  # fails while its writer lives
            old = os.path.join(scratch, "old")
            if os.path.isdir(old) and not os.path.lexists(path):
                os.rename(old, path)
            shutil.rmtree(scratch)
        except OSError:
            pass
        finally:
            os.close(fd)
