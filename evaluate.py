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

Figures are printed and written as JSON and CSV into RUN/evaluations/ (numbered files that
are never overwritten, and latest.json / latest.csv); --compare also writes the table into
<the runs' common parent>/comparisons/. --seed (default 0) seeds every sampled figure.
"""

import sys

from absl import flags

from draw import cli
from draw.flags import FLAGS, explicit_config_values

flags.DEFINE_boolean("elbo", False, "Test-set bound L_x + L_z (the default measure).")
flags.DEFINE_boolean(
    "iwae", False, "Importance-sampled -log p(x) on the test set (--num_importance_samples)."
)
flags.DEFINE_boolean(
    "nn-nll",
    False,
    "The report's nearest-neighbour NLL of --num_samples generated images: the Bernoulli "
    "NLL of each sample's nearest training image under the sample's pixel probabilities "
    "(mean, std, max). It measures closeness of samples to training images; it is NOT a "
    "likelihood of the model.",
)
flags.DEFINE_integer("num_importance_samples", 5000, "K, importance samples per test image.")
flags.DEFINE_integer("num_samples", 1000, "Generated images for --nn-nll.")
flags.DEFINE_integer(
    "num_test_images", 0, "Use only the first N test images for --elbo/--iwae (0: all)."
)
flags.DEFINE_integer(
    "eval_batch_size", 1000, "Images (or image-sample pairs for --iwae) per forward pass."
)
flags.DEFINE_enum(
    "nn_reference",
    "auto",
    ["auto", "binarized", "grey"],
    "Training images --nn-nll searches: binarized once with a fixed seed, grey levels, or "
    "auto (binarized unless the run trained on grey levels).",
)
flags.DEFINE_list(
    "compare", [], "Runs to evaluate and tabulate together: --compare RUN1 RUN2 ... or =R1,R2."
)


def main(argv):
    from draw import threads
    from draw.errors import DrawError
    from draw.run_evaluation import (
        Options,
        compare_runs,
        evaluate_and_write,
        flat_row,
        format_table,
    )
    from draw.training import print_now

    threads.configure(FLAGS.intra_op_threads)  # an explicit count; auto: TF's default
    explicit = explicit_config_values(FLAGS)
    explicit.pop("seed", None)  # here --seed seeds the evaluation, not the model
    chosen = FLAGS.elbo or FLAGS.iwae or FLAGS["nn-nll"].value
    options = Options(
        elbo=FLAGS.elbo or not chosen,
        iwae=FLAGS.iwae,
        nn_nll=FLAGS["nn-nll"].value,
        num_importance_samples=FLAGS.num_importance_samples,
        num_samples=FLAGS.num_samples,
        num_test_images=FLAGS.num_test_images,
        eval_batch_size=FLAGS.eval_batch_size,
        nn_reference=FLAGS.nn_reference,
        seed=FLAGS.seed,
        restore_from_previous=FLAGS.restore_from_previous,
    )
    options.validate()
    if FLAGS["compare"].present and not FLAGS.compare:
        raise DrawError("--compare needs the runs to compare: --compare RUN1 RUN2 ...")
    if FLAGS.compare:
        if FLAGS.logdir or FLAGS.checkpoint:
            raise DrawError("--compare takes the runs itself; drop --logdir and --checkpoint")
        records, paths = compare_runs(explicit, FLAGS.compare, options, log=print_now)
    else:
        record, paths = evaluate_and_write(
            explicit, FLAGS.logdir, options, FLAGS.checkpoint, log=print_now
        )
        records = [record]
    print(format_table([flat_row(r) for r in records]))
    print(f"wrote {paths['json']} and {paths['csv']}")


if __name__ == "__main__":
    from draw.run_evaluation import gather_compare_runs

    sys.argv = gather_compare_runs(sys.argv)
    cli.run(main)
