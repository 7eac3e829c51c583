"""Runs train.py with a pause at one point of its work, so that a test can kill it there.

    python -m tests.fault_driver POINT N [train.py flags ...]

POINT is where to pause:
  merge   saving ckpt-N: its data is in the temporary folder ckpt-N_temp, the final
          files do not exist yet (TensorFlow's merge step has not run);
  record  saving ckpt-N: its files are complete, the checkpoint list does not name it yet;
  step    right after training step N was computed, before its bookkeeping;
  rename  (runs generate.py instead of train.py) every output file is complete in its
          temporary file, none renamed into place yet (N is not used).
There the driver prints PAUSED on stdout and waits until the file named by the
environment variable DRAW_RESUME_FILE exists (forever if it is unset): the test sends
SIGKILL, or a signal and then creates the file.
"""

import os
import runpy
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(REPO, "train.py")
GENERATE = os.path.join(REPO, "generate.py")


def pause():
    print("PAUSED", flush=True)
    resume = os.environ.get("DRAW_RESUME_FILE")
    while not (resume and os.path.exists(resume)):
        time.sleep(0.01)


def install(point, n):
    import tensorflow as tf

    if point == "merge":
        from tensorflow.python.ops import gen_io_ops

        merge = gen_io_ops.merge_v2_checkpoints

        def paused_merge(checkpoint_prefixes, destination_prefix, *args, **kwargs):
            prefix = tf.get_static_value(destination_prefix)
            prefix = prefix.decode() if isinstance(prefix, bytes) else str(prefix)
            if prefix.endswith(f"ckpt-{n}"):
                pause()
            return merge(checkpoint_prefixes, destination_prefix, *args, **kwargs)

        gen_io_ops.merge_v2_checkpoints = paused_merge
    elif point == "record":
        record = tf.train.CheckpointManager._record_state

        def paused_record(manager):
            if manager.latest_checkpoint.endswith(f"ckpt-{n}"):
                pause()
            record(manager)

        tf.train.CheckpointManager._record_state = paused_record
    elif point == "step":
        from draw import training

        init = training.Trainer.__init__

        def paused_init(trainer, *args, **kwargs):
            init(trainer, *args, **kwargs)
            train_fn = trainer.train_fn

            def paused_train_fn(batch):
                logs = train_fn(batch)
                if int(trainer.step) + 1 == n:
                    pause()
                return logs

            trainer.train_fn = paused_train_fn

        training.Trainer.__init__ = paused_init
    elif point == "rename":
        replace, paused = os.replace, []

        def paused_replace(source, destination):  # this process renames only outputs
            if not paused:
                paused.append(destination)
                pause()
            replace(source, destination)

        os.replace = paused_replace
    else:
        raise SystemExit(f"unknown pause point {point}")


if __name__ == "__main__":
    point, n = sys.argv[1], int(sys.argv[2])
    script = GENERATE if point == "rename" else TRAIN
    sys.argv = [script, *sys.argv[3:]]
    from draw.app import startup

    startup.start()  # TensorFlow imported quietly, as the scripts do

    install(point, n)
    runpy.run_path(script, run_name="__main__")
