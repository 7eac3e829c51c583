"""The folder generated files go to, written all or nothing (`OutputDir`).

A mode of generate.py returns the files it wants written (`Output`) and writes nothing
itself, so that `OutputDir.write` checks every target (no file replaced without
--overwrite, room on the disk) before any file is touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from draw import distribute
from draw.errors import DrawError
from draw.files import check_replaceable, fill, remove_leftovers, temporary_file

RESERVE_FRACTION, RESERVE_BYTES = 0.05, 10**9  # disk space generated files never take


@dataclass
class Output:
    """One file to write: its name in the output folder and a function that writes its
    bytes to a binary file object, or (`to_path`) one that writes the file at a path it
    is given; `size`: its bytes if known, checked against the free disk space before
    anything is written."""

    name: str
    save: Callable
    to_path: bool = False
    size: int = 0


class OutputDir:
    """The folder generated files go to: every file is written atomically, and an existing
    file is replaced only with overwrite.

    Args:
      path: the folder (created if missing).
      overwrite: whether an existing file of the same name may be replaced.
    """

    def __init__(self, path: str, overwrite: bool = False):
        self.path = path
        self.overwrite = overwrite

    def check_writable(self) -> None:
        """DrawError unless the folder, or the nearest of its parents that exists (where
        it would be created), is a folder this process may write into; creates nothing."""
        existing = os.path.abspath(self.path)
        while not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            reason = f"{existing} is not a folder"
        elif not os.access(existing, os.W_OK | os.X_OK):
            reason = f"{existing} is not writable"
        else:
            return
        raise DrawError(f"--out_dir={self.path} cannot be written: {reason}")

    def create(self) -> None:
        """Creates the folder (if missing) and proves it writable; DrawError if it is not."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise DrawError(f"--out_dir={self.path} cannot be written: {reason}") from None

    def remove_leftovers(self) -> list[str]:
        """Deletes the temporary files killed writers left in the folder."""
        return remove_leftovers(self.path)

    def check_space(self, needed: int) -> None:
        """DrawError if writing `needed` bytes would leave the folder's file system with
        less than 5% of its space (at least 1 GB) free: other writers on it, such as a
        run's checkpoints, keep their room."""
        usage = shutil.disk_usage(self.path)
        reserve = max(RESERVE_FRACTION * usage.total, RESERVE_BYTES)
        if needed and needed > usage.free - reserve:
            raise DrawError(
                f"the files would need {distribute.format_bytes(needed)} in {self.path}, which "
                f"has {distribute.format_bytes(usage.free)} free, of which "
                f"{distribute.format_bytes(reserve)} are kept free; choose a smaller "
                "--num_samples or another --out_dir"
            )

    def write(self, outputs: list[Output]) -> list[str]:
        """Writes every output, or none if one would replace a file without overwrite, the
        disk has too little room for them, or one cannot be written.

        Returns the paths written, in order.
        """
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two outputs share a name: {names}")
        paths = [os.path.join(self.path, name) for name in names]
        for path in paths:
            check_replaceable(path)  # a link or a folder is reported, never replaced
            if os.path.lexists(path) and not self.overwrite:
                raise DrawError(
                    f"{path} exists; pass --overwrite to replace it or choose another --out_dir"
                )
        self.create()
        self.remove_leftovers()
        self.check_space(sum(o.size for o in outputs))
        # Every file is complete (in its temporary file) before the first is renamed into
        # place, so that a writer killed on the way leaves no result, only temporary files.
        with contextlib.ExitStack() as temporaries:
            staged = []
            for output, path in zip(outputs, paths):
                try:
                    tmp = temporaries.enter_context(temporary_file(self.path, output.name))
                    fill(tmp, output.save, output.to_path)
                except OSError as e:
                    reason = e.strerror or type(e).__name__
                    raise DrawError(f"cannot write {path}: {reason}") from None
                staged.append(tmp)
            for tmp, path in zip(staged, paths):
                os.replace(tmp, path)
        return paths
