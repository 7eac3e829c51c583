"""Writing generated files safely: atomically, and never over a file without being told.

A file is written to a temporary name in its folder and renamed into place, so a reader
(or a crash) sees either the old file or the whole new one. `OutputDir.write` checks every
target before writing any: an existing file is replaced only with `overwrite=True`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from draw.errors import DrawError


@dataclass
class Output:
    """One file to write: its name in the output folder and a function that writes its
    bytes to a binary file object."""

    name: str
    save: Callable[[BinaryIO], None]


def atomic_write(path: str, save: Callable[[BinaryIO], None]) -> None:
    """Writes path through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class OutputDir:
    """The folder generated files go to.

    Args:
      path: the folder (created if missing).
      overwrite: whether an existing file of the same name may be replaced.
    """

    def __init__(self, path: str, overwrite: bool = False):
        self.path = path
        self.overwrite = overwrite

    def check_writable(self) -> None:
        """Creates the folder and proves it writable; DrawError if it is not."""
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.path):
                pass
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise DrawError(f"--out_dir={self.path} cannot be written: {reason}") from None

    def write(self, outputs: list[Output]) -> list[str]:
        """Writes every output, or none if one would replace a file without overwrite.

        Returns the paths written, in order.
        """
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"two outputs share a name: {names}")
        paths = [os.path.join(self.path, name) for name in names]
        if not self.overwrite:
            for path in paths:
                if os.path.lexists(path):
                    raise DrawError(
                        f"{path} exists; pass --overwrite to replace it or choose another --out_dir"
                    )
        self.check_writable()
        for output, path in zip(outputs, paths):
            try:
                atomic_write(path, output.save)
            except OSError as e:
                reason = e.strerror or type(e).__name__
                raise DrawError(f"cannot write {path}: {reason}") from None
        return paths
