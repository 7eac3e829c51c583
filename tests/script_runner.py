"""Runs a script's main() through draw.app.cli.run inside the test process.

A subprocess pays TensorFlow's import (seconds) per call; the table of bad inputs runs
in-process instead, through the same absl parsing and error handling that a real
invocation goes through, and the tests in test_cli.py check a few of them end to end.
"""

from __future__ import annotations

import importlib
import sys

from draw.app import cli
from draw.app.flags import FLAGS, define_flags, explicit_config_values
from draw.configure import make_config


def _script(name):
    """The script's module, imported under its own name (as its tests import it), once."""
    return importlib.import_module(name[: -len(".py")])


def run_in_process(capfd, script, *args):
    """Runs `script args` as `python script args` would; returns (status, stdout, stderr)."""
    main = _script(script).main
    FLAGS.unparse_flags()
    argv, sys.argv = sys.argv, [script, *args]
    capfd.readouterr()
    try:
        cli.run(main, script)  # as the script's `if __name__ == "__main__"` does
        status = 0
    except SystemExit as e:
        status = 0 if e.code is None else e.code
    finally:
        sys.argv = argv
        FLAGS.unparse_flags()
    out, err = capfd.readouterr()
    return status, out, err


def config_from_flags(*args):
    """The configuration train.py builds from these flags for a new run."""
    define_flags()
    FLAGS.unparse_flags()
    FLAGS(["train.py", *args])
    values = explicit_config_values(FLAGS)
    FLAGS.unparse_flags()
    return make_config(values.pop("preset", "jang"), **values)
