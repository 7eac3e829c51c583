"""The benchmark suite: python -m bench.run [--quick] [--output=bench/results.json]

Times training (both presets, the step as train.py runs it with and without XLA, with
train.py's thread setting and, at jang, also with TensorFlow's default threads; the plain
tf.function port beside it as the yardstick; under a MirroredStrategy over logical CPUs),
the first training step, stochastic generation, the data pipeline, the evaluation code and
the code's performance tricks (bench/tricks.py); prints a table and writes it as JSON.
Each case runs in a fresh process, so first-step times and peak memory are its own.
--quick uses tiny models and few iterations (the smoke test; its figures mean nothing).
Optional cases (long) run only when --cases names them: XLA at paper_mnist, and train.py
on full-size SVHN-layout files.
"""

import sys

from absl import flags

from draw.app import startup

FLAGS = flags.FLAGS
flags.DEFINE_boolean("quick", False, "Tiny sizes and few iterations (a smoke test).")
flags.DEFINE_string("output", "bench/results.json", "Where to write the table as JSON.")
flags.DEFINE_list(
    "cases", [], "Run only these cases (default: all but the optional ones); see --list."
)
flags.DEFINE_boolean("list", False, "List the cases and exit.")
flags.DEFINE_boolean(
    "isolate", None, "Run each case in a fresh process (default: yes, except with --quick)."
)
flags.DEFINE_string("case_output", "", "Internal: run one case and write its rows here.")


def _cases():
    """name -> (function of sizes) -> rows."""
    from bench import cases, tricks

    return {
        "train_jang": lambda s: cases.train("jang", s, jit_compile=False, plain=True),
        "train_jang_all_threads": lambda s: cases.train(
            "jang", s, jit_compile=False, plain=True, intra_op_threads=0
        ),
        "train_jang_xla": lambda s: cases.train("jang", s, jit_compile=True),
        "train_paper_mnist": lambda s: cases.train("paper_mnist", s, jit_compile=False),
        "train_paper_mnist_xla": lambda s: cases.train("paper_mnist", s, jit_compile=True),
        "train_mirrored": cases.train_mirrored,
        "train_svhn_files": cases.train_svhn_files,
        "generate_jang": lambda s: cases.generate("jang", s),
        "generate_paper_mnist": lambda s: cases.generate("paper_mnist", s),
        "train_cluttered_mnist": lambda s: cases.train("cluttered_mnist", s, jit_compile=False),
        "cluttered_generator": cases.cluttered_generator,
        "data_pipeline": cases.data_pipeline,
        "evaluation": cases.evaluation,
        "trick_filterbank_gradient": tricks.filterbank_gradient,
        "trick_unroll": tricks.unroll,
        "trick_pipeline_memory": tricks.pipeline_memory,
        "finite_check": tricks.finite_check,
    }


# Not in the default run (XLA's compile at T=64 is long; paper_svhn trains at seconds per
# iteration on CPU); ask for them with --cases.
OPTIONAL = {"train_paper_mnist_xla", "train_svhn_files"}


def _run_case(case, sizes):
    """The case's rows, each with the intra-op threads it ran with."""
    from bench.cases import threads_in_force

    return [{"threads": threads_in_force(), **row} for row in case(sizes)]


def main(argv):
    from bench import report
    from draw.errors import DrawError

    all_cases = _cases()
    default = [name for name in all_cases if name not in OPTIONAL]
    if FLAGS.list:
        print("\n".join(n + " (optional)" * (n in OPTIONAL) for n in all_cases))
        return
    names = FLAGS.cases or default
    unknown = [name for name in names if name not in all_cases]
    if unknown:
        raise DrawError(f"unknown cases {unknown}; --list shows them")
    from bench.cases import FULL, QUICK

    sizes = QUICK if FLAGS.quick else FULL
    if FLAGS.case_output:
        (name,) = names
        report.write_json(FLAGS.case_output, _run_case(all_cases[name], sizes))
        return
    rows = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if FLAGS.isolate if FLAGS.isolate is not None else not FLAGS.quick:
            rows += report.run_isolated(name, FLAGS.quick)
        else:
            rows += _run_case(all_cases[name], sizes)
    print(report.table(rows))
    report.write_json(FLAGS.output, rows, quick=FLAGS.quick)
    print(f"wrote {FLAGS.output}", file=sys.stderr)


if __name__ == "__main__":
    startup.start()
    from draw.app import cli

    cli.run(main)
