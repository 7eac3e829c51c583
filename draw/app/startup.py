"""What a script does first, before anything imports TensorFlow: `start()`.

TensorFlow prints C++ start-up chatter when it is imported (before its logging is
configured, so TF_CPP_MIN_LOG_LEVEL cannot silence it). Unless --verbose is on the command
line, `start()` imports it with that output sent to /dev/null and its Python logs at
errors only. This module imports nothing else: a script's entry imports it, calls
`start()`, then imports the library.
"""

from __future__ import annotations

import os
import sys


def verbose() -> bool:
    """--verbose is on the command line (read before absl parses it: TensorFlow is imported
    first)."""
    return any(arg in ("--verbose", "--verbose=true", "--verbose=True") for arg in sys.argv)


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


def start() -> None:
    """What a script does before anything imports TensorFlow: unless --verbose, imports it
    quietly and sets its Python logs to errors only (safe to call again)."""
    if not verbose():
        _import_tensorflow_quietly()
