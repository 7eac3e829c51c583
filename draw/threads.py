"""How many threads TensorFlow gives one op (its intra-op pool), chosen per run.

At DRAW's usual sizes (batch 100, 256 LSTM units) a training iteration is a few thousand
small ops, and splitting each of them over all cores costs more in synchronisation than
it gains: with one thread per op, while the inter-op pool (left as TensorFlow sets it)
still runs independent ops side by side, the jang and paper_mnist training steps on the
2-core CPU of bench/ are about 1.4x faster. An XLA-compiled step is slower that way, and
larger models (paper_svhn's 800-unit LSTMs, whose [100, 1664] x [1664, 3200] products
are what more cores speed up) gained nothing measurable, so those keep TensorFlow's
default. Figures: README, Performance.
"""

from __future__ import annotations

import tensorflow as tf

from draw.config import DrawConfig
from draw.errors import DrawError

AUTO = -1
# Up to this many LSTM units, training on CPU uses one thread per op (see above).
SMALL_MODEL_UNITS = 256


def intra_op_threads_for(
    setting: int, training_config: DrawConfig | None, accelerator: bool
) -> int | None:
    """The intra-op thread count for `--intra_op_threads=setting`, or None for TensorFlow's
    default (one per logical CPU). AUTO gives 1 when training (training_config given) a
    model of at most SMALL_MODEL_UNITS units without an accelerator or XLA, else None."""
    if setting < AUTO:
        raise DrawError(
            f"--intra_op_threads={setting}: give a thread count, 0 for TensorFlow's "
            "default or -1 for automatic"
        )
    if setting != AUTO:
        return setting or None
    config = training_config
    if config is None or accelerator or config.strategy == "tpu" or config.jit_compile:
        return None
    small = max(config.enc_size, config.dec_size) <= SMALL_MODEL_UNITS
    return 1 if small else None


def in_force() -> int | None:
    """TensorFlow's intra-op thread count in this process; None for its default."""
    return tf.config.threading.get_intra_op_parallelism_threads() or None


def configure(setting: int, training_config: DrawConfig | None = None) -> int | None:
    """Sets TensorFlow's intra-op pool from `--intra_op_threads` before TensorFlow runs any
    op; returns the count in force (None: TensorFlow's default).

    Once the runtime has started (as when a test calls a script's main twice) the count
    cannot change: AUTO then keeps the count in force, and an explicit count that differs
    from it is a DrawError."""
    accelerator = bool(tf.config.list_physical_devices("GPU"))
    wanted = intra_op_threads_for(setting, training_config, accelerator)
    current = in_force()
    if wanted == current:
        return current
    try:
        tf.config.threading.set_intra_op_parallelism_threads(wanted or 0)
    except RuntimeError:  # the runtime is already initialised
        if setting != AUTO:
            raise DrawError(
                f"--intra_op_threads={setting} cannot be applied: TensorFlow's runtime "
                "has already started in this process"
            ) from None
        return current
    return wanted
