"""Looks at a trained DRAW: python generate.py --logdir=RUN MODE... [--num_samples=100]

Modes (any together): --stochastic (samples from the prior, grid + canvas GIF + .npy),
--reconstruct (test images beside their reconstructions, GIF; --show_attention draws the
glimpses), --fix_step=N|all (the report's Figure 1), --interpolate (Figure 2, endpoints
--interpolate_from=prior|data), --kernels (the first-layer convolution kernels of Models
I-III). The model is rebuilt from RUN's config.json and its latest
checkpoint (or --checkpoint); files go to --out_dir (default RUN/samples).
--export=DIR writes the model as a SavedModel that TensorFlow loads without this project.
--pretrained=NAME uses a shipped model instead (files to runs/pretrained/NAME/samples);
so does a fresh copy of the project without --logdir, before any run is trained.
"""

import os

from draw.app import startup


def main(argv):
    # Imported here, after startup.start() (they import TensorFlow).
    from draw import distribute
    from draw.app import export, generation, shipping
    from draw.app.flags import FLAGS, explicit_config_values, options_from_flags
    from draw.app.output_dir import OutputDir
    from draw.data import load_dataset, pipeline
    from draw.progress import print_now
    from draw.run_dir import configured_run, default_logdir, load_trained_model
    from draw.sampling import Sampler

    distribute.configure_threads(FLAGS.intra_op_threads)  # an explicit count; auto: TF's
    explicit = explicit_config_values(FLAGS)
    explicit.pop("seed", None)  # here --seed seeds the sampling, not the model
    options = options_from_flags(generation.Options)
    source = shipping.choose(
        FLAGS.pretrained, FLAGS.logdir, default_logdir(explicit), explicit, fallback=True
    )
    if source.note:
        print(source.note, flush=True)
    config, run, image_shape = configured_run(explicit, source.model_dir)
    options.validate(config, image_shape)
    config, model, checkpoint = load_trained_model(
        explicit, run.path, FLAGS.checkpoint, FLAGS.restore_from_previous
    )
    out = OutputDir(options.out_dir or os.path.join(source.output_dir, "samples"), FLAGS.overwrite)
    if options.modes():
        out.check_writable()  # creates nothing: every check passes before any write

    def test_images():
        return pipeline.test_images(load_dataset(config), config.binarize)

    context = generation.Context(Sampler(model), options, test_images, log=print_now)
    outputs = [output for mode in options.modes() for output in generation.MODES[mode](context)]
    if options.export:
        written = export.export(model, options.export, FLAGS.overwrite)
        print(f"exported {checkpoint} as a SavedModel to {written}")
        if not options.modes():
            return
    print(f"from {checkpoint} (seed {options.seed}):")
    for path in out.write(outputs):
        print(f"  wrote {path}")


def run():
    """The draw-generate command (and `python generate.py`, `python -m draw.app.generate`)."""
    startup.start()
    from draw.app import cli

    cli.run(main, "generate.py")


if __name__ == "__main__":
    run()
