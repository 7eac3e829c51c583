"""What the three scripts share around their main(): quiet TensorFlow, one-line errors.

Import this module before TensorFlow. `run(main)` parses the shared flags with absl and
turns a bad flag or a DrawError into one line on stderr and exit status 2 (an `Interrupted`
run: its message and 128 + signal number); with --verbose, TensorFlow's logs and full
tracebacks are shown.
"""

from __future__ import annotations

import os
import sys

VERBOSE = any(arg in ("--verbose", "--verbose=true", "--verbose=True") for arg in sys.argv)


def _import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up chatter (printed before its logging is
    configured, so TF_CPP_MIN_LOG_LEVEL cannot silence it) sent to /dev/null."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)
    tf.get_logger().setLevel("ERROR")


if not VERBOSE:
    _import_tensorflow_quietly()

from absl import app, flags, logging  # noqa: E402

from draw.config import FLAGS, define_flags  # noqa: E402
from draw.errors import DrawError, Interrupted  # noqa: E402

# Flags that name files or folders (of any of the scripts that define them).
PATH_FLAGS = ("logdir", "data_dir", "checkpoint", "out_dir", "compare", "out")


def expand_user_paths(flag_values=FLAGS) -> None:
    """Expands ~ and ~user in every path flag, as a shell does in `--flag ~/x` but not in
    `--flag=~/x`."""
    for name in PATH_FLAGS:
        if name not in flag_values:
            continue
        value = flag_values[name].value
        if isinstance(value, list):
            flag_values[name].value = [os.path.expanduser(v) for v in value]
        elif value:
            flag_values[name].value = os.path.expanduser(value)


def run(main) -> None:
    """absl's app.run(main) with the shared flags defined, and the one error path: a bad
    flag or a DrawError is one line on stderr and its exit status."""
    define_flags()
    if not VERBOSE:
        logging.set_verbosity(logging.ERROR)
    program = os.path.basename(sys.argv[0])

    def fail(message: str, status: int):
        print(f"{program}: {message}", file=sys.stderr)
        sys.exit(status)

    def parse_flags(argv):
        """absl's parsing, with a bad flag made one line (absl prints two and exits 1)."""
        try:
            argv = FLAGS(argv)
        except flags.Error as e:
            fail(f"error: {e}", 2)
        expand_user_paths()
        return argv

    def guarded(argv):
        try:
            if len(argv) > 1:
                raise DrawError(f"unexpected arguments {argv[1:]}; flags are --name=value")
            main(argv)
        except Interrupted as e:
            fail(str(e), e.exit_status)
        except DrawError as e:
            if VERBOSE:
                raise
            fail(f"error: {e}", e.exit_status)
        except KeyboardInterrupt:
            fail("interrupted", 130)

    app.run(guarded, flags_parser=parse_flags)
