"""Measures a trained DRAW run: python evaluate.py --logdir=RUN [--elbo] [--iwae] [--nn-nll]

  --elbo (the default): the variational bound -log p(x) <= L_x + L_z on the test split,
      in nats per image, with L_x and L_z (one posterior sample per image).
  --iwae: the importance-sampled estimate of -log p(x) (Burda et al. 2015) with
      --num_importance_samples=K samples per test image; tighter than the ELBO.
  --nn-nll: the report's "NLL of generated images" (sections 5.1, 6). NOT a likelihood of
      the model: --num_samples images are generated from the prior; each is scored by the
      Bernoulli negative log-likelihood, under its pixel probabilities, of the training
      image nearest to it (Euclidean); mean, std and max over the samples.
  --compare RUN1 RUN2 ...: the chosen measures for each run, as one table.

A classifier (--model=glimpse_classifier or conv_classifier, docs/cluttered.md) is
measured by its test error, with its binomial standard error, the confusion matrix and
each class's error; the measures of the DRAW models do not apply to it.

--pretrained=NAME measures a shipped model instead of a run (files into
runs/pretrained/NAME/evaluations/). --ship=NAME, after measuring the run, ships it as the
package's trained model NAME (docs/pretrained.md).

Figures are printed and written as JSON and CSV into RUN/evaluations/ (numbered files that
are never overwritten, and latest.json / latest.csv); --compare also writes the table into
<the runs' common parent>/comparisons/. --seed (default 0) seeds every sampled figure.
"""

import os
import sys

from draw.app import startup


def main(argv):
    # Imported here, after startup.start() (they import TensorFlow).
    from draw import api, distribute
    from draw.app.flags import FLAGS, explicit_config_values, options_from_flags
    from draw.errors import DrawError
    from draw.evaluation import (
        Options,
        compare_runs,
        evaluate_and_write,
        flat_row,
        format_table,
    )
    from draw.progress import print_now

    distribute.configure_threads(FLAGS.intra_op_threads)  # an explicit count; auto: TF's
    explicit = explicit_config_values(FLAGS)
    explicit.pop("seed", None)  # here --seed seeds the evaluation, not the model
    options = options_from_flags(Options)
    options.validate()
    if options.compare:
        if FLAGS.logdir or FLAGS.checkpoint or FLAGS.pretrained:
            raise DrawError(
                "--compare takes the runs itself; drop --logdir, --pretrained and --checkpoint"
            )
        records, paths = compare_runs(explicit, options.compare, options, log=print_now)
    else:
        if options.ship:
            if FLAGS.pretrained:
                raise DrawError("--ship packages a run of --logdir, not a shipped model")
            api.free_target(options.ship, overwrite=FLAGS.overwrite)
        source = api.choose(FLAGS.pretrained, FLAGS.logdir, "", explicit)
        if source.note:
            print_now(source.note)
        record, paths = evaluate_and_write(
            explicit, source.model_dir, options, FLAGS.checkpoint, print_now, source.output_dir
        )
        records = [record]
    print(format_table([flat_row(r) for r in records]))
    print(f"wrote {', '.join(paths.values())}")
    if options.ship:
        folder = api.package(record, options.ship, commit=options.commit,
                             overwrite=FLAGS.overwrite)  # fmt: skip
        for name in sorted(os.listdir(folder)):
            size = os.path.getsize(os.path.join(folder, name))
            print(f"shipped {os.path.join(folder, name)} ({size / 1e6:.2f} MB)")
        use = f"generate.py --pretrained={options.ship} --stochastic"
        if "classification" in record:
            use = f"evaluate.py --pretrained={options.ship}"
        print(f"use it: python {use}")


def run():
    """The draw-evaluate command (and `python evaluate.py`, `python -m draw.evaluate`)."""
    startup.start()
    from draw.app import cli
    from draw.evaluation import gather_compare_runs

    sys.argv = gather_compare_runs(sys.argv)
    cli.run(main, "evaluate.py")


if __name__ == "__main__":
    run()
