"""Looks at a trained DRAW: python generate.py --logdir=RUN MODE... [--num_samples=100]

Modes (any together): --stochastic (samples from the prior, grid + canvas GIF + .npy),
--reconstruct (test images beside their reconstructions, GIF; --show_attention draws the
glimpses), --fix_step=N|all (the report's Figure 1), --interpolate (Figure 2, endpoints
--interpolate_from=prior|data), --kernels (the first-layer convolution kernels of Models
I-III). The model is rebuilt from RUN's config.json and its latest
checkpoint (or --checkpoint); files go to --out_dir (default RUN/samples).
"""

from draw import cli  # first: it imports TensorFlow quietly

# isort: split
from absl import flags

from draw.flags import FLAGS, explicit_config_values

flags.DEFINE_boolean("stochastic", False, "Sample images from the prior: z_t ~ N(0, I).")
flags.DEFINE_boolean("reconstruct", False, "Reconstruct test images, with a canvas GIF.")
flags.DEFINE_string(
    "fix_step", "", "N (1..T) or all: grids whose images share the sample z_N (Figure 1)."
)
flags.DEFINE_boolean("interpolate", False, "Lines in latent space, 10 points each (Figure 2).")
flags.DEFINE_string(
    "interpolate_from",
    "prior",
    "Interpolation endpoints: prior (z ~ N(0, I)) or data (posterior means of test images).",
)
flags.DEFINE_boolean(
    "kernels", False, "PNG of the learned first-layer conv kernels (--model other than draw)."
)
flags.DEFINE_boolean("show_attention", False, "Draw the read and write glimpses on the GIFs.")
flags.DEFINE_integer("num_samples", 100, "Images per grid (rows of 10 for --interpolate).")
flags.DEFINE_string("out_dir", "", "Output folder. Default: RUN/samples.")


def main(argv):
    import os

    from draw import generation, threads
    from draw.errors import DrawError
    from draw.outputs import OutputDir
    from draw.run_dir import load_trained_model, resolve_config
    from draw.sampling import Sampler

    threads.configure(FLAGS.intra_op_threads)  # an explicit count; auto: TF's default
    modes = [name for name in generation.MODES if FLAGS[name].value]
    if not modes:
        raise DrawError(f"choose what to generate: --{', --'.join(generation.MODES)}")
    explicit = explicit_config_values(FLAGS)
    explicit.pop("seed", None)  # here --seed seeds the sampling, not the model
    request = generation.Request(
        num_samples=FLAGS.num_samples,
        seed=FLAGS.seed,
        fix_step=FLAGS.fix_step,
        interpolate_from=FLAGS.interpolate_from,
        show_attention=FLAGS.show_attention,
    )
    config, run, _ = resolve_config(explicit, FLAGS.logdir)
    generation.check_request(request, config)
    if FLAGS.kernels:
        from models.kernels import check_has_kernels

        check_has_kernels(config)
    config, model, checkpoint = load_trained_model(
        explicit, run.path, FLAGS.checkpoint, FLAGS.restore_from_previous
    )
    out = OutputDir(FLAGS.out_dir or os.path.join(run.path, "samples"), FLAGS.overwrite)
    out.check_writable()

    def test_images():
        from data import load_dataset, pipeline

        return pipeline.test_images(load_dataset(config), config.binarize)

    context = generation.Context(Sampler(model), request, test_images)
    outputs = [output for mode in modes for output in generation.MODES[mode](context)]
    print(f"from {checkpoint} (seed {request.seed}):")
    for path in out.write(outputs):
        print(f"  wrote {path}")


if __name__ == "__main__":
    cli.run(main)
