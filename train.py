"""Trains DRAW: python train.py [--dataset=mnist] [--preset=jang] [--logdir=RUN] ...

Resumes from RUN's latest checkpoint; `--train_iters=N` on an existing run extends it to
N iterations in all. Watch it with `tensorboard --logdir RUN`.
"""

from draw import cli
from draw.flags import FLAGS, explicit_config_values


def main(argv):
    from data import load_dataset
    from draw.run_dir import resolve_config
    from draw.training import Trainer

    config, run, stored_image_shape = resolve_config(
        explicit_config_values(FLAGS), FLAGS.logdir, new_run=True
    )
    data = load_dataset(config)
    Trainer(config, run, data, stored_image_shape).train()


if __name__ == "__main__":
    cli.run(main)
