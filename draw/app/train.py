"""Trains DRAW: python train.py [--dataset=mnist] [--preset=jang] [--logdir=RUN] ...

Resumes from RUN's latest checkpoint; `--train_iters=N` on an existing run extends it to
N iterations in all. Watch it with `tensorboard --logdir RUN`. `--strategy` trains on
several GPUs, machines or a TPU. SIGINT (Ctrl-C) or SIGTERM saves a checkpoint and stops;
running the same command resumes. --pretrained=NAME starts a new run from a shipped
model's weights and configuration.
"""

from draw.app import startup


def main(argv):
    # Imported here, after startup.start() (they import TensorFlow).
    from draw import distribute
    from draw.app import shipping
    from draw.app.flags import FLAGS, explicit_config_values
    from draw.app.runs import resolve_config
    from draw.data import load_dataset
    from draw.errors import DrawError
    from draw.training import Trainer

    explicit = explicit_config_values(FLAGS)
    initial_weights = ""
    if FLAGS.pretrained:
        explicit, initial_weights = shipping.starting_point(FLAGS.pretrained, explicit)
    config, run, stored_image_shape = resolve_config(
        explicit, FLAGS.logdir, new_run=True, overwrite=FLAGS.overwrite
    )
    if "tpu" in explicit and config.strategy != "tpu":
        raise DrawError(f"--tpu={config.tpu} needs --strategy=tpu")
    distribute.configure_threads(FLAGS.intra_op_threads, config)  # before TF runs any op
    strategy = distribute.make_strategy(config)  # before TensorFlow runs any op, too
    print(distribute.describe(strategy, config.strategy), flush=True)
    data = load_dataset(config)
    Trainer(  # checks everything, then train() locks the run, and only then writes
        config,
        run,
        data,
        stored_image_shape,
        strategy=strategy,
        restore_from_previous=FLAGS.restore_from_previous,
        overwrite=FLAGS.overwrite,
        initial_weights=initial_weights,
    ).train()


def run():
    """The draw-train command (and `python train.py`, `python -m draw.app.train`)."""
    startup.start()
    from draw.app import cli

    cli.run(main, "train.py")


if __name__ == "__main__":
    run()
