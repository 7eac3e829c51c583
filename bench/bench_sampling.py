"""Times stochastic sampling: python bench/bench_sampling.py [--logdir=RUN] [--n=10000]

Builds the model of the jang preset (or of RUN, restored from its latest checkpoint: the
time does not depend on the weights) and times `draw.generation.Sampler.decode` of n prior
samples: the first call (tracing and compiling) and then the best of --repeats calls, in
wall-clock and in CPU seconds (the sum over TensorFlow's threads; on a shared machine the
wall-clock time also counts the other processes).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from draw import cli  # noqa: E402  (first: it imports TensorFlow quietly)

# isort: split
from absl import flags  # noqa: E402

flags.DEFINE_integer("n", 10000, "Samples per timed call.")
flags.DEFINE_integer("repeats", 3, "Timed calls after the first.")
flags.DEFINE_integer("batch", 1000, "Images per call of the compiled decoder.")
FLAGS = flags.FLAGS


def main(argv):
    from draw.config import make_config
    from draw.generation import Sampler, make_generator, prior_latents
    from draw.run_dir import load_trained_model
    from models import build_model

    if FLAGS.logdir:
        config, model, source = load_trained_model({}, FLAGS.logdir, FLAGS.checkpoint)
    else:
        config, source = make_config("jang"), "untrained jang preset"
        model = build_model(config, (28, 28, 1))
    sampler = Sampler(model, batch=FLAGS.batch)
    z = prior_latents(make_generator(0), config.T, FLAGS.n, config.z_size)
    started = time.perf_counter()
    sampler.decode(z[:, : FLAGS.batch])
    print(f"{source}: first call (trace + compile) {time.perf_counter() - started:.2f} s")
    times, cpu_times = [], []
    for _ in range(FLAGS.repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        canvas = sampler.decode(z)["canvas"]
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    every = ", ".join(f"{t:.2f}" for t in times)
    print(
        f"{FLAGS.n} samples (T={config.T}, canvases {list(canvas.shape)}, batch {FLAGS.batch}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}): "
        f"best {min(times):.2f} s wall ({min(cpu_times):.2f} s CPU), all {every}"
    )


if __name__ == "__main__":
    cli.run(main)
