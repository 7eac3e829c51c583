"""The project's error types for user mistakes and requested stops.

Scripts catch them once at the top (see `draw.app.cli.run`) and print the message as one line
on stderr with a non-zero exit status; anything else is a bug and keeps its traceback.
"""

import re


class DrawError(Exception):
    """A user error: bad flag value, missing or corrupt file, mismatched run directory."""

    exit_status = 2


class Interrupted(DrawError):
    """Training stopped by SIGINT or SIGTERM after saving a checkpoint.

    The exit status is the shell's convention for a process ended by a signal, 128 + signum,
    so that a job scheduler sees that the run did not finish.
    """

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_status = 128 + int(signum)


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (TensorFlow's and numpy's can be long)."""
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(error)).strip()  # TF's "{{function_node ..}}"
    return text.splitlines()[0] if text else type(error).__name__
