"""The project's one error type for user mistakes.

Scripts catch it once at the top (see `draw.cli.run_main`) and print its message as one
line on stderr with a non-zero exit status; anything else is a bug and keeps its traceback.
"""


class DrawError(Exception):
    """A user error: bad flag value, missing or corrupt file, mismatched run directory."""
