"""How many threads TensorFlow gives one op (its intra-op pool), chosen per run.

At DRAW's usual sizes (batch 100, 256 LSTM units) an iteration is a few thousand small
ops, and splitting each of them over all cores costs more in synchronisation than it
gains. With one thread per op, while the inter-op pool (left as TensorFlow sets it) still
runs independent ops side by side, the jang training step on the 2-core CPU of bench/
takes 57 ms against 79 ms with TensorFlow's default, and paper_mnist's 408 against 529 ms;
paper_svhn's 800-unit LSTMs gain nothing measurable there (1.56 against 1.60 s), and
their [100, 2464] x [2464, 3200] products are the kind that a machine with more cores
speeds up by splitting, so larger models keep the default; so does an XLA-compiled step,
which is slower with one thread (93 against 66 ms at jang). README, Performance.
"""

from __future__ import annotations

import tensorflow as tf

from draw.config import DrawConfig
from draw.errors import DrawError

AUTO = -1
# Up to this many LSTM units, training on CPU uses one thread per op (see above).
SMALL_MODEL_UNITS = 256


def intra_op_threads_for(setting: int, config: DrawConfig | None, accelerator: bool):
    """The intra-op thread count for `--intra_op_threads=setting`, or None for TensorFlow's
    default (one per core). AUTO gives 1 for training a model of at most
    SMALL_MODEL_UNITS units without an accelerator or XLA (config None: not training)."""
    if setting < AUTO:
        raise DrawError(
            f"--intra_op_threads={setting}: give a thread count, 0 for TensorFlow's "
            "default or -1 for automatic"
        )
    if setting != AUTO:
        return setting or None
    if config is None or accelerator or config.strategy == "tpu" or config.jit_compile:
        return None
    small = max(config.enc_size, config.dec_size) <= SMALL_MODEL_UNITS
    return 1 if small else None


def configure(setting: int, config: DrawConfig | None = None) -> int | None:
    """Sets TensorFlow's intra-op pool from `--intra_op_threads` before it runs any op.
    Returns the count in force, None for TensorFlow's default. Once the runtime has
    started (as when a test calls a script's main twice) the count cannot change and
    stays as it is."""
    accelerator = bool(tf.config.list_physical_devices("GPU"))
    threads = intra_op_threads_for(setting, config, accelerator)
    if threads is None or tf.config.threading.get_intra_op_parallelism_threads() == threads:
        return threads
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # the runtime is already initialised
        return tf.config.threading.get_intra_op_parallelism_threads() or None
    return threads
