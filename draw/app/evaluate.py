"""Measures a trained run: python evaluate.py --logdir=RUN [--MEASURE ...]

Each measure has its flag (listed below with its settings); which measures apply depends
on the model (the generative ones in nats per image):

{measures}

--compare RUN1 RUN2 ...: the chosen measures for each run, as one table.

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
    from draw import distribute
    from draw.app import shipping
    from draw.app.evaluation import Options, compare_runs, evaluate_and_write
    from draw.app.flags import FLAGS, explicit_config_values, options_from_flags
    from draw.app.results import flat_row, format_table
    from draw.errors import DrawError
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
            shipping.free_target(options.ship, overwrite=FLAGS.overwrite)
        source = shipping.choose(FLAGS.pretrained, FLAGS.logdir, "", explicit)
        if source.note:
            print_now(source.note)
        record, paths = evaluate_and_write(
            explicit, source.model_dir, options, FLAGS.checkpoint, print_now, source.output_dir
        )
        records = [record]
    print(format_table([flat_row(r) for r in records]))
    print(f"wrote {', '.join(paths.values())}")
    if options.ship:
        folder = shipping.package(record, options.ship, commit=options.commit,
                                  overwrite=FLAGS.overwrite)  # fmt: skip
        for name in sorted(os.listdir(folder)):
            size = os.path.getsize(os.path.join(folder, name))
            print(f"shipped {os.path.join(folder, name)} ({size / 1e6:.2f} MB)")
        use = f"generate.py --pretrained={options.ship} --stochastic"
        if "classification" in record:
            use = f"evaluate.py --pretrained={options.ship}"
        print(f"use it: python {use}")


def run():
    """The draw-evaluate command (and `python evaluate.py`, `python -m draw.app.evaluate`)."""
    startup.start()
    global __doc__
    from draw.app import cli
    from draw.app.evaluation import gather_compare_runs, measures_help

    __doc__ = __doc__.replace("{measures}", measures_help())  # the --help text
    sys.argv = gather_compare_runs(sys.argv)
    cli.run(main, "evaluate.py")


if __name__ == "__main__":
    run()
